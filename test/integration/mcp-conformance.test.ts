import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveForTest, type ServeForTest } from '../support/serve.js';
import { REFERENCE, referenceAvailable } from '../support/tutorial.js';

/** Behaviours of the reference engine's MCP tests (spec notes section 3), against ours. */
const KEY = 'k-123';
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-api-key': KEY, 'mcp-protocol-version': '2025-11-25' };
let served: ServeForTest;

beforeAll(async () => {
  served = await serveForTest('test/fixtures/mcp/guarded.yaml', {}, { env: { GUARDED_MCP_KEY: KEY } });
});
afterAll(async () => served?.running.close());

async function rpc(body: unknown, headers: Record<string, string> = HEADERS): Promise<{ status: number; headers: Headers; json: any }> {
  const res = await fetch(served.mcpUrl, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  const data = text.startsWith('event:') ? text.split('\n').find((l) => l.startsWith('data: '))!.slice(6) : text;
  return { status: res.status, headers: res.headers, json: data === '' ? undefined : JSON.parse(data) };
}

describe('MCP behaviours pinned by the reference engine', () => {
  it('initialize names the server after the namespace, answers 2025-11-25 and issues no session (stateless, a documented difference)', async () => {
    const { json, headers } = await rpc({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'c', version: '1' } } });
    expect(json.result.protocolVersion).toBe('2025-11-25');
    expect(json.result.serverInfo.name).toBe('guarded-mcp');
    expect(json.result.instructions).toBe('Mock tools behind an API key.');
    expect(json.result.capabilities.tools).toBeDefined();
    expect(json.result.capabilities.resources).toBeUndefined();
    expect(json.result.capabilities.prompts).toBeUndefined();
    expect(headers.get('mcp-session-id')).toBeNull();
  });

  it('acknowledges notifications/initialized with 202 and no body', async () => {
    const { status, json } = await rpc({ jsonrpc: '2.0', method: 'notifications/initialized' });
    expect(status).toBe(202);
    expect(json).toBeUndefined();
  });

  it('answers an empty body with -32700', async () => {
    const { status, json } = await rpc('');
    expect(status).toBe(400);
    expect(json.error.code).toBe(-32700);
  });

  it('answers an unknown method with -32601, and missing params with -32602', async () => {
    expect((await rpc({ jsonrpc: '2.0', id: 2, method: 'no/such' })).json.error.code).toBe(-32601);
    expect((await rpc({ jsonrpc: '2.0', id: 3, method: 'tools/call' })).json.error.code).toBe(-32602);
  });

  it('answers ping with an empty result on the 2025 era', async () => {
    expect((await rpc({ jsonrpc: '2.0', id: 4, method: 'ping' })).json).toEqual({ jsonrpc: '2.0', id: 4, result: {} });
  });

  it('protects every method with the adapter authentication', async () => {
    const { 'x-api-key': _key, ...without } = HEADERS;
    const denied = await rpc({ jsonrpc: '2.0', id: 5, method: 'tools/list' }, without);
    expect(denied.status).toBe(401);
    expect(denied.json.code).toBe('CAP_AUTH_REQUIRED');
    // An API key has no HTTP authentication scheme to challenge with.
    expect(denied.headers.get('www-authenticate')).toBeNull();
    const wrong = await rpc({ jsonrpc: '2.0', id: 6, method: 'tools/list' }, { ...HEADERS, 'x-api-key': 'k-124' });
    expect(wrong.status).toBe(401);
  });

  it('serves mock tools from their values, with templates over the arguments and declared types', async () => {
    const client = new Client({ name: 'c', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(served.mcpUrl), { requestInit: { headers: { 'x-api-key': KEY } } }));
    const result = await client.callTool({ name: 'echo', arguments: { word: 'a $1 \\n {{word}}' } });
    await client.close();
    expect(result.structuredContent).toEqual({ said: 'you said a $1 \\n {{word}}', length: 12 });
  });
});

describe.runIf(referenceAvailable())('aggregate hints (aggregate-hints-override.yaml)', () => {
  it('derives hints from semantics and lets explicit hints win field by field', async () => {
    const file = join(REFERENCE, 'capabilities/reference-engine/test/resources/aggregates/aggregate-hints-override.yaml');
    const aggregates = await serveForTest(file, { 'mock-api': 'http://127.0.0.1:9' }, { strict: true, env: {} });
    try {
      const client = new Client({ name: 'c', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(aggregates.mcpUrl)));
      const { tools } = await client.listTools();
      await client.close();
      const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
      expect(byName['read-items']!.annotations).toEqual({ readOnlyHint: true, destructiveHint: false, idempotentHint: true });
      expect(byName['read-items-open']!.annotations).toEqual({ readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true });
      expect(byName['delete-item']!.annotations).toEqual({ readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false });
      expect(byName['plain-tool']!.annotations).toBeUndefined();
      expect(byName['delete-item']!.inputSchema).toEqual({ type: 'object', properties: { 'item-id': { type: 'string', description: 'ID of the item to delete' } }, required: ['item-id'] });
      expect(byName['read-items']!.description).toBe('Read all items.');
    } finally {
      await aggregates.running.close();
    }
  });
});
