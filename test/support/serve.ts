import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { serveCapability, type RunningCapability } from '../../src/cli/serve.js';
import { createLogger } from '../../src/logging/logger.js';

export interface ServeForTest {
  readonly running: RunningCapability;
  readonly restUrl: string;
  readonly mcpUrl: string;
}

/** Serves a capability in-process on free loopback ports. */
export async function serveForTest(
  file: string,
  baseUris: Record<string, string>,
  options: { strict?: boolean; env?: NodeJS.ProcessEnv; allowedHosts?: string[] } = {},
): Promise<ServeForTest> {
  const running = await serveCapability(
    {
      file,
      strict: options.strict ?? false,
      // Environment-style keys: a test may name namespaces a file lacks
      // (the tutorial steps share one override list), which only warns.
      baseUris: new Map(Object.entries(baseUris).map(([ns, url]) => [`env:${ns.toUpperCase().replace(/-/g, '_')}`, url])),
      ports: freePorts(file),
      host: '127.0.0.1',
      logLevel: 'silent',
      stdio: false,
      allowedHosts: options.allowedHosts ?? [],
      mcpResultCapBytes: undefined,
    },
    createLogger({ level: 'silent' }),
    options.env ?? { PREFECT_API_KEY: 'pnu_test_key' },
    '0.0.0-test',
  );
  const rest = running.adapters.find((a) => a.type === 'rest');
  const mcp = running.adapters.find((a) => a.type === 'mcp');
  return { running, restUrl: rest?.url ?? '', mcpUrl: mcp === undefined ? '' : `${mcp.url}/mcp` };
}

/** Port 0 for every exposed adapter of the file, so tests never collide. */
function freePorts(file: string): Map<string, number> {
  const doc = parse(readFileSync(file, 'utf8')) as { capability?: { exposes?: { namespace?: string }[] } };
  const names = (doc.capability?.exposes ?? []).map((e) => e.namespace).filter((n): n is string => n !== undefined);
  return new Map(names.map((n) => [n, 0]));
}
