import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { request } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendJson, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { serveForTest, type ServeForTest } from '../support/serve.js';

const CAPABILITY = 'capabilities/prefect-download.yaml';
const A = '11111111-1111-4111-8111-111111111111';
const W = '22222222-2222-4222-8222-222222222222';
const F = '33333333-3333-4333-8333-333333333333';
const LOGS_PATH = `/v1/api/accounts/${A}/workspaces/${W}/flow-runs/${F}/logs`;
const UPSTREAM_LOGS = `/api/accounts/${A}/workspaces/${W}/flow_runs/${F}/logs`;

let upstream: FakeUpstream;
let served: ServeForTest;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  served = await serveForTest(CAPABILITY, { 'prefect-download': upstream.url });
});
afterAll(async () => {
  await served?.running.close();
  await upstream?.close();
});
beforeEach(() => {
  upstream.seen.length = 0;
  upstream.handle((_req, res) => sendJson(res, 200, [{ id: 'log-1', level: 40 }]));
});

describe('REST adapter over the generated Prefect capability', () => {
  it('collects undeclared path and query inputs and sends them typed, with the bearer token', async () => {
    const res = await fetch(`${served.restUrl}${LOGS_PATH}?limit=5&level_ge=30&sort=TIMESTAMP_DESC`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([{ id: 'log-1', level: 40 }]);
    expect(upstream.seen).toHaveLength(1);
    expect(upstream.seen[0]!.target).toBe(`${UPSTREAM_LOGS}?level_ge=30&sort=TIMESTAMP_DESC&limit=5`);
    expect(upstream.seen[0]!.headers.authorization).toBe('Bearer pnu_test_key');
  });

  it('refuses ?limit=ten naming the parameter, without calling the upstream', async () => {
    const res = await fetch(`${served.restUrl}${LOGS_PATH}?limit=ten`);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.code).toBe('CAP_INPUT_INVALID');
    expect(body.parameter).toBe('limit');
    expect(body.detail).toContain('"limit"');
    expect(body.received).toBe('ten');
    expect(upstream.seen).toHaveLength(0);
  });

  it('forwards If-None-Match as the declared header and passes a 304 through without a body', async () => {
    upstream.handle((_req, res) => res.writeHead(304, { etag: '"v1"' }).end());
    const res = await fetch(`${served.restUrl}${LOGS_PATH}`, { headers: { 'if-none-match': '"v1"' } });
    expect(res.status).toBe(304);
    expect(res.headers.get('etag')).toBe('"v1"');
    expect(upstream.seen[0]!.headers['if-none-match']).toBe('"v1"');
  });

  it('streams a CSV body through with its status, type and disposition', async () => {
    const csv = 'timestamp,level,flow_run_id,task_run_id,message\r\n2026-01-01 00:00:00+00:00,20,x,,"a, ""b"""\r\n';
    upstream.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': 'attachment; filename="flow-run-logs.csv"' });
      res.end(csv);
    });
    const res = await fetch(`${served.restUrl}${LOGS_PATH}/download`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="flow-run-logs.csv"');
    expect(await res.text()).toBe(csv);
  });

  it('passes an upstream 404 through with its body', async () => {
    upstream.handle((_req, res) => sendJson(res, 404, { detail: 'Flow run not found' }));
    const res = await fetch(`${served.restUrl}${LOGS_PATH}`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ detail: 'Flow run not found' });
  });

  it('answers 502 CAP_UPSTREAM_AUTH when the upstream refuses our credentials', async () => {
    upstream.handle((_req, res) => sendJson(res, 401, { detail: 'Invalid API key' }));
    const res = await fetch(`${served.restUrl}${LOGS_PATH}`);
    expect(res.status).toBe(502);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.code).toBe('CAP_UPSTREAM_AUTH');
    expect(body.upstreamStatus).toBe(401);
    expect(JSON.stringify(body)).not.toContain('pnu_test_key');
  });

  it('refuses a path value of ".." instead of letting URL parsing climb a level', async () => {
    // fetch() would collapse the segment itself, so send the request line raw.
    const res = await rawGet(`${served.restUrl}/v1/api/accounts/${A}/workspaces/${W}/flow-runs/%2E%2E/logs`);
    expect(res.status).toBe(400);
    expect((JSON.parse(res.body) as { parameter: string }).parameter).toBe('id');
    expect(upstream.seen).toHaveLength(0);
  });

  it.each(['0x10', '1e3', '+5', '05', ' 5', '5.0', '99999999999999999999999'])('refuses ?limit=%s rather than sending a rewritten number', async (limit) => {
    const res = await fetch(`${served.restUrl}${LOGS_PATH}?limit=${encodeURIComponent(limit)}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { parameter: string }).parameter).toBe('limit');
    expect(upstream.seen).toHaveLength(0);
  });

  it('masks our bound secret when an upstream error page echoes it, on REST and MCP', async () => {
    upstream.handle((req, res) => sendJson(res, 500, { detail: `auth header was ${req.headers.authorization}` }));
    const res = await fetch(`${served.restUrl}${LOGS_PATH}`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ detail: 'auth header was Bearer [redacted]' });
    const client = new ClientV1({ name: 't', version: '1' });
    await client.connect(new TransportV1(new URL(served.mcpUrl)));
    const result = await client.callTool({ name: 'get-flow-run-logs', arguments: { account_id: A, workspace_id: W, id: F } });
    await client.close();
    expect((result.content as { text: string }[])[0]!.text).toBe('upstream returned HTTP 500: {"detail":"auth header was Bearer [redacted]"}');
  });

  it('refuses a foreign Host (DNS rebinding) before any upstream call', async () => {
    const { request: undiciRequest } = await import('undici');
    const res = await undiciRequest(`${served.restUrl}${LOGS_PATH}`, { headers: { host: 'evil.example.com' } });
    expect(res.statusCode).toBe(403);
    expect(((await res.body.json()) as { code: string }).code).toBe('CAP_HOST_NOT_ALLOWED');
    expect(upstream.seen).toHaveLength(0);
  });

  it('answers 404 problem+json for an unknown route and 405 with Allow for a wrong method', async () => {
    const missing = await fetch(`${served.restUrl}/v1/nothing`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { code: string }).code).toBe('CAP_ROUTE_NOT_FOUND');
    const wrong = await fetch(`${served.restUrl}${LOGS_PATH}`, { method: 'DELETE' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET');
  });
});

function rawGet(url: string): Promise<{ status: number; body: string }> {
  const { hostname, port, pathname } = new URL(url.replace('%2E%2E', 'DOTDOT'));
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path: pathname.replace('DOTDOT', '%2E%2E') }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject).end();
  });
}

describe('MCP adapter over the generated Prefect capability', () => {
  async function connect(): Promise<ClientV1> {
    const client = new ClientV1({ name: 'test', version: '1.0.0' });
    await client.connect(new TransportV1(new URL(served.mcpUrl)));
    return client;
  }

  it('derives input schemas from the consumed parameters', async () => {
    const client = await connect();
    const { tools } = await client.listTools();
    await client.close();
    expect(tools.map((t) => t.name)).toEqual(['download-flow-run-logs', 'get-flow-run-logs', 'download-flow-run-logs-2']);
    const logs = tools[1]!;
    expect(logs.inputSchema.required).toEqual(['account_id', 'workspace_id', 'id']);
    expect(logs.inputSchema.properties).toMatchObject({
      limit: { type: 'integer', description: 'Defaults to PREFECT_ORION_API_DEFAULT_LIMIT if not provided.' },
      level_ge: { type: 'string' },
      offset: { type: 'integer' },
    });
    expect(logs.annotations).toEqual({ readOnlyHint: true, destructiveHint: false, idempotentHint: true });
    expect(logs.outputSchema).toBeUndefined();
  });

  it('calls the upstream and returns the JSON both as text and as structuredContent.result', async () => {
    const client = await connect();
    const result = await client.callTool({ name: 'get-flow-run-logs', arguments: { account_id: A, workspace_id: W, id: F, limit: 5, level_ge: '30' } });
    await client.close();
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toEqual({ result: [{ id: 'log-1', level: 40 }] });
    expect(result.content).toEqual([{ type: 'text', text: '[{"id":"log-1","level":40}]' }]);
    expect(upstream.seen[0]!.target).toBe(`${UPSTREAM_LOGS}?level_ge=30&limit=5`);
  });

  it('refuses level_ge given as a number, naming it, with no upstream call', async () => {
    const client = await connect();
    const result = await client.callTool({ name: 'get-flow-run-logs', arguments: { account_id: A, workspace_id: W, id: F, level_ge: 30 } });
    await client.close();
    expect(result.isError).toBe(true);
    const text = (result.content as { text: string }[])[0]!.text;
    expect(text).toContain('"level_ge"');
    expect(text).toContain('string');
    expect(text).toContain('received 30');
    expect(upstream.seen).toHaveLength(0);
  });

  it('reports an upstream 404 as isError naming the status', async () => {
    upstream.handle((_req, res) => sendJson(res, 404, { detail: 'Flow run not found' }));
    const client = await connect();
    const result = await client.callTool({ name: 'get-flow-run-logs', arguments: { account_id: A, workspace_id: W, id: F } });
    await client.close();
    expect(result.isError).toBe(true);
    expect((result.content as { text: string }[])[0]!.text).toBe('upstream returned HTTP 404: {"detail":"Flow run not found"}');
  });

  it('refuses an id of ".." naming it, with no upstream call', async () => {
    const client = await connect();
    const result = await client.callTool({ name: 'get-flow-run-logs', arguments: { account_id: A, workspace_id: W, id: '..' } });
    await client.close();
    expect(result.isError).toBe(true);
    expect((result.content as { text: string }[])[0]!.text).toContain('path parameter "id" must not be ".."');
    expect(upstream.seen).toHaveLength(0);
  });

  it('returns a CSV download as text only', async () => {
    upstream.handle((_req, res) => res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8' }).end('timestamp,level\r\n2026-01-01,20\r\n'));
    const client = await connect();
    const result = await client.callTool({ name: 'download-flow-run-logs-2', arguments: { account_id: A, workspace_id: W, id: F } });
    await client.close();
    expect(result.structuredContent).toBeUndefined();
    expect(result.content).toEqual([{ type: 'text', text: 'timestamp,level\r\n2026-01-01,20\r\n' }]);
  });
});

describe('configuration typos', () => {
  it('refuses --base-uri and --port for namespaces the file does not have', async () => {
    const { serveCapability } = await import('../../src/cli/serve.js');
    const { createLogger } = await import('../../src/logging/logger.js');
    const base = { file: CAPABILITY, strict: false, host: '127.0.0.1', logLevel: 'silent', stdio: false, allowedHosts: [], mcpResultCapBytes: undefined };
    const env = { PREFECT_API_KEY: 'k' };
    await expect(serveCapability({ ...base, baseUris: new Map([['prefect-downlaod', 'http://127.0.0.1:9']]), ports: new Map() } as never, createLogger({ level: 'silent' }), env, '0'))
      .rejects.toMatchObject({ code: 'CAP_CONFIG_USAGE', message: expect.stringContaining('--base-uri names "prefect-downlaod"') });
    await expect(serveCapability({ ...base, baseUris: new Map([['prefect-download', 'http://127.0.0.1:9']]), ports: new Map([['nosuch', 0]]) } as never, createLogger({ level: 'silent' }), env, '0'))
      .rejects.toMatchObject({ code: 'CAP_CONFIG_USAGE', message: expect.stringContaining('known: prefect-download-rest, prefect-download-mcp') });
  });
});
