import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendJson, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { connectMcp, firstText, serveFaults, type FaultServe } from './upstream-support.js';

let upstream: FakeUpstream;
let served: FaultServe;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  // A short backoff keeps the backoff cases fast; Retry-After is honoured as sent.
  served = await serveFaults(upstream.url, { policies: [{ scope: undefined, retry: { backoffMs: 50 } }] });
});
afterAll(async () => {
  await served?.running.close();
  await upstream?.close();
});
beforeEach(() => {
  upstream.seen.length = 0;
  served.logs.length = 0;
});

/** Answers `statuses` in turn (with `headers`), then 200 with `{ items: [n] }`. */
function script(statuses: number[], headers: Record<string, string> = {}): void {
  let n = 0;
  upstream.handle((_req, res) => {
    const status = statuses[n++];
    if (status === undefined) sendJson(res, 200, { items: [n] });
    else sendJson(res, status, { detail: `status ${status}` }, headers);
  });
}

const retryLines = () => served.logs.filter((l) => l.msg === 'upstream retry');

describe('retries of safe calls', () => {
  it('waits out Retry-After: 1 on two 429s and returns the third answer, after at least 2 s and 3 requests', async () => {
    script([429, 429], { 'retry-after': '1' });
    const started = performance.now();
    const res = await fetch(`${served.restUrl}/items`);
    const elapsed = performance.now() - started;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ items: [3] });
    expect(elapsed).toBeGreaterThanOrEqual(2000);
    expect(elapsed).toBeLessThan(5000);
    expect(upstream.seen).toHaveLength(3);

    const lines = retryLines();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 40, status: 429, attempt: 1, nextAttempt: 2, waitMs: 1000, method: 'GET', path: '/items' });
    expect(JSON.stringify(lines)).not.toContain('authorization');
  });

  it('reads Retry-After as an HTTP date', async () => {
    script([503], { 'retry-after': new Date(Date.now() + 1500).toUTCString() });
    const started = performance.now();
    const res = await fetch(`${served.restUrl}/items`);
    expect(res.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(400);
    expect(upstream.seen).toHaveLength(2);
  });

  it.each([502, 503, 504])('retries %i with backoff and gives the last answer when 3 tries fail', async (status) => {
    script([status, status, status, status]);
    const res = await fetch(`${served.restUrl}/items`);
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({ detail: `status ${status}` });
    expect(upstream.seen).toHaveLength(3);
    expect(retryLines().map((l) => l.status)).toEqual([status, status]);
  });

  it.each([400, 404, 422])('tries %i once and passes it through', async (status) => {
    script([status]);
    const res = await fetch(`${served.restUrl}/items`);
    expect(res.status).toBe(status);
    expect(upstream.seen).toHaveLength(1);
    expect(retryLines()).toHaveLength(0);
  });

  it.each([401, 403])('tries %i once and reports CAP_UPSTREAM_AUTH', async (status) => {
    script([status]);
    const res = await fetch(`${served.restUrl}/items`);
    expect(res.status).toBe(502);
    expect(((await res.json()) as { code: string }).code).toBe('CAP_UPSTREAM_AUTH');
    expect(upstream.seen).toHaveLength(1);
  });

  it('passes a 429 through at once when its Retry-After is over the 30 s cap', async () => {
    script([429], { 'retry-after': '120' });
    const started = performance.now();
    const res = await fetch(`${served.restUrl}/items`);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('120');
    expect(performance.now() - started).toBeLessThan(1000);
    expect(upstream.seen).toHaveLength(1);
  });

  it('retries a connection reset before any answer', async () => {
    let n = 0;
    upstream.handle((_req, res) => {
      if (n++ === 0) res.socket?.resetAndDestroy();
      else sendJson(res, 200, { items: ['after reset'] });
    });
    const res = await fetch(`${served.restUrl}/items`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ items: ['after reset'] });
    expect(upstream.seen).toHaveLength(2);
    expect(retryLines()[0]).toMatchObject({ error: expect.stringMatching(/ECONNRESET|UND_ERR_SOCKET/) });
  });
});

describe('calls that are not safe to repeat', () => {
  it('tries a PUT once on REST, where nothing says it is idempotent', async () => {
    script([503]);
    const res = await fetch(`${served.restUrl}/items`, { method: 'PUT' });
    expect(res.status).toBe(503);
    expect(upstream.seen).toHaveLength(1);
  });

  it('retries a PUT behind an MCP tool hinted idempotent, and not behind the same tool unhinted', async () => {
    const client = await connectMcp(served.mcpUrl);
    try {
      script([503]);
      const hinted = await client.callTool({ name: 'put-items', arguments: {} });
      expect(hinted.isError).toBeFalsy();
      expect(hinted.structuredContent).toEqual({ items: [2] });
      expect(upstream.seen).toHaveLength(2);

      upstream.seen.length = 0;
      script([503]);
      const unhinted = await client.callTool({ name: 'put-items-unhinted', arguments: {} });
      expect(unhinted.isError).toBe(true);
      expect(firstText(unhinted)).toContain('HTTP 503');
      expect(upstream.seen).toHaveLength(1);
    } finally {
      await client.close();
    }
  });
});

describe('the deadline', () => {
  it('counts waits: a Retry-After that would overrun the deadline is not waited for', async () => {
    const tight = await serveFaults(upstream.url, { policies: [{ scope: 'faults', timeouts: { deadlineMs: 1500 } }] });
    try {
      script([429, 429], { 'retry-after': '1' });
      const started = performance.now();
      const res = await fetch(`${tight.restUrl}/items`);
      expect(res.status).toBe(429);
      expect(performance.now() - started).toBeLessThan(1500);
      expect(upstream.seen).toHaveLength(2);
    } finally {
      await tight.running.close();
    }
  });
});
