// Starts the real, self-hosted Prefect server (from .venv-prefect) under a
// Cloud-shaped base path, so the runtime's upstream calls hit the same paths
// they would on Prefect Cloud. Free of vitest imports: scripts can use it too.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';

/** Fixed ids for the Cloud-shaped base path; any UUIDs would do. */
export const DEFAULT_ACCOUNT_ID = '11111111-1111-4111-8111-111111111111';
/** See DEFAULT_ACCOUNT_ID. */
export const DEFAULT_WORKSPACE_ID = '22222222-2222-4222-8222-222222222222';

/** What a test needs to reach a running Prefect server (serialisable). */
export interface PrefectServerInfo {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  origin: string;
  /** origin + basePath: the value Prefect clients call PREFECT_API_URL. */
  apiUrl: string;
  /** `/api/accounts/<accountId>/workspaces/<workspaceId>`. */
  basePath: string;
  accountId: string;
  workspaceId: string;
}

/** A running server started by startPrefectServer. */
export interface PrefectServer extends PrefectServerInfo {
  /** Process id of the server (leader of its own process group). */
  pid: number;
  /** Milliseconds from spawn until `/health` answered 200. */
  startupMs: number;
  /** Last lines the server printed, for error messages. */
  outputTail(): string;
  /** Stops the process group and removes PREFECT_HOME. Safe to call twice. */
  stop(): Promise<void>;
}

/** Options of startPrefectServer. */
export interface PrefectServerOptions {
  /** Venv holding prefect; default $PREFECT_VENV or <repo>/.venv-prefect. */
  venvDir?: string;
  /** Port to bind on 127.0.0.1; default: a free port. */
  port?: number;
  accountId?: string;
  workspaceId?: string;
  /** How long to wait for `/health`, in ms; default 90 000. */
  startTimeoutMs?: number;
  /** Extra environment, e.g. PREFECT_SERVER_API_DEFAULT_LIMIT. */
  env?: Record<string, string>;
}

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HEALTH_POLL_MS = 250;
const STOP_GRACE_MS = 10_000;
const TAIL_LINES = 40;

// Runs the prefect console script in-process, plus one guard: a thread that
// blocks on stdin. Node holds the other end of that pipe, so if the test
// process dies without calling stop() (crash, SIGKILL), the read returns,
// the throw-away PREFECT_HOME is removed and the process group goes with
// it instead of lingering as an orphan.
const LAUNCHER = `
import os, shutil, signal, sys, threading
from importlib.metadata import entry_points

def exit_with_parent():
    # os.read, not sys.stdin: a daemon thread parked in the buffered reader
    # makes a normal interpreter exit abort.
    while os.read(0, 4096):
        pass
    shutil.rmtree(os.environ["PREFECT_HOME"], ignore_errors=True)
    os.killpg(0, signal.SIGKILL)

threading.Thread(target=exit_with_parent, daemon=True).start()
(prefect_cli,) = entry_points(group="console_scripts", name="prefect")
sys.argv = ["prefect", *sys.argv[1:]]
sys.exit(prefect_cli.load()())
`;

/** Where the venv lives unless told otherwise. */
export function resolveVenvDir(venvDir?: string): string {
  return venvDir ?? process.env.PREFECT_VENV ?? join(REPO_ROOT, '.venv-prefect');
}

/** True when the venv made by `npm run prefect:setup` is present. */
export function hasPrefectVenv(venvDir?: string): boolean {
  return existsSync(join(resolveVenvDir(venvDir), 'bin', 'prefect'));
}

/** Asks the kernel for a free TCP port on 127.0.0.1. */
export async function findFreePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') {
    throw new Error('could not read the port of a probe socket');
  }
  return address.port;
}

