import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendJson, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { serveForTest, type ServeForTest } from '../support/serve.js';

/**
 * One test per reference-engine defect we fix (naftiko-spec-notes.md,
 * sections 0 and 1.4): binds that never reach templates, unrendered
 * consumes-level headers, basic and digest passwords sent as garbage, and
 * every body sent as JSON.
 */
const PASSWORD = 'p@ss:wörd';
const REALM = 'fixture';
const NONCE = 'dcd98b7102dd2f0e8b11d0f600bfb0c093';
const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

let upstream: FakeUpstream;
let served: ServeForTest;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  served = await serveForTest('test/fixtures/defects/defects.yaml', {
    'basic-api': `${upstream.url}/basic`,
    'digest-api': `${upstream.url}/digest`,
  }, { env: {} });
});
afterAll(async () => {
  await served?.running.close();
  await upstream?.close();
});
beforeEach(() => {
  upstream.seen.length = 0;
  upstream.handle((req, res) => {
    if (req.target.startsWith('/digest')) return digestServer(req.headers.authorization, req.method, req.target, res);
    sendJson(res, 200, { ok: true });
  });
});

/** A digest-protected upstream that checks the response like a server would (RFC 7616). */
function digestServer(authorization: string | undefined, method: string, uri: string, res: Parameters<Parameters<FakeUpstream['handle']>[0]>[1]): void {
  if (authorization === undefined) {
    res.writeHead(401, { 'www-authenticate': `Digest realm="${REALM}", qop="auth", nonce="${NONCE}", opaque="5ccc069c"` }).end();
    return;
  }
  const field = (k: string) => new RegExp(`${k}="?([^",]+)"?`).exec(authorization)?.[1];
  const ha1 = md5(`ops:${REALM}:${PASSWORD}`);
  const ha2 = md5(`${method}:${uri}`);
  const expected = md5(`${ha1}:${NONCE}:${field('nc')}:${field('cnonce')}:auth:${ha2}`);
  const ok = field('response') === expected && field('uri') === uri && field('username') === 'ops';
  sendJson(res, ok ? 200 : 401, ok ? { secret: 42 } : { detail: 'bad digest' });
}

describe('reference-engine defects, fixed', () => {
  it('renders binds in templates: the basic password is the bound secret, not an object dump', async () => {
    const res = await fetch(`${served.restUrl}/items`);
    expect(res.status).toBe(200);
    expect(upstream.seen[0]!.headers.authorization).toBe(`Basic ${Buffer.from(`ops:${PASSWORD}`, 'utf8').toString('base64')}`);
  });

  it('renders consumes-level header templates instead of sending them raw', async () => {
    await (await fetch(`${served.restUrl}/items`)).arrayBuffer();
    expect(upstream.seen[0]!.headers['x-api-version']).toBe('2026-03');
  });

  it('answers a digest challenge with the right response', async () => {
    const res = await fetch(`${served.restUrl}/secret`);
    expect(await res.json()).toEqual({ secret: 42 });
    expect(res.status).toBe(200);
    expect(upstream.seen).toHaveLength(2);
    expect(upstream.seen[0]!.headers.authorization).toBeUndefined();
    expect(upstream.seen[1]!.headers.authorization).toMatch(/^Digest username="ops", realm="fixture", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="\/digest\/secret", algorithm=MD5, response="[0-9a-f]{32}", qop=auth, nc=00000001, cnonce="[0-9a-f]{24}", opaque="5ccc069c"$/);
  });

  it('sends a form body URL-encoded with its media type', async () => {
    await (await fetch(`${served.restUrl}/form?name=Ada%20Lovelace`, { method: 'POST' })).arrayBuffer();
    expect(upstream.seen[0]!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(upstream.seen[0]!.body).toBe('name=Ada+Lovelace&note=a+%26+b+%3D+c');
  });

  it('sends a text body as text, not as a JSON string', async () => {
    await (await fetch(`${served.restUrl}/text?name=world`, { method: 'POST' })).arrayBuffer();
    expect(upstream.seen[0]!.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(upstream.seen[0]!.body).toBe('hello world');
  });

  it('sends a multipart body as real multipart parts', async () => {
    await (await fetch(`${served.restUrl}/multipart?name=Report`, { method: 'POST' })).arrayBuffer();
    const type = upstream.seen[0]!.headers['content-type']!;
    expect(type).toMatch(/^multipart\/form-data; boundary=/);
    const form = await new Response(upstream.seen[0]!.body, { headers: { 'content-type': type } }).formData();
    expect(form.get('title')).toBe('Report');
    const file = form.get('file') as File;
    expect(file.name).toBe('notes.txt');
    expect(file.type).toBe('text/plain');
    expect(await file.text()).toBe('line one');
  });
});
