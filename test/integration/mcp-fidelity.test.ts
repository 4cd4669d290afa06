import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendJson, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { serveForTest, type ServeForTest } from '../support/serve.js';

const FIXTURE = 'test/fixtures/mcp/typed-logs.yaml';
const RUN = { account_id: 'acc', workspace_id: 'ws', id: 'run-1' };
const LOGS = [
  { id: 'l1', level: 20, message: 'started', timestamp: '2026-01-01T00:00:00Z', task_run_id: null, flow_run_id: 'run-1', name: 'x' },
  { id: 'l2', level: '40', message: 'boom', timestamp: '2026-01-01T00:00:01Z', task_run_id: 't1', flow_run_id: 'run-1' },
];
const CAP = 256 * 1024;

let upstream: FakeUpstream;
let served: ServeForTest;
let sentWhenClosed: number | undefined;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  served = await serveForTest(FIXTURE, { prefect: upstream.url });
});
afterAll(async () => {
  await served?.running.close();
  await upstream?.close();
});
beforeEach(() => {
  upstream.seen.length = 0;
  sentWhenClosed = undefined;
  upstream.handle((_req, res) => sendJson(res, 200, LOGS));
});

async function v1(): Promise<ClientV1> {
  const client = new ClientV1({ name: 'fidelity', version: '1.0.0' });
  await client.connect(new TransportV1(new URL(served.mcpUrl)));
  return client;
}

