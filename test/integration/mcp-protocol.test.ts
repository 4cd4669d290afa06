import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendJson, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { serveForTest, type ServeForTest } from '../support/serve.js';

let upstream: FakeUpstream;
let served: ServeForTest;

beforeAll(async () => {
  upstream = await startFakeUpstream((_req, res) => sendJson(res, 200, []));
  served = await serveForTest('capabilities/prefect-download.yaml', { 'prefect-download': upstream.url });
});
afterAll(async () => {
  await served?.running.close();
  await upstream?.close();
});

const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

async function post(body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(served.mcpUrl, { method: 'POST', headers: { ...HEADERS, ...headers }, body });
  const text = await res.text();
  const data = text.startsWith('event:') ? text.split('\n').find((l) => l.startsWith('data: '))!.slice(6) : text;
  return { status: res.status, json: data === '' ? undefined : JSON.parse(data) };
}

describe('raw JSON-RPC on /mcp', () => {
  it('answers malformed JSON with -32700 and id null', async () => {
    const { status, json } = await post('{"jsonrpc":"2.0","id":1,"method":');
    expect(status).toBe(400);
    expect(json).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error: the request body is not valid JSON' } });
  });

  it('answers an unknown tool with -32602 naming it', async () => {
    const { json } = await post(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'nope', arguments: {} } }), {
      'mcp-protocol-version': '2025-11-25',
    });
    expect(json.id).toBe(7);
    expect(json.error.code).toBe(-32602);
    expect(json.error.message).toContain('Unknown tool: nope');
  });

  it('answers tools/list without a session, statelessly', async () => {
    const { status, json } = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), { 'mcp-protocol-version': '2025-06-18' });
    expect(status).toBe(200);
    expect(json.result.tools.map((t: { name: string }) => t.name)).toEqual(['download-flow-run-logs', 'get-flow-run-logs', 'download-flow-run-logs-2']);
  });

  it('refuses an unsupported MCP-Protocol-Version header with HTTP 400', async () => {
    const { status } = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), { 'mcp-protocol-version': '1999-01-01' });
    expect(status).toBe(400);
  });

  it.each(['GET', 'DELETE'])('answers %s with 405, as a stateless server has no stream or session', async (method) => {
    const res = await fetch(served.mcpUrl, { method, headers: { accept: 'text/event-stream', 'mcp-protocol-version': '2025-11-25' } });
    expect(res.status).toBe(405);
  });

  it('refuses a foreign Host and a foreign Origin (DNS rebinding) with 403', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    const { request } = await import('undici');
    const host = await request(served.mcpUrl, { method: 'POST', headers: { ...HEADERS, host: 'evil.example' }, body });
    expect(host.statusCode).toBe(403);
    expect(((await host.body.json()) as { error: { message: string } }).error.message).toContain('--allowed-host');
    const origin = await post(body, { origin: 'http://evil.example' });
    expect(origin.status).toBe(403);
    const ok = await post(body, { origin: 'http://localhost:3000', 'mcp-protocol-version': '2025-11-25' });
    expect(ok.status).toBe(200);
  });
});

describe('--allowed-host', () => {
  it('accepts a Host name such as a Kubernetes Service once allowed', async () => {
    const extra = await serveForTest('capabilities/prefect-download.yaml', { 'prefect-download': upstream.url }, { allowedHosts: ['naftiko.tools.svc'] });
    try {
      const { request } = await import('undici');
      const res = await request(extra.mcpUrl, {
        method: 'POST',
        headers: { ...HEADERS, host: 'naftiko.tools.svc:9090', 'mcp-protocol-version': '2025-11-25' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(res.statusCode).toBe(200);
      await res.body.dump();
    } finally {
      await extra.running.close();
    }
  });
});

describe('framework-level refusals keep our formats', () => {
  it('answers PUT /mcp with 405 and a JSON-RPC error, and other paths with 404', async () => {
    const put = await fetch(served.mcpUrl, { method: 'PUT', headers: HEADERS, body: '{}' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST, DELETE');
    expect(((await put.json()) as { error: { code: number } }).error.code).toBe(-32000);
    expect((await fetch(served.mcpUrl.replace('/mcp', '/other'))).status).toBe(404);
  });

  it('answers a body over 4 MiB with 413 as a JSON-RPC error', async () => {
    const res = await fetch(served.mcpUrl, { method: 'POST', headers: HEADERS, body: `{"x":"${'a'.repeat(5 * 1024 * 1024)}"}` });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: number; message: string } }).error).toEqual({ code: -32600, message: 'Request body over 4194304 bytes' });
  });

  it('answers a REST URL with broken percent-encoding as problem+json', async () => {
    const { request: undiciRequest } = await import('undici');
    const res = await undiciRequest(`${served.restUrl}/v1/api/accounts/a/workspaces/w/flow-runs/bad%FFutf/logs`);
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(((await res.body.json()) as { code: string }).code).toBe('CAP_INPUT_INVALID');
  });
});
