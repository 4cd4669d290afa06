import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendJson, startFakeUpstream, type FakeUpstream, type SeenRequest } from '../support/fake-upstream.js';
import { connectMcp, firstText, serveFaults, type FaultServe } from './upstream-support.js';

// Faults from an upstream of ours, each with its documented answer
// (docs/errors.md), while healthy traffic keeps flowing.

const BUFFER_CAP = 64 * 1024;
const HEADERS_MS = 400;
const IDLE_MS = 400;

type Fault = 'reset-mid-body' | 'reset-before-body' | 'no-headers' | 'bad-json' | 'too-large' | 'stall-mid-body';

let upstream: FakeUpstream;
let served: FaultServe;
let fault: Fault = 'bad-json';
/** Faults for the next requests, one each, before `fault` applies again. */
const queued: Fault[] = [];
const hung: ServerResponse[] = [];

/** A body that differs per request, so a mixed-up answer cannot pass. */
function healthyBody(n: string): Buffer {
  return Buffer.from(`${n}:`.repeat(8_000).slice(0, 48_000) + `|end-${n}`);
}

async function onFault(res: ServerResponse): Promise<void> {
  switch (queued.shift() ?? fault) {
    case 'reset-mid-body':
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100000' });
      res.write(`{"items":["${'x'.repeat(20_000)}`);
      await sleep(100);
      res.socket?.resetAndDestroy();
      return;
    case 'reset-before-body':
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.flushHeaders();
      await sleep(100);
      res.socket?.resetAndDestroy();
      return;
    case 'no-headers':
      hung.push(res);
      return;
    case 'bad-json':
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"items": [1, 2,');
      return;
    case 'too-large':
      sendJson(res, 200, { items: ['y'.repeat(4 * BUFFER_CAP)] });
      return;
    case 'stall-mid-body':
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first chunk, then silence');
      hung.push(res);
  }
}

function handle(req: SeenRequest, res: ServerResponse): void | Promise<void> {
  const url = new URL(req.target, 'http://upstream');
  if (url.pathname === '/healthy') {
    const n = String(req.headers['if-none-match'] ?? 'none');
    res.writeHead(200, { 'content-type': 'text/plain' }).end(healthyBody(n));
    return;
  }
  return onFault(res);
}

beforeAll(async () => {
  upstream = await startFakeUpstream(handle);
  served = await serveFaults(upstream.url, {
    bufferCapBytes: BUFFER_CAP,
    policies: [{ scope: 'faults', timeouts: { headersMs: HEADERS_MS, idleMs: IDLE_MS }, retry: { backoffMs: 20 } }],
  });
});
afterAll(async () => {
  for (const res of hung) res.destroy();
  await served?.running.close();
  await upstream?.close();
});
beforeEach(() => {
  upstream.seen.length = 0;
});

async function problemOf(path: string): Promise<{ status: number; type: string | null; code: string }> {
  const res = await fetch(`${served.restUrl}${path}`);
  const body = (await res.json()) as { code: string };
  return { status: res.status, type: res.headers.get('content-type'), code: body.code };
}

async function toolError(name: string): Promise<{ isError: boolean; text: string }> {
  const client = await connectMcp(served.mcpUrl);
  try {
    const result = await client.callTool({ name, arguments: {} });
    return { isError: result.isError === true, text: firstText(result) };
  } finally {
    await client.close();
  }
}

describe('faults with a documented answer', () => {
  it('a connection reset mid-body on a mapped operation: 502 CAP_UPSTREAM_INCOMPLETE, isError on MCP', async () => {
    fault = 'reset-mid-body';
    expect(await problemOf('/items')).toEqual({ status: 502, type: 'application/problem+json; charset=utf-8', code: 'CAP_UPSTREAM_INCOMPLETE' });
    expect(await toolError('get-items')).toEqual({ isError: true, text: expect.stringMatching(/^CAP_UPSTREAM_INCOMPLETE: /) });
    // Headers had come: the body failure is not retried.
    expect(upstream.seen).toHaveLength(2);
  });

  it('a connection reset mid-body on a pass-through: the REST body is cut short, MCP gets isError', async () => {
    fault = 'reset-mid-body';
    const res = await request(`${served.restUrl}/raw`);
    expect(res.statusCode).toBe(200);
    await expect(res.body.text()).rejects.toThrow();
    expect(await toolError('get-raw')).toEqual({ isError: true, text: expect.stringMatching(/^CAP_UPSTREAM_INCOMPLETE: /) });
  });

  it('a reset after the headers but before any body byte: a 502 problem on REST, not a cut 200', async () => {
    fault = 'reset-before-body';
    const problem = await problemOf('/raw');
    expect(problem).toEqual({ status: 502, type: 'application/problem+json; charset=utf-8', code: 'CAP_UPSTREAM_INCOMPLETE' });
  });

  it('headers that never come: 504 CAP_UPSTREAM_TIMEOUT after the headers timeout, tried once', async () => {
    fault = 'no-headers';
    const started = performance.now();
    expect(await problemOf('/items')).toMatchObject({ status: 504, code: 'CAP_UPSTREAM_TIMEOUT' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(HEADERS_MS - 50);
    expect(performance.now() - started).toBeLessThan(HEADERS_MS + 1500);
    expect(upstream.seen).toHaveLength(1);
    const tool = await toolError('get-items');
    expect(tool).toEqual({ isError: true, text: expect.stringMatching(/^CAP_UPSTREAM_TIMEOUT: upstream sent no response headers within 400 ms/) });
  });

  it('a JSON content type with an invalid body on a mapped operation: 502 CAP_UPSTREAM_BODY', async () => {
    fault = 'bad-json';
    expect(await problemOf('/items')).toMatchObject({ status: 502, code: 'CAP_UPSTREAM_BODY' });
    expect(await toolError('get-items')).toEqual({ isError: true, text: expect.stringMatching(/^CAP_UPSTREAM_BODY: .*not valid json/) });
  });

  it('a buffered body over its cap: 502 CAP_UPSTREAM_TOO_LARGE; the same body passed through is not cut', async () => {
    fault = 'too-large';
    expect(await problemOf('/items')).toMatchObject({ status: 502, code: 'CAP_UPSTREAM_TOO_LARGE' });
    expect(await toolError('get-items')).toEqual({ isError: true, text: expect.stringMatching(/^CAP_UPSTREAM_TOO_LARGE: /) });
    const res = await fetch(`${served.restUrl}/raw`);
    expect(res.status).toBe(200);
    expect((await res.text()).length).toBe(JSON.stringify({ items: ['y'.repeat(4 * BUFFER_CAP)] }).length);
  });

  it('a body that stalls: cut after the idle timeout, with a warn line', async () => {
    fault = 'stall-mid-body';
    const started = performance.now();
    const res = await request(`${served.restUrl}/raw`);
    expect(res.statusCode).toBe(200);
    await expect(res.body.text()).rejects.toThrow();
    expect(performance.now() - started).toBeGreaterThanOrEqual(IDLE_MS - 50);
    await sleep(50);
    expect(served.logs.some((l) => l.msg === 'upstream body failed' && l.code === 'CAP_UPSTREAM_TIMEOUT')).toBe(true);
  });
});

describe('healthy traffic during the faults', () => {
  it('20 concurrent requests to a healthy route all get exact bodies while every fault fires', async () => {
    const faults: Fault[] = ['reset-mid-body', 'no-headers', 'bad-json', 'too-large', 'stall-mid-body'];
    const healthy = Array.from({ length: 20 }, async (_, i) => {
      await sleep(i * 5);
      const res = await fetch(`${served.restUrl}/healthy`, { headers: { 'if-none-match': `"h${i}"` } });
      return { status: res.status, body: Buffer.from(await res.arrayBuffer()), i };
    });
    queued.push(...faults);
    const faulty = faults.map(async () => {
      const res = await request(`${served.restUrl}/items`);
      await res.body.text().catch(() => '');
      return res.statusCode;
    });

    const results = await Promise.all(healthy);
    for (const { status, body, i } of results) {
      expect(status).toBe(200);
      expect(body.equals(healthyBody(`"h${i}"`)), `request ${i}`).toBe(true);
    }
    const statuses = await Promise.all(faulty);
    expect(queued).toEqual([]);
    // reset, bad JSON, too large: 502; no headers, stalled body being buffered: 504.
    expect(statuses.sort()).toEqual([502, 502, 502, 504, 504]);

    // Still serving, and nothing was reported as our own bug.
    const after = await fetch(`${served.restUrl}/healthy`);
    expect(after.status).toBe(200);
    await after.arrayBuffer();
    expect(served.logs.some((l) => JSON.stringify(l).includes('CAP_INTERNAL'))).toBe(false);
  });
});

describe('our own failures', () => {
  it('a request body that is not JSON: 400 CAP_INPUT_INVALID naming "body", no upstream call', async () => {
    const res = await fetch(`${served.restUrl}/items`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{bad' });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(await res.json()).toMatchObject({ code: 'CAP_INPUT_INVALID', parameter: 'body' });
    expect(upstream.seen).toHaveLength(0);
  });

  it('an unreachable upstream: 502 CAP_UPSTREAM_UNREACHABLE after the retries a GET gets', async () => {
    const down = await serveFaults('http://127.0.0.1:9', { policies: [{ scope: undefined, retry: { backoffMs: 10 } }] });
    try {
      expect(await (async () => {
        const res = await fetch(`${down.restUrl}/items`);
        return { status: res.status, code: ((await res.json()) as { code: string }).code };
      })()).toEqual({ status: 502, code: 'CAP_UPSTREAM_UNREACHABLE' });
      expect(down.logs.filter((l) => l.msg === 'upstream retry')).toHaveLength(2);
    } finally {
      await down.running.close();
    }
  });

  it('a --timeout or --retry for a namespace the file does not consume stops start-up', async () => {
    await expect(serveFaults(upstream.url, { policies: [{ scope: 'fault', timeouts: { headersMs: 1000 } }] })).rejects.toMatchObject({
      code: 'CAP_CONFIG_USAGE',
      message: expect.stringContaining('"fault", which is not a consumed namespace; known: faults'),
    });
  });
});
