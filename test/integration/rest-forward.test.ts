import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendJson, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { serveForTest, type ServeForTest } from '../support/serve.js';

let upstream: FakeUpstream;
let served: ServeForTest;

beforeAll(async () => {
  upstream = await startFakeUpstream((req, res) => sendJson(res, req.method === 'DELETE' ? 404 : 200, { got: req.target }));
  // A trailing slash on the base URI is dropped (the reference engine refuses the file).
  served = await serveForTest('test/fixtures/defects/forward.yaml', { backend: `${upstream.url}/v1/` }, { env: {} });
});
afterAll(async () => {
  await served?.running.close();
  await upstream?.close();
});

describe('REST forward', () => {
  it('hands on method, multi-segment path, query, body and only trusted headers, plus the namespace headers', async () => {
    upstream.seen.length = 0;
    const res = await fetch(`${served.restUrl}/api/orders/42/lines?expand=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-7', 'x-secret-internal': 'no', cookie: 'a=b' },
      body: JSON.stringify({ qty: 3 }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ got: '/v1/orders/42/lines?expand=true' });
    const seen = upstream.seen[0]!;
    expect(seen.method).toBe('POST');
    expect(JSON.parse(seen.body)).toEqual({ qty: 3 });
    expect(seen.headers['x-request-id']).toBe('req-7');
    expect(seen.headers['x-api-version']).toBe('2026-03-03');
    expect(seen.headers['x-secret-internal']).toBeUndefined();
    expect(seen.headers.cookie).toBeUndefined();
  });

  it('passes the upstream status through', async () => {
    const res = await fetch(`${served.restUrl}/api/orders/42`, { method: 'DELETE' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ got: '/v1/orders/42' });
  });

  it('refuses a path that climbs out with ..', async () => {
    upstream.seen.length = 0;
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(served.restUrl);
      request({ host: url.hostname, port: url.port, path: '/api/orders/%2E%2E/%2E%2E/admin' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject).end();
    });
    expect(status).toBe(404);
    expect(upstream.seen).toHaveLength(0);
  });
});
