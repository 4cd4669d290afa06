import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendJson, startFakeUpstream, type FakeUpstream, type SeenRequest } from '../support/fake-upstream.js';
import { serveForTest, type ServeForTest } from '../support/serve.js';
import { connectMcp, firstText, serveFaults, type FaultServe } from './upstream-support.js';

const ETAG = '"v7"';
const LAST_MODIFIED = 'Wed, 01 Jul 2026 10:00:00 GMT';

/** Answers 304 to a matching If-None-Match or a not-older If-Modified-Since. */
function conditional(req: SeenRequest, res: http.ServerResponse): void {
  const validators = { etag: ETAG, 'last-modified': LAST_MODIFIED };
  const since = req.headers['if-modified-since'];
  const fresh = req.headers['if-none-match'] === ETAG
    || (since !== undefined && Date.parse(String(since)) >= Date.parse(LAST_MODIFIED));
  if (fresh) return void res.writeHead(304, validators).end();
  sendJson(res, 200, { items: ['a', 'b'] }, validators);
}

let upstream: FakeUpstream;
let served: FaultServe;

beforeAll(async () => {
  upstream = await startFakeUpstream(conditional);
  served = await serveFaults(upstream.url);
});
afterAll(async () => {
  await served?.running.close();
  await upstream?.close();
});
beforeEach(() => {
  upstream.seen.length = 0;
});

describe('conditional requests end to end', () => {
  it('If-None-Match with the current ETag gives 304 with no body, though the capability declares no such header', async () => {
    const first = await fetch(`${served.restUrl}/raw`);
    expect(first.status).toBe(200);
    expect(first.headers.get('etag')).toBe(ETAG);
    expect(first.headers.get('last-modified')).toBe(LAST_MODIFIED);
    await first.arrayBuffer();

    const again = await fetch(`${served.restUrl}/raw`, { headers: { 'if-none-match': first.headers.get('etag')! } });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(ETAG);
    expect((await again.arrayBuffer()).byteLength).toBe(0);
    expect(upstream.seen[1]!.headers['if-none-match']).toBe(ETAG);
  });

  it('If-Modified-Since reaches the upstream too, and a stale copy gets the full 200', async () => {
    const fresh = await fetch(`${served.restUrl}/raw`, { headers: { 'if-modified-since': LAST_MODIFIED } });
    expect(fresh.status).toBe(304);
    const stale = await fetch(`${served.restUrl}/raw`, { headers: { 'if-modified-since': 'Mon, 01 Jun 2026 00:00:00 GMT' } });
    expect(stale.status).toBe(200);
    expect(await stale.json()).toEqual({ items: ['a', 'b'] });
    expect(upstream.seen.map((r) => r.headers['if-modified-since'])).toEqual([LAST_MODIFIED, 'Mon, 01 Jun 2026 00:00:00 GMT']);
  });

  it('returns ETag and Last-Modified with a mapped JSON answer, and passes its 304 on', async () => {
    const mapped = await fetch(`${served.restUrl}/items`);
    expect(mapped.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await mapped.json()).toEqual({ items: ['a', 'b'] });
    expect(mapped.headers.get('etag')).toBe(ETAG);
    expect(mapped.headers.get('last-modified')).toBe(LAST_MODIFIED);
    const notModified = await fetch(`${served.restUrl}/items`, { headers: { 'if-none-match': ETAG } });
    expect(notModified.status).toBe(304);
    expect(await notModified.text()).toBe('');
  });

  it('tells an MCP caller "not modified" when the tool passes an If-None-Match the upstream matches', async () => {
    const prefect: ServeForTest = await serveForTest('capabilities/prefect-download.yaml', { 'prefect-download': upstream.url });
    const client = await connectMcp(prefect.mcpUrl);
    try {
      const result = await client.callTool({
        name: 'get-flow-run-logs',
        arguments: { account_id: 'a', workspace_id: 'w', id: 'f', 'if-none-match': ETAG },
      });
      expect(result.isError).toBeFalsy();
      expect(firstText(result)).toMatch(/^not modified/);
      expect(upstream.seen.at(-1)!.headers['if-none-match']).toBe(ETAG);
    } finally {
      await client.close();
      await prefect.running.close();
    }
  });
});

interface TestProxy {
  readonly url: string;
  /** `CONNECT host:port` or `GET http://host:port/path`, as received. */
  readonly seen: string[];
  close(): Promise<void>;
}

/**
 * A proxy of our own that speaks both forms HTTP clients use: CONNECT
 * tunnels and absolute-URI requests. It only ever connects to 127.0.0.1.
 */
async function startTestProxy(): Promise<TestProxy> {
  const seen: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const target = new URL(req.url ?? '');
    if (target.hostname !== '127.0.0.1') return void res.writeHead(403).end();
    const forward = http.request(
      { host: '127.0.0.1', port: target.port, path: target.pathname + target.search, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    seen.push(`CONNECT ${req.url}`);
    const [host, port] = (req.url ?? '').split(':');
    if (host !== '127.0.0.1') return void socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
    const tunnel = net.connect(Number(port), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      tunnel.write(head);
      tunnel.pipe(socket);
      socket.pipe(tunnel);
    });
    sockets.add(tunnel);
    tunnel.on('error', () => socket.destroy());
    socket.on('error', () => tunnel.destroy());
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

describe('HTTP_PROXY and NO_PROXY', () => {
  it('reaches the upstream through the proxy HTTP_PROXY names', async () => {
    const proxy = await startTestProxy();
    const viaProxy = await serveFaults(upstream.url, { env: { HTTP_PROXY: proxy.url, NO_PROXY: '' } });
    try {
      const res = await fetch(`${viaProxy.restUrl}/raw`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ items: ['a', 'b'] });
      const host = new URL(upstream.url).host;
      expect(proxy.seen).toHaveLength(1);
      expect([`CONNECT ${host}`, `GET ${upstream.url}/raw`]).toContain(proxy.seen[0]);
      expect(upstream.seen).toHaveLength(1);
    } finally {
      await viaProxy.running.close();
      await proxy.close();
    }
  });

  it('goes direct for a host NO_PROXY lists', async () => {
    const proxy = await startTestProxy();
    const direct = await serveFaults(upstream.url, { env: { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' } });
    try {
      const res = await fetch(`${direct.restUrl}/raw`);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      expect(proxy.seen).toEqual([]);
      expect(upstream.seen).toHaveLength(1);
    } finally {
      await direct.running.close();
      await proxy.close();
    }
  });
});