/** Starts `prefect server start` and resolves once `/health` answers 200. */
export async function startPrefectServer(
  options: PrefectServerOptions = {},
): Promise<PrefectServer> {
  const venvDir = resolveVenvDir(options.venvDir);
  if (!hasPrefectVenv(venvDir)) {
    throw new Error(
      `Prefect is not installed in ${venvDir}: run npm run prefect:setup`,
    );
  }

  const info = describeServer(options, options.port ?? (await findFreePort()));
  const home = await mkdtemp(join(tmpdir(), 'naftiko-prefect-'));
  const child = spawnServer(venvDir, home, info, options.env ?? {});
  const output = captureOutput(child);
  const started = Date.now();

  const stop = createStop(child, home);
  try {
    await waitForHealth(info.apiUrl, child, options.startTimeoutMs ?? 90_000);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n--- prefect output ---\n${output()}`);
  }
  return {
    ...info,
    pid: child.pid ?? -1,
    startupMs: Date.now() - started,
    outputTail: output,
    stop,
  };
}

function describeServer(options: PrefectServerOptions, port: number): PrefectServerInfo {
  const accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
  const workspaceId = options.workspaceId ?? DEFAULT_WORKSPACE_ID;
  const basePath = `/api/accounts/${accountId}/workspaces/${workspaceId}`;
  const origin = `http://127.0.0.1:${port}`;
  return { origin, apiUrl: origin + basePath, basePath, accountId, workspaceId };
}

function spawnServer(
  venvDir: string,
  home: string,
  info: PrefectServerInfo,
  extraEnv: Record<string, string>,
): ChildProcess {
  const port = String(new URL(info.origin).port);
  const args = [
    '-c', LAUNCHER,
    'server', 'start', '--host', '127.0.0.1', '--port', port,
    '--no-ui', '--no-services', '--analytics-off', '--no-prompt',
  ];

  // detached: its own process group, so stop() reaches every descendant.
  return spawn(join(venvDir, 'bin', 'python'), args, {
    cwd: home,
    detached: true,
    env: { ...buildEnv(home, info, port), ...extraEnv },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

function buildEnv(
  home: string,
  info: PrefectServerInfo,
  port: string,
): NodeJS.ProcessEnv {
  // A developer's own PREFECT_* settings (an API key, a profile, an auth
  // string) must not leak into the server under test.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('PREFECT_')),
  );
  return {
    ...env,
    PREFECT_HOME: home,
    PREFECT_SERVER_DATABASE_CONNECTION_URL: `sqlite+aiosqlite:///${join(home, 'prefect.db')}`,
    PREFECT_SERVER_API_HOST: '127.0.0.1',
    PREFECT_SERVER_API_PORT: port,
    PREFECT_SERVER_API_BASE_PATH: info.basePath,
    PREFECT_API_URL: info.apiUrl,
    PREFECT_SERVER_ANALYTICS_ENABLED: 'false',
    PREFECT_SERVER_UI_ENABLED: 'false',
    PREFECT_SERVER_LOGGING_LEVEL: 'WARNING',
    DO_NOT_TRACK: '1',
    PYTHONUNBUFFERED: '1',
  };
}

// Keeps the last lines of stdout and stderr so a failed start can say why.
function captureOutput(child: ChildProcess): () => string {
  const lines: string[] = [];
  const keep = (chunk: Buffer): void => {
    lines.push(...chunk.toString('utf8').split('\n').filter((l) => l.trim() !== ''));
    lines.splice(0, Math.max(0, lines.length - TAIL_LINES));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => lines.join('\n');
}

async function waitForHealth(
  apiUrl: string,
  child: ChildProcess,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `prefect server exited early (code ${child.exitCode}, signal ${child.signalCode})`,
      );
    }
    if (await isHealthy(apiUrl)) return;
    await sleep(HEALTH_POLL_MS);
  }
  throw new Error(`prefect server not healthy at ${apiUrl}/health after ${timeoutMs} ms`);
}

async function isHealthy(apiUrl: string): Promise<boolean> {
  try {
    const res = await request(`${apiUrl}/health`, {
      headersTimeout: 2_000,
      bodyTimeout: 2_000,
    });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    // Connection refused until uvicorn binds, which is after migrations.
    return false;
  }
}

function createStop(child: ChildProcess, home: string): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  const killOnExit = (): void => signalGroup(child, 'SIGKILL');
  process.once('exit', killOnExit);

  return () => {
    stopping ??= (async () => {
      process.off('exit', killOnExit);
      await terminate(child);
      await rm(home, { recursive: true, force: true, maxRetries: 3 });
    })();
    return stopping;
  };
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  // SIGTERM lets uvicorn close the SQLite file cleanly; SIGKILL is the fallback.
  signalGroup(child, 'SIGTERM');
  const graceful = await Promise.race([
    exited.then(() => true),
    sleep(STOP_GRACE_MS).then(() => false),
  ]);
  if (!graceful) {
    signalGroup(child, 'SIGKILL');
    await Promise.race([exited, sleep(STOP_GRACE_MS)]);
  }
  child.stdin?.destroy();
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}
