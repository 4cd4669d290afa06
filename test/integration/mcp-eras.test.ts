import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendJson, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { serveForTest, type ServeForTest } from '../support/serve.js';

const ARGS = { account_id: 'a', workspace_id: 'w', id: 'f', limit: 2 };
let upstream: FakeUpstream;
let served: ServeForTest;

beforeAll(async () => {
  upstream = await startFakeUpstream((_req, res) => sendJson(res, 200, [{ id: 'l1' }, { id: 'l2' }]));
  served = await serveForTest('capabilities/prefect-download.yaml', { 'prefect-download': upstream.url });
});
afterAll(async () => {
  await served?.running.close();
  await upstream?.close();
});

describe('one stateless /mcp endpoint serves every protocol era', () => {
  it('v1 SDK client negotiates 2025-11-25 through initialize', async () => {
    const transport = new TransportV1(new URL(served.mcpUrl));
    const client = new ClientV1({ name: 'v1', version: '1.0.0' });
    await client.connect(transport);
    expect(transport.protocolVersion).toBe('2025-11-25');
    const result = await client.callTool({ name: 'get-flow-run-logs', arguments: ARGS });
    await client.close();
    expect(result.structuredContent).toEqual({ result: [{ id: 'l1' }, { id: 'l2' }] });
  });

  it('v2 client in auto mode negotiates 2026-07-28 through server/discover', async () => {
    const client = new ClientV2({ name: 'v2', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new TransportV2(new URL(served.mcpUrl)));
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    const { tools } = await client.listTools();
    expect(tools).toHaveLength(3);
    const result = await client.callTool({ name: 'get-flow-run-logs', arguments: ARGS });
    await client.close();
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toEqual({ result: [{ id: 'l1' }, { id: 'l2' }] });
  });

  it('v2 client in its default legacy mode still works', async () => {
    const client = new ClientV2({ name: 'v2-legacy', version: '1.0.0' });
    await client.connect(new TransportV2(new URL(served.mcpUrl)));
    expect(client.getNegotiatedProtocolVersion()).toBe('2025-11-25');
    const result = await client.callTool({ name: 'get-flow-run-logs', arguments: ARGS });
    await client.close();
    expect(result.structuredContent).toEqual({ result: [{ id: 'l1' }, { id: 'l2' }] });
  });

  it('answers malformed JSON with JSON-RPC -32700', async () => {
    const res = await fetch(served.mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: '{"jsonrpc": "2.0", "id": 1,',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
  });

  it('answers an unknown tool with JSON-RPC -32602', async () => {
    const client = new ClientV1({ name: 'v1', version: '1.0.0' });
    await client.connect(new TransportV1(new URL(served.mcpUrl)));
    await expect(client.callTool({ name: 'no-such-tool', arguments: {} })).rejects.toMatchObject({ code: -32602 });
    await client.close();
  });
});
