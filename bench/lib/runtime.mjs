// Starts the runtime under test exactly as a user does: `node dist/main.js
// <file>` in its own process, every adapter on a port picked beforehand so
// readiness can be timed from outside, by TCP connect.
import { join } from 'node:path';
import { freePort, startNode, stopProcess, waitAccepting } from './processes.mjs';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const MAIN = join(ROOT, 'dist/main.js');
export const PREFECT_FILE = join(ROOT, 'capabilities/prefect-download.yaml');

/**
 * `adapters` maps each exposed namespace to its kind (`rest` or `mcp`);
 * `baseUris` maps consumed namespaces to base URIs.
 * Resolves once every adapter accepts, with their URLs and the start time.
 */
export async function startRuntime({
  name = 'runtime',
  file,
  adapters,
  baseUris = {},
  logFile,
  nodeOptions = [],
  logLevel,
  timeoutMs,
}) {
  const args = [MAIN, file];
  for (const [ns, url] of Object.entries(baseUris)) args.push('--base-uri', `${ns}=${url}`);
  const ports = {};
  for (const ns of Object.keys(adapters)) {
    ports[ns] = await freePort();
    args.push('--port', `${ns}=${ports[ns]}`);
  }
  if (logLevel !== undefined) args.push('--log-level', logLevel);

  const proc = startNode(name, args, {
    env: { PREFECT_API_KEY: 'pnu_bench_not_a_secret' },
    logFile,
    nodeOptions,
  });
  let readyNs;
  try {
    readyNs = await waitAccepting(proc, Object.values(ports), { timeoutMs });
  } catch (err) {
    await stopProcess(proc);
    throw err;
  }
  const urls = {};
  for (const [ns, kind] of Object.entries(adapters)) {
    urls[kind] = `http://127.0.0.1:${ports[ns]}${kind === 'mcp' ? '/mcp' : ''}`;
  }
  return { proc, urls, readyMs: Number(readyNs) / 1e6 };
}

/** The Prefect capability's adapters. */
export const PREFECT_ADAPTERS = { 'prefect-download-rest': 'rest', 'prefect-download-mcp': 'mcp' };
