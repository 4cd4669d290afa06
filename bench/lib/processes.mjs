// Child processes of the benchmark: every server runs in its own process on
// 127.0.0.1, is tracked here, and is stopped on exit, on error and on
// Ctrl-C, so a failed run leaves nothing listening.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';

const HOST = '127.0.0.1';
const running = new Set();

/** A port that was free a moment ago: bind 0, read it, release it. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, HOST, () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Starts `node <args>` with its output in `logFile` (or discarded), and
 * records the moment just before spawn so start-up can be timed from it.
 */
export function startNode(name, args, { env = {}, logFile, nodeOptions = [] } = {}) {
  const out = logFile === undefined ? 'ignore' : openSync(logFile, 'w');
  const startedAt = process.hrtime.bigint();
  const child = spawn(process.execPath, [...nodeOptions, ...args], {
    env: { ...inheritedEnv(), ...env },
    stdio: ['ignore', out, out],
  });
  if (typeof out === 'number') closeSync(out);
  const proc = { name, child, pid: child.pid, logFile, startedAt, exited: undefined };
  proc.exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  running.add(proc);
  void proc.exited.then(() => running.delete(proc));
  return proc;
}

/**
 * The caller's environment without the runtime's own settings, so that a
 * NAFTIKO_LOG_LEVEL or NAFTIKO_STRICT in the shell cannot change what is
 * measured.
 */
function inheritedEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NAFTIKO_')));
}

/**
 * Resolves with the time (ns since spawn) at which every port accepts a
 * TCP connection. Rejects if the process exits first or the deadline passes.
 */
export async function waitAccepting(proc, ports, { timeoutMs = 20_000, intervalMs = 2 } = {}) {
  let gone;
  void proc.exited.then((exit) => (gone = exit));
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(ports);
  while (pending.size > 0) {
    if (gone !== undefined)
      throw new Error(
        `${proc.name} exited (${JSON.stringify(gone)}) before listening${logTail(proc)}`,
      );
    if (Date.now() > deadline)
      throw new Error(
        `${proc.name} did not accept on ${[...pending]} within ${timeoutMs} ms${logTail(proc)}`,
      );
    for (const port of [...pending]) if (await accepts(port)) pending.delete(port);
    if (pending.size > 0) await sleep(intervalMs);
  }
  return process.hrtime.bigint() - proc.startedAt;
}

function accepts(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts a server script on a port picked here (env PORT) and waits until it accepts. */
export async function startServerScript(name, script, env, logFile) {
  const port = await freePort();
  const proc = startNode(name, [script], { env: { ...env, PORT: String(port) }, logFile });
  try {
    await waitAccepting(proc, [port]);
  } catch (err) {
    await stopProcess(proc);
    throw err;
  }
  return Object.assign(proc, { port, url: `http://${HOST}:${port}` });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopProcess(proc, graceMs = 3_000) {
  if (proc === undefined || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), graceMs);
  await proc.exited;
  clearTimeout(timer);
}

/** Stops every child still running, but those in `keep`. */
export async function stopAll(keep = []) {
  await Promise.all([...running].filter((p) => !keep.includes(p)).map((p) => stopProcess(p)));
}

/** Last resort on exit: no child outlives the benchmark. */
process.on('exit', () => {
  for (const p of running) p.child.kill('SIGKILL');
});

/** Memory figures of a live process from /proc, in MiB (Linux only). */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMiB: kb('VmRSS') / 1024, peakRssMiB: kb('VmHWM') / 1024 };
  } catch {
    return { rssMiB: NaN, peakRssMiB: NaN };
  }
}

export function logTail(proc, bytes = 2_000) {
  if (proc.logFile === undefined) return '';
  try {
    const text = readFileSync(proc.logFile, 'utf8');
    return `\n--- ${proc.logFile} (tail) ---\n${text.slice(-bytes)}`;
  } catch {
    return '';
  }
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