async function v2(): Promise<ClientV2> {
  const client = new ClientV2({ name: 'fidelity', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(new TransportV2(new URL(served.mcpUrl)));
  return client;
}

function texts(result: { content?: unknown }): string[] {
  return (result.content as { text: string }[]).map((c) => c.text);
}

describe('structured output from typed mappings', () => {
  it('advertises an outputSchema and returns structuredContent that validates and equals the mapped data, in both eras', async () => {
    for (const connect of [v1, v2]) {
      const client = await connect();
      const { tools } = await client.listTools();
      const list = tools.find((t) => t.name === 'list-logs')!;
      expect(list.title).toBe('List flow-run logs');
      expect(list.annotations).toEqual({ title: 'List flow-run logs', readOnlyHint: true, openWorldHint: true });
      const validate = new Ajv({ strict: false }).compile(list.outputSchema!);

      const result = await client.callTool({ name: 'list-logs', arguments: { ...RUN, level_ge: 20 } });
      await client.close();
      expect(result.isError).toBeFalsy();
      expect(validate(result.structuredContent)).toBe(true);
      expect(result.structuredContent).toEqual({
        result: [
          { id: 'l1', level: 20, message: 'started', timestamp: '2026-01-01T00:00:00Z', task_run_id: null },
          { id: 'l2', level: 40, message: 'boom', timestamp: '2026-01-01T00:00:01Z', task_run_id: 't1' },
        ],
      });
      expect(JSON.parse(texts(result)[0]!)).toEqual((result.structuredContent as { result: unknown }).result);
    }
  });

  it('returns an object output as the structured content itself, re-scoped under its mapping', async () => {
    const client = await v1();
    const { tools } = await client.listTools();
    const first = tools.find((t) => t.name === 'first-log')!;
    const result = await client.callTool({ name: 'first-log', arguments: RUN });
    await client.close();
    expect(result.structuredContent).toEqual({ message: 'started', level: 20, run: { flow_run_id: 'run-1' } });
    expect(new Ajv({ strict: false }).compile(first.outputSchema!)(result.structuredContent)).toBe(true);
    expect(upstream.seen[0]!.target).toBe('/api/accounts/acc/workspaces/ws/flow_runs/run-1/logs?limit=1');
  });

  it('keeps the schema valid when the upstream lacks fields (nullable by construction)', async () => {
    upstream.handle((_req, res) => sendJson(res, 200, [{ id: 7 }]));
    const client = await v2();
    const result = await client.callTool({ name: 'list-logs', arguments: RUN });
    await client.close();
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toEqual({ result: [{ id: '7', level: null, message: null, timestamp: null, task_run_id: null }] });
  });
});

describe('arguments are checked before any upstream call', () => {
  it('names the argument, the expected type and the value for limit: "ten"', async () => {
    const client = await v1();
    const result = await client.callTool({ name: 'list-logs', arguments: { ...RUN, limit: 'ten' } });
    await client.close();
    expect(result.isError).toBe(true);
    expect(texts(result)[0]).toBe('CAP_INPUT_INVALID: argument "limit" must be integer; received "ten"');
    expect(upstream.seen).toHaveLength(0);
  });

  it('names a missing id', async () => {
    const client = await v2();
    const result = await client.callTool({ name: 'list-logs', arguments: { account_id: 'acc', workspace_id: 'ws' } });
    await client.close();
    expect(result.isError).toBe(true);
    expect(texts(result)[0]).toBe('CAP_INPUT_MISSING: argument "id" is required (expected string); received nothing');
    expect(upstream.seen).toHaveLength(0);
  });

  it('refuses numbers JSON can hold but the upstream would get rewritten: 1e400 and past 2^53', async () => {
    for (const limit of ['1e400', '12345678901234567890']) {
      const res = await fetch(served.mcpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' },
        body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list-logs","arguments":{"account_id":"a","workspace_id":"w","id":"r","limit":${limit}}}}`,
      });
      const body = (await res.json()) as { result: { isError: boolean; content: { text: string }[] } };
      expect(body.result.isError).toBe(true);
      expect(body.result.content[0]!.text).toMatch(/^CAP_INPUT_INVALID: argument "limit" must be integer \(must be a finite integer within ±2\^53\); received /);
    }
    expect(upstream.seen).toHaveLength(0);
  });
});

describe('bounded results', () => {
  function streamCsv(totalBytes: number): void {
    upstream.handle(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8' });
      let sent = 0;
      let row = 0;
      res.on('close', () => (sentWhenClosed ??= sent));
      res.write('timestamp,level,message\r\n');
      while (sent < totalBytes && !res.destroyed) {
        let chunk = '';
        while (chunk.length < 16 * 1024) {
          chunk += `2026-01-01 00:00:${String(row % 60).padStart(2, '0')}+00:00,20,"row ${row}, with ""quotes""\nand a second line"\r\n`;
          row++;
        }
        sent += Buffer.byteLength(chunk);
        if (!res.write(chunk)) await new Promise((r) => res.once('drain', r).once('close', r));
        // Paced like a database-backed export: loopback TCP buffers can hold
        // megabytes, and a burst would measure the kernel, not our reader.
        await new Promise((r) => setTimeout(r, 2));
      }
      res.end();
    });
  }

  it('cuts a 5 MB CSV to whole rows under the cap, with a notice, and stops reading the upstream', async () => {
    streamCsv(5 * 1024 * 1024);
    const client = await v1();
    const result = await client.callTool({ name: 'download-logs', arguments: RUN });
    await client.close();
    const [body, notice] = texts(result);
    expect(result.isError).toBeFalsy();
    expect(Buffer.byteLength(body!)).toBeLessThanOrEqual(CAP);
    expect(body!.startsWith('timestamp,level,message\r\n')).toBe(true);
    expect(body!.endsWith('and a second line"\r\n')).toBe(true);
    const rows = body!.split('and a second line"\r\n').length - 1;
    expect(rows).toBeGreaterThan(1000);
    expect(body).toContain(`"row ${rows - 1}, with ""quotes""\nand a second line"\r\n`);
    expect(body).not.toContain(`"row ${rows}, with`);
    expect(notice).toMatch(/^\[result cut: the first \d+ of more than \d+ bytes, whole rows only;/);
    await new Promise((r) => setTimeout(r, 200));
    expect(sentWhenClosed).toBeDefined();
    expect(sentWhenClosed!).toBeLessThan(CAP + 1024 * 1024);
  });

  it('cuts a 5 MB JSON array to whole items that still validate', async () => {
    const big = Array.from({ length: 20_000 }, (_v, i) => ({ id: `log-${i}`, level: 20, message: 'x'.repeat(220), timestamp: '2026-01-01T00:00:00Z', task_run_id: null }));
    upstream.handle((_req, res) => sendJson(res, 200, big));
    const client = await v1();
    const { tools } = await client.listTools();
    const result = await client.callTool({ name: 'list-logs', arguments: RUN });
    await client.close();
    const [json, notice] = texts(result);
    const items = JSON.parse(json!) as { id: string }[];
    expect(Buffer.byteLength(json!)).toBeLessThanOrEqual(CAP);
    expect(items.length).toBeGreaterThan(500);
    expect(items.map((i) => i.id)).toEqual(big.slice(0, items.length).map((i) => i.id));
    expect(notice).toBe(`[result cut: ${items.length} of 20000 items kept to stay under ${CAP} bytes; ask for fewer (offset/limit, narrower filters) to get the rest]`);
    const schema = tools.find((t) => t.name === 'list-logs')!.outputSchema!;
    expect(new Ajv({ strict: false }).compile(schema)(result.structuredContent)).toBe(true);
  });
});

describe('resources and prompts', () => {
  it('lists static files and templates, and reads both kinds', async () => {
    const client = await v1();
    const { resources } = await client.listResources();
    expect(resources).toEqual([
      { uri: 'docs://guides/reading-logs.md', name: 'guides/reading-logs.md', title: 'Guides', description: 'Static guides shipped beside the capability', mimeType: 'text/markdown' },
    ]);
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates).toEqual([
      { uriTemplate: 'prefect://runs/{id}/logs', name: 'run-logs', title: 'Flow-run logs', description: "First page of a flow run's logs", mimeType: 'application/json' },
    ]);
    const file = await client.readResource({ uri: 'docs://guides/reading-logs.md' });
    expect(file.contents).toEqual([{ uri: 'docs://guides/reading-logs.md', mimeType: 'text/markdown', text: '# Reading Prefect logs\n\nLevels: 10 debug to 50 critical.\n' }]);
    const dynamic = await client.readResource({ uri: 'prefect://runs/run-9/logs' });
    expect(JSON.parse((dynamic.contents[0] as { text: string }).text)).toEqual(LOGS);
    expect(upstream.seen[0]!.target).toBe('/api/accounts/acc/workspaces/ws/flow_runs/run-9/logs');
    await expect(client.readResource({ uri: 'docs://guides/../typed-logs.yaml' })).rejects.toMatchObject({ code: -32602 });
    await client.close();
  });

  it('serves prompt templates with their arguments', async () => {
    const client = await v2();
    const { prompts } = await client.listPrompts();
    expect(prompts).toEqual([
      {
        name: 'triage',
        title: 'Triage a run',
        description: 'Ask for a triage of a failing flow run',
        arguments: [
          { name: 'run_id', description: 'Flow run UUID', required: true },
          { name: 'focus', description: 'What to focus on', required: false },
        ],
      },
    ]);
    const got = await client.getPrompt({ name: 'triage', arguments: { run_id: 'r-1', focus: 'the {{run_id}} errors' } });
    expect(got.messages).toEqual([
      { role: 'user', content: { type: 'text', text: 'Triage flow run r-1 focusing on the {{run_id}} errors. Keep {{unknown}} as written.' } },
      { role: 'assistant', content: { type: 'text', text: 'I will read its logs first.' } },
    ]);
    await expect(client.getPrompt({ name: 'triage', arguments: {} })).rejects.toMatchObject({ code: -32602 });
    await client.close();
  });
});
