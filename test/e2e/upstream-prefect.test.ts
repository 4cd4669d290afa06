import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli, type StartedCli } from '../support/cli.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { requirePrefect } from '../support/global-setup.js';
import { createLogs, downloadLogs, seedFlowRun, type FlowRun } from '../support/prefect-seed.js';
import type { PrefectServerInfo } from '../support/prefect-server.js';
import { startRecordingProxy, type RecordingProxy } from '../support/recording-proxy.js';

// The CSV download through the built CLI against the real Prefect server
// (behind the Cloud-shaped recording proxy), and the cases only a fault
// upstream of ours can produce.

const TOKEN = 'pnu_upstream_e2e';
const HEADER_ROW = 'timestamp,level,flow_run_id,task_run_id,message\r\n';
const LONG = `${'0123456789'.repeat(2500)}!`;
const MANY_LINES = Array.from({ length: 1000 }, (_, i) => `line ${i}, with "quotes"`).join('\n');

let prefect: PrefectServerInfo;
let proxy: RecordingProxy;
let cli: StartedCli;
let empty: FlowRun;
let big: FlowRun;

const cliArgs = (base: string) => [
  'capabilities/prefect-download.yaml', '--base-uri', `prefect-download=${base}`,
  '--port', 'prefect-download-rest=0', '--port', 'prefect-download-mcp=0', '--retry', 'backoff:50ms',
];
const downloadUrl = (c: StartedCli, runId: string) =>
  `${c.restUrl()}/v1/api/accounts/${prefect.accountId}/workspaces/${prefect.workspaceId}/flow-runs/${runId}/logs/download`;

async function callTool(c: StartedCli, name: string, args: Record<string, unknown>) {
  const client = new Client({ name: 'upstream-e2e', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(c.mcpUrl())));
  try {
    return await client.callTool({ name, arguments: args });
  } finally {
    await client.close();
  }
}

beforeAll(async () => {
  prefect = requirePrefect();
  empty = await seedFlowRun(prefect.apiUrl, { flowName: 'upstream-e2e', runName: 'no logs at all', logs: [] });
  big = await seedFlowRun(prefect.apiUrl, { flowName: 'upstream-e2e', runName: 'long messages', logs: [] });
  // OSS keeps `message` in a Text column with no length check (Cloud caps it at 25,000).
  await createLogs(prefect.apiUrl, big.id, [
    { name: 'prefect.flow_runs', level: 20, message: LONG, timestamp: '2026-02-01T00:00:01Z' },
    { name: 'prefect.flow_runs', level: 40, message: MANY_LINES, timestamp: '2026-02-01T00:00:02Z' },
  ]);
  proxy = await startRecordingProxy({ target: prefect.origin, expectedToken: TOKEN });
  cli = await startCli(cliArgs(proxy.url), { PREFECT_API_KEY: TOKEN, NO_PROXY: '127.0.0.1' }, { routes: 3, tools: 3 });
});

afterAll(async () => {
  const code = await cli?.stop();
  await proxy?.close();
  expect(code).toBe(0);
});

describe('CSV download from the real Prefect server', () => {
  it('a flow run with no logs downloads as 200 with only the header row', async () => {
    const res = await fetch(downloadUrl(cli, empty.id));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(await res.text()).toBe(HEADER_ROW);
    expect(parseCsv(HEADER_ROW, { columns: true })).toEqual([]);
  });

  it('over MCP, the download of a run with no logs is the header row plus a notice that there are no logs', async () => {
    const result = await callTool(cli, 'download-flow-run-logs-2', { account_id: prefect.accountId, workspace_id: prefect.workspaceId, id: empty.id });
    expect(result.isError).toBeFalsy();
    expect(result.content).toEqual([
      { type: 'text', text: HEADER_ROW },
      { type: 'text', text: 'no records: the upstream sent only the header row (timestamp, level, flow_run_id, task_run_id, message)' },
    ]);
  });

  it('a message of 25,001 characters and one of 1,000 lines come back byte-exact, one record each', async () => {
    const direct = await downloadLogs(prefect.apiUrl, big.id);
    const res = await fetch(downloadUrl(cli, big.id));
    const body = Buffer.from(await res.arrayBuffer());
    expect(res.status).toBe(200);
    expect(body.equals(direct.body)).toBe(true);
    const records = parseCsv(body, { columns: true }) as { message: string; level: string }[];
    expect(records.map((r) => [r.level, r.message.length])).toEqual([['20', 25_001], ['40', MANY_LINES.length]]);
    expect(records[0]!.message).toBe(LONG);
    expect(records[1]!.message).toBe(MANY_LINES);
    expect(records[1]!.message.split('\n')).toHaveLength(1000);
  });

  it('the real server (3.9) drops NUL bytes from a message before storing it', async () => {
    const run = await seedFlowRun(prefect.apiUrl, { flowName: 'upstream-e2e', runName: 'nul', logs: [] });
    await createLogs(prefect.apiUrl, run.id, [{ name: 'prefect.flow_runs', level: 20, message: 'before\u0000after', timestamp: '2026-02-01T00:00:03Z' }]);
    const records = parseCsv(await (await fetch(downloadUrl(cli, run.id))).text(), { columns: true }) as { message: string }[];
    expect(records.map((r) => r.message)).toEqual(['beforeafter']);
  });

  it('an unknown flow run: the real 404 passes through, tried once', async () => {
    proxy.clear();
    const res = await fetch(downloadUrl(cli, '99999999-9999-4999-8999-999999999999'));
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ detail: 'Flow run not found' });
    expect(proxy.requests).toHaveLength(1);
  });

  it('If-None-Match with the current ETag of a page of logs gives 304 end to end', async () => {
    const page = `${cli.restUrl()}/v1/api/accounts/${prefect.accountId}/workspaces/${prefect.workspaceId}/flow-runs/${big.id}/logs`;
    const first = await fetch(page);
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"/);
    await first.arrayBuffer();
    const again = await fetch(page, { headers: { 'if-none-match': etag! } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
  });
});

describe('what only a fault upstream can send', () => {
  let upstream: FakeUpstream;
  let faulty: StartedCli;
  const csv = `${HEADER_ROW}2026-02-01 00:00:04+00:00,20,${'f'.repeat(8)},,"nul\u0000inside, ""quoted"""\r\n`;

  beforeAll(async () => {
    upstream = await startFakeUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8' }).end(csv);
    });
    faulty = await startCli(cliArgs(upstream.url), { PREFECT_API_KEY: TOKEN, NO_PROXY: '127.0.0.1' }, { routes: 3, tools: 3 });
  });
  afterAll(async () => {
    expect(await faulty?.stop()).toBe(0);
    await upstream?.close();
  });

  it('a message with a NUL byte comes back intact on REST and as one record', async () => {
    const res = await fetch(downloadUrl(faulty, empty.id));
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.equals(Buffer.from(csv))).toBe(true);
    const records = parseCsv(body, { columns: true }) as { message: string }[];
    expect(records.map((r) => r.message)).toEqual(['nul\u0000inside, "quoted"']);
  });

  it('and intact over MCP', async () => {
    const result = await callTool(faulty, 'download-flow-run-logs-2', { account_id: 'a', workspace_id: 'w', id: 'f' });
    expect((result.content as { text: string }[])[0]!.text).toBe(csv);
  });
});
