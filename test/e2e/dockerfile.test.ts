import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendJson, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { startCli } from '../support/cli.js';

/**
 * There is no Docker engine on our machines, so this test runs the
 * Dockerfile's instructions natively: each stage gets a directory, COPY
 * copies from the repository or an earlier stage, RUN runs in bash, and the
 * final ENTRYPOINT + CMD is started with the stage's ENV and must serve.
 */
interface Instruction {
  readonly op: string;
  readonly args: string;
}

function parseDockerfile(text: string): Instruction[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const at = l.indexOf(' ');
      return { op: l.slice(0, at).toUpperCase(), args: l.slice(at + 1).trim() };
    });
}

const instructions = parseDockerfile(readFileSync('Dockerfile', 'utf8'));
const root = mkdtempSync(join(tmpdir(), 'dockerfile-'));
const stages = new Map<string, string>();
let current = '';
const env: Record<string, string> = {};
let entrypoint: string[] = [];
let cmd: string[] = [];
let upstream: FakeUpstream;

function runStages(): void {
  for (const { op, args } of instructions) {
    if (op === 'FROM') {
      const name = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? `stage${stages.size}`;
      expect(args).toMatch(/^node:20/);
      current = join(root, name);
      stages.set(name, current);
      for (const k of Object.keys(env)) delete env[k];
    } else if (op === 'WORKDIR') {
      expect(args).toBe('/app');
    } else if (op === 'COPY') {
      copy(args);
    } else if (op === 'RUN') {
      execFileSync('bash', ['-c', args], { cwd: current, stdio: 'pipe', env: { ...process.env, ...env }, timeout: 300_000 });
    } else if (op === 'ENV') {
      const [k, ...v] = args.split('=');
      env[k!] = v.join('=');
    } else if (op === 'ENTRYPOINT') {
      entrypoint = JSON.parse(args) as string[];
    } else if (op === 'CMD') {
      cmd = JSON.parse(args) as string[];
    } else {
      expect(['EXPOSE', 'USER']).toContain(op);
    }
  }
}

function copy(args: string): void {
  const parts = args.split(/\s+/);
  const from = parts[0]!.startsWith('--from=') ? stages.get(parts.shift()!.slice(7))! : process.cwd();
  const dest = parts.pop()!;
  for (const src of parts) {
    const target = dest.endsWith('/') || parts.length > 1 ? join(current, dest, src.split('/').pop()!) : join(current, dest);
    cpSync(join(from, src.replace(/^\/app\//, '')), target.replace(/\/\.\//, '/'), { recursive: true });
  }
}

beforeAll(async () => {
  runStages();
  upstream = await startFakeUpstream((_req, res) => sendJson(res, 200, [{ id: 'from-container' }]));
}, 600_000);

afterAll(async () => {
  await upstream?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('the Dockerfile, run natively', () => {
  it('declares a runtime that listens on all interfaces, as a container must', () => {
    expect(env.NAFTIKO_HOST).toBe('0.0.0.0');
    expect(entrypoint).toEqual(['node', 'dist/main.js']);
    expect(cmd).toEqual(['capabilities/prefect-download.yaml']);
  });

  it('builds a runtime stage with production dependencies only that serves the capability', async () => {
    const runtime = stages.get('runtime')!;
    expect(() => readFileSync(join(runtime, 'node_modules/vitest/package.json'))).toThrow();
    const cli = await startCli(
      cmd.map((c) => join(runtime, c)),
      {
        ...env,
        // Tests bind loopback only; the 0.0.0.0 default is asserted above.
        NAFTIKO_HOST: '127.0.0.1',
        NAFTIKO_PORT_PREFECT_DOWNLOAD_REST: '0',
        NAFTIKO_PORT_PREFECT_DOWNLOAD_MCP: '0',
        NAFTIKO_BASE_URI_PREFECT_DOWNLOAD: upstream.url,
        PREFECT_API_KEY: 'pnu_container',
      },
      { routes: 3, tools: 3 },
      30_000,
      join(runtime, entrypoint[1]!),
    );
    try {
      const res = await fetch(`${cli.restUrl()}/v1/api/accounts/a/workspaces/w/flow-runs/f/logs`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual([{ id: 'from-container' }]);
      expect(upstream.seen[0]!.headers.authorization).toBe('Bearer pnu_container');
    } finally {
      expect(await cli.stop()).toBe(0);
    }
  });
});
