import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** The built entry point; e2e tests run exactly what users run. */
export const MAIN = resolve('dist/main.js');

// A test that fails before its afterAll must not leave a runtime behind.
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});
function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export interface StartedCli {
  readonly child: ChildProcess;
  /** Every stdout line so far (pino JSON). */
  readonly lines: string[];
  readonly stderr: string[];
  /** `route GET http://...` messages of the start-up log. */
  readonly routes: string[];
  /** `tool NAME at http://.../mcp` messages of the start-up log. */
  readonly tools: string[];
  restUrl(): string;
  mcpUrl(): string;
  stop(): Promise<number | null>;
}

/**
 * Starts `node dist/main.js ...` and resolves once the start-up log has
 * listed the given number of routes and tools.
 */
export async function startCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  expect: { routes: number; tools: number },
  timeoutMs = 20_000,
  main = MAIN,
): Promise<StartedCli> {
  const child = track(spawn(process.execPath, [main, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
  const lines: string[] = [];
  const stderr: string[] = [];
  const routes: string[] = [];
  const tools: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => stderr.push(l));

  const ready = new Promise<void>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`CLI not ready in ${timeoutMs} ms:\n${[...lines, ...stderr].join('\n')}`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`CLI exited with ${code}:\n${[...lines, ...stderr].join('\n')}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      const msg = (JSON.parse(line) as { msg?: string }).msg ?? '';
      if (/^route [A-Z]+ http/.test(msg)) routes.push(msg);
      if (/^tool \S+ at http/.test(msg)) tools.push(msg);
      if (routes.length >= expect.routes && tools.length >= expect.tools) {
        clearTimeout(timer);
        resolveReady();
      }
    });
  });
  await ready;

  const urlOf = (msg: string | undefined) => /(http:\/\/[^/\s]+)/.exec(msg ?? '')?.[1] ?? '';
  return {
    child,
    lines,
    stderr,
    routes,
    tools,
    restUrl: () => urlOf(routes[0]),
    mcpUrl: () => `${urlOf(tools[0])}/mcp`,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}

/** Runs the CLI to completion and returns its exit code and output. */
export async function runCliOnce(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 20_000) {
  const child = track(spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}
