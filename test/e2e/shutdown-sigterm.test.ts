import { once } from 'node:events';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli, type StartedCli } from '../support/cli.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { writeFaultCapability } from '../integration/upstream-support.js';

// SIGTERM while 50 slow requests are in flight, against the built CLI.

const IN_FLIGHT = 50;
const SLOW_MS = 1500;
const GRACE_MS = 3000;

let upstream: FakeUpstream;
let cli: StartedCli;
let longClosed = false;
const bodyOf = (n: string) => `slow answer ${n}\n`.repeat(200);

beforeAll(async () => {
  upstream = await startFakeUpstream(async (req, res) => {
    const tag = String(req.headers['if-none-match'] ?? '');
    if (tag === 'long') {
      // Longer than the grace period: headers now, then a line every 200 ms for 30 s.
      res.on('close', () => (longClosed = !res.writableFinished));
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (let i = 0; i < 150 && !res.destroyed; i++) {
        res.write(`tick ${i}\n`);
        await sleep(200);
      }
      res.end();
      return;
    }
    await sleep(SLOW_MS);
    res.writeHead(200, { 'content-type': 'text/plain' }).end(bodyOf(tag));
  });
  cli = await startCli(
    [writeFaultCapability(), '--base-uri', `faults=${upstream.url}`, '--port', 'faults-rest=0', '--port', 'faults-mcp=0',
      '--shutdown-timeout', `${GRACE_MS}ms`],
    { NO_PROXY: '127.0.0.1' },
    { routes: 3, tools: 1 },
  );
});
afterAll(async () => {
  if (cli?.child.exitCode === null) cli.child.kill('SIGKILL');
  await upstream?.close();
});

/** Resolves with the connect error code, or "connected". */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
}

describe('graceful shutdown on SIGTERM', () => {
  it('refuses new connections, lets 50 in-flight requests finish, cuts the one over the grace period, exits 0', async () => {
    const url = new URL(`${cli.restUrl()}/raw`);
    const agent = new Agent({ connections: IN_FLIGHT + 5, pipelining: 0 });
    const exited = once(cli.child, 'exit') as Promise<[number | null]>;

    const slow = Array.from({ length: IN_FLIGHT }, async (_, i) => {
      const res = await request(url, { dispatcher: agent, headers: { 'if-none-match': `r${i}` } });
      const body = await res.body.text();
      return { status: res.statusCode, body, i, doneAt: performance.now() };
    });
    const long = (async () => {
      const res = await request(url, { dispatcher: agent, headers: { 'if-none-match': 'long' } });
      try {
        await res.body.text();
        return { cut: false, at: performance.now() };
      } catch {
        return { cut: true, at: performance.now() };
      }
    })();

    const deadline = Date.now() + 10_000;
    while (upstream.seen.length < IN_FLIGHT + 1 && Date.now() < deadline) await sleep(20);
    expect(upstream.seen).toHaveLength(IN_FLIGHT + 1);

    const termAt = performance.now();
    cli.child.kill('SIGTERM');
    let refused = 'connected';
    while (refused === 'connected' && performance.now() - termAt < 1000) {
      await sleep(25);
      refused = await tryConnect(Number(url.port));
    }
    const refusedAt = performance.now();
    expect(refused).toBe('ECONNREFUSED');

    const results = await Promise.all(slow);
    for (const { status, body, i } of results) {
      expect(status).toBe(200);
      expect(body, `request ${i}`).toBe(bodyOf(`r${i}`));
    }
    // The refusal came while the 50 were still running.
    expect(refusedAt).toBeLessThan(Math.min(...results.map((r) => r.doneAt)));
    expect(Math.max(...results.map((r) => r.doneAt)) - termAt).toBeLessThan(GRACE_MS);

    const cut = await long;
    expect(cut.cut).toBe(true);
    expect(cut.at - termAt).toBeGreaterThanOrEqual(GRACE_MS - 100);
    const [code] = await exited;
    expect(code).toBe(0);
    expect(performance.now() - termAt).toBeLessThan(GRACE_MS + 2000);
    await sleep(100);
    expect(longClosed).toBe(true);

    const messages = cli.lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(messages).toContain('shutting down');
    expect(messages).toContain('stopped; requests over the grace period were cut');
    await agent.close();
  });
});
