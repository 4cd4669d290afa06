import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendJson, startFakeUpstream, type FakeUpstream, type SeenRequest } from '../support/fake-upstream.js';
import { serveFaults, type FaultServe } from './upstream-support.js';

// Pass-through bodies stream with backpressure, are never cut by the
// deadline or the buffer cap, and stop when the client goes away.

let upstream: FakeUpstream;
let served: FaultServe;
let handler: (req: SeenRequest, res: ServerResponse) => void | Promise<void>;

beforeAll(async () => {
  upstream = await startFakeUpstream((req, res) => handler(req, res));
  served = await serveFaults(upstream.url, {
    bufferCapBytes: 64 * 1024,
    policies: [{ scope: 'faults', timeouts: { headersMs: 300, idleMs: 300, deadlineMs: 500 } }],
  });
});
afterAll(async () => {
  await served?.running.close();
  await upstream?.close();
});
beforeEach(() => {
  upstream.seen.length = 0;
});

const MiB = 1024 * 1024;

/** Writes `total` bytes in 64 KiB chunks, waiting for drain; resolves with what it wrote. */
async function writeWithBackpressure(res: ServerResponse, total: number, progress: { written: number }): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024, 97);
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  while (progress.written < total && !res.destroyed) {
    const ok = res.write(chunk);
    progress.written += chunk.length;
    if (!ok) await drained(res);
  }
  res.end();
}

/** Resolves on `drain` or `close`, leaving no listener behind. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

describe('streaming a pass-through body', () => {
  it('holds the upstream back while the client does not read, then delivers every byte', async () => {
    const total = 256 * MiB;
    const progress = { written: 0 };
    handler = (_req, res) => writeWithBackpressure(res, total, progress);

    const res = await request(`${served.restUrl}/raw`);
    expect(res.statusCode).toBe(200);
    await sleep(1000);
    // Socket buffers and stream high-water marks only: far below the body.
    const heldBack = progress.written;
    expect(heldBack).toBeLessThan(48 * MiB);

    let received = 0;
    for await (const chunk of res.body) received += (chunk as Buffer).length;
    expect(received).toBe(total);
  });

  it('aborts the upstream request when the client disconnects: the upstream sees its socket closed', async () => {
    let closed: (() => void) | undefined;
    const upstreamClosed = new Promise<void>((resolve) => (closed = resolve));
    let finished = false;
    handler = async (_req, res) => {
      res.on('close', () => closed!());
      res.on('finish', () => (finished = true));
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (let i = 0; i < 100 && !res.destroyed; i++) {
        res.write(`line ${i}\n`);
        await sleep(50);
      }
      res.end();
    };

    const abort = new AbortController();
    const res = await request(`${served.restUrl}/raw`, { signal: abort.signal });
    for await (const _chunk of res.body) break;
    const cutAt = performance.now();
    abort.abort();
    await upstreamClosed;
    expect(performance.now() - cutAt).toBeLessThan(1000);
    expect(finished).toBe(false);
  });

  it('is never cut by the deadline or the idle timeout while data keeps coming', async () => {
    handler = async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (let i = 0; i < 15; i++) {
        res.write(`chunk ${i}\n`);
        await sleep(100);
      }
      res.end('done\n');
    };
    const started = performance.now();
    const res = await fetch(`${served.restUrl}/raw`);
    const text = await res.text();
    expect(performance.now() - started).toBeGreaterThan(1400);
    expect(text.split('\n')).toHaveLength(17);
    expect(text.endsWith('done\n')).toBe(true);
  });

  it('is never cut by the buffer cap, which only applies to mapped bodies', async () => {
    const progress = { written: 0 };
    handler = (_req, res) => writeWithBackpressure(res, 8 * MiB, progress);
    const res = await fetch(`${served.restUrl}/raw`);
    expect((await res.arrayBuffer()).byteLength).toBe(8 * MiB);
  });
});

describe('redirects', () => {
  it('follows up to 3 same-origin redirects', async () => {
    handler = (req, res) => {
      const hop = Number(new URL(req.target, 'http://x').searchParams.get('hop') ?? 0);
      if (hop < 3) res.writeHead(302, { location: `/raw?hop=${hop + 1}` }).end();
      else sendJson(res, 200, { hop });
    };
    const res = await fetch(`${served.restUrl}/raw`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ hop: 3 });
    expect(upstream.seen.map((r) => r.target)).toEqual(['/raw', '/raw?hop=1', '/raw?hop=2', '/raw?hop=3']);
  });

  it('refuses a fourth redirect with 502 CAP_UPSTREAM_REDIRECT', async () => {
    handler = (req, res) => res.writeHead(307, { location: `${req.target}x` }).end();
    const res = await fetch(`${served.restUrl}/raw`);
    expect(res.status).toBe(502);
    expect(((await res.json()) as { code: string }).code).toBe('CAP_UPSTREAM_REDIRECT');
    expect(upstream.seen).toHaveLength(4);
  });

  it('never follows a redirect to another origin, so our credentials stay home', async () => {
    const other = await startFakeUpstream((_req, res) => sendJson(res, 200, { stolen: true }));
    try {
      handler = (_req, res) => res.writeHead(302, { location: `${other.url}/raw` }).end();
      const res = await fetch(`${served.restUrl}/raw`);
      expect(res.status).toBe(502);
      const problem = (await res.json()) as { code: string; detail: string };
      expect(problem.code).toBe('CAP_UPSTREAM_REDIRECT');
      expect(problem.detail).toContain('another origin');
      expect(other.seen).toHaveLength(0);
    } finally {
      await other.close();
    }
  });

  it('continues a 303 after a PUT as a GET without the body', async () => {
    handler = (req, res) => {
      if (req.method === 'PUT') res.writeHead(303, { location: '/items?done=1' }).end();
      else sendJson(res, 200, { items: [req.method, req.body.length] });
    };
    const res = await fetch(`${served.restUrl}/items`, { method: 'PUT' });
    expect(await res.json()).toEqual({ items: ['GET', 0] });
  });
});
