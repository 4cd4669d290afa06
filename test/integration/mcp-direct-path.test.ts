import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendJson, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { serveForTest, type ServeForTest } from '../support/serve.js';

/**
 * 2025-era tools/list and tools/call are answered without the SDK server
 * (the hot path). A request without an MCP-Protocol-Version header takes
 * the SDK's path: both must give the same JSON-RPC answer, for every kind
 * of result.
 */
let upstream: FakeUpstream;
let served: ServeForTest;
const BASE = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

beforeAll(async () => {
  upstream = await startFakeUpstream((req, res) => {
    if (req.target.includes('missing')) return sendJson(res, 404, { detail: 'Flow run not found' });
    if (req.target.endsWith('/logs/download')) return void res.writeHead(200, { 'content-type': 'text/csv' }).end('a,b\r\n1,2\r\n');
    sendJson(res, 200, [{ id: 'l1', level: 20, message: 'm', timestamp: 't', task_run_id: null }]);
  });
  served = await serveForTest('test/fixtures/mcp/typed-logs.yaml', { prefect: upstream.url });
});
afterAll(async () => {
  await served?.running.close();
  await upstream?.close();
});

async function post(body: unknown, direct: boolean): Promise<{ status: number; type: string; json: unknown }> {
  const headers = direct ? { ...BASE, 'mcp-protocol-version': '2025-11-25' } : BASE;
  const res = await fetch(served.mcpUrl, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  const data = text.startsWith('event:') ? text.split('\n').find((l) => l.startsWith('data: '))!.slice(6) : text;
  return { status: res.status, type: res.headers.get('content-type') ?? '', json: JSON.parse(data) };
}

const RUN = { account_id: 'a', workspace_id: 'w', id: 'r' };
const REQUESTS: [string, unknown][] = [
  ['tools/list', { jsonrpc: '2.0', id: 1, method: 'tools/list' }],
  ['typed array result', { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'list-logs', arguments: RUN } }],
  ['typed object result', { jsonrpc: '2.0', id: 'x', method: 'tools/call', params: { name: 'first-log', arguments: RUN } }],
  ['text result', { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'download-logs', arguments: RUN } }],
  ['upstream 404', { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'list-logs', arguments: { ...RUN, id: 'missing' } } }],
  ['bad argument', { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'list-logs', arguments: { ...RUN, limit: 'ten' } } }],
  ['unknown tool', { jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'nope', arguments: {} } }],
];

describe('the 2025-era direct path', () => {
  it.each(REQUESTS)('answers %s exactly as the SDK path does', async (_name, body) => {
    const direct = await post(body, true);
    const sdk = await post(body, false);
    expect(direct.status).toBe(200);
    expect(direct.type).toBe('application/json; charset=utf-8');
    expect(direct.json).toEqual(sdk.json);
  });

  it('leaves batches, notifications and 2026 envelopes to the SDK', async () => {
    const notification = await fetch(served.mcpUrl, { method: 'POST', headers: { ...BASE, 'mcp-protocol-version': '2025-11-25' }, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
    expect(notification.status).toBe(202);
  });
});
