import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirePrefect } from '../support/global-setup.js';
import { runCliOnce, startCli, type StartedCli } from '../support/cli.js';
import { downloadLogs, filterLogs, seedFlowRun, type FlowRun, type LogInput } from '../support/prefect-seed.js';
import { headerValues, startRecordingProxy, type RecordingProxy } from '../support/recording-proxy.js';
import type { PrefectServerInfo } from '../support/prefect-server.js';

const TOKEN = 'pnu_e2e_secret_token';
const MESSAGES = [
  'flow started',
  'has, a comma',
  'says "quoted" words',
  'first line\nsecond line',
  'non-ASCII: naïve café — 日本語 🚀',
  'warning: disk at 91%',
  'error: task failed',
  'critical: giving up',
  'debug detail',
  'retrying task',
  'another warning',
  'flow finished',
];
const LEVELS = [20, 20, 30, 40, 20, 30, 40, 50, 10, 30, 30, 20];

let prefect: PrefectServerInfo;
let proxy: RecordingProxy;
let run: FlowRun;
let cli: StartedCli;

function logsOf(runId: string): LogInput[] {
  return MESSAGES.map((message, i) => ({
    name: 'prefect.flow_runs',
    level: LEVELS[i]!,
    message,
    timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i, 250)).toISOString(),
    flow_run_id: runId,
    task_run_id: i % 3 === 0 ? '5d6f2c1e-0000-4000-8000-000000000000' : null,
  }));
}

function routePath(url: string, runId = run.id): string {
  return url
    .replace('{account-id}', prefect.accountId)
    .replace('{workspace-id}', prefect.workspaceId)
    .replace('{id}', runId);
}

const restBase = () => `${cli.restUrl()}/v1/api/accounts/${prefect.accountId}/workspaces/${prefect.workspaceId}/flow-runs`;
const args = (id = run.id) => ({ account_id: prefect.accountId, workspace_id: prefect.workspaceId, id });

beforeAll(async () => {
  prefect = requirePrefect();
  run = await seedFlowRun(prefect.apiUrl, { flowName: 'e2e-main-job', runName: 'main job, "seeded" run', logs: [] });
  await seedFlowRun(prefect.apiUrl, { flowName: 'e2e-main-job', runName: 'other', logs: [] });
  const { createLogs } = await import('../support/prefect-seed.js');
  await createLogs(prefect.apiUrl, run.id, logsOf(run.id));

  proxy = await startRecordingProxy({ target: prefect.origin, expectedToken: TOKEN });
  cli = await startCli(
    ['capabilities/prefect-download.yaml', '--base-uri', `prefect-download=${proxy.url}`, '--port', 'prefect-download-rest=0', '--port', 'prefect-download-mcp=0'],
    { PREFECT_API_KEY: TOKEN },
    { routes: 3, tools: 3 },
  );
});

afterAll(async () => {
  const code = await cli?.stop();
  await proxy?.close();
  expect(code).toBe(0);
});

describe('the main job against the real Prefect server', () => {
  it('serves every URL its start-up log lists, and never logs the token', async () => {
    expect(cli.routes).toHaveLength(3);
    for (const line of cli.routes) {
      const url = line.split(' ')[2]!;
      const res = await fetch(routePath(url));
      expect(res.status, url).toBe(200);
      await res.arrayBuffer();
    }
    expect(cli.tools.map((t) => t.split(' ')[1])).toEqual(['download-flow-run-logs', 'get-flow-run-logs', 'download-flow-run-logs-2']);
    expect(cli.lines.join('\n')).not.toContain(TOKEN);
  });

  it('downloads the CSV byte for byte as the real server writes it', async () => {
    const direct = await downloadLogs(prefect.apiUrl, run.id);
    const res = await fetch(`${restBase()}/${run.id}/logs/download`);
    const body = Buffer.from(await res.arrayBuffer());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe(direct.headers['content-disposition']);
    expect(res.headers.get('content-disposition')).toContain('attachment;');
    expect(body.toString('utf8').split('\r\n')[0]).toBe('timestamp,level,flow_run_id,task_run_id,message');
    expect(body.equals(direct.body)).toBe(true);
    const text = body.toString('utf8');
    expect(text).toContain('"has, a comma"');
    expect(text).toContain('"says ""quoted"" words"');
    expect(text).toContain('"first line\nsecond line"');
    expect(text).toContain('non-ASCII: naïve café — 日本語 🚀');
    expect(text.trimEnd().split('\r\n')).toHaveLength(MESSAGES.length + 1);
  });

  it.each([
    ['limit=5&level_ge=30', { limit: 5, logs: { level: { ge_: 30 } } }],
    ['limit=5&level_ge=30&offset=2', { limit: 5, offset: 2, logs: { level: { ge_: 30 } } }],
    ['limit=5&level_ge=30&sort=TIMESTAMP_DESC', { limit: 5, sort: 'TIMESTAMP_DESC', logs: { level: { ge_: 30 } } }],
  ] as const)('GET logs?%s equals POST logs/filter, in one upstream request with the token', async (query, filter) => {
    const expected = await filterLogs(prefect.apiUrl, {
      ...filter,
      logs: { ...filter.logs, flow_run_id: { any_: [run.id] } },
    } as never);
    proxy.clear();
    const res = await fetch(`${restBase()}/${run.id}/logs?${query}`);
    expect(res.status).toBe(200);
    const got = (await res.json()) as { id: string }[];
    expect(got.map((l) => l.id)).toEqual(expected.map((l) => l.id));
    expect(expected.length).toBeGreaterThan(0);
    expect(proxy.requests).toHaveLength(1);
    const seen = proxy.requests[0]!;
    expect(seen.target).toBe(`${prefect.basePath}/flow_runs/${run.id}/logs?${reorder(query)}`);
    expect(headerValues(seen, 'authorization')).toEqual([`Bearer ${TOKEN}`]);
  });

  it('lists the tools to a v1 client (2025-11-25) and a v2 client (2026-07-28) and calls them', async () => {
    const v1Transport = new TransportV1(new URL(cli.mcpUrl()));
    const v1 = new ClientV1({ name: 'e2e-v1', version: '1.0.0' });
    await v1.connect(v1Transport);
    const v2 = new ClientV2({ name: 'e2e-v2', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await v2.connect(new TransportV2(new URL(cli.mcpUrl())));
    expect(v1Transport.protocolVersion).toBe('2025-11-25');
    expect(v2.getNegotiatedProtocolVersion()).toBe('2026-07-28');

    const rest = (await (await fetch(`${restBase()}/${run.id}/logs?level_ge=30`)).json()) as { id: string }[];
    for (const client of [v1, v2] as const) {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(['download-flow-run-logs', 'get-flow-run-logs', 'download-flow-run-logs-2']);
      for (const tool of tools) {
        expect(tool.inputSchema.required).toEqual(['account_id', 'workspace_id', 'id']);
        expect(tool.annotations).toEqual({ readOnlyHint: true, destructiveHint: false, idempotentHint: true });
      }
      const logs = tools[1]!.inputSchema.properties as Record<string, { type: string }>;
      expect(Object.keys(logs)).toEqual(['account_id', 'workspace_id', 'id', 'level_ge', 'level_le', 'offset', 'sort', 'since', 'until', 'task_runs', 'task_runs_is_null', 'loggers', 'text_query', 'limit', 'if-none-match']);
      expect(logs.limit!.type).toBe('integer');
      expect(logs.offset!.type).toBe('integer');
      expect(logs.level_ge!.type).toBe('string');

      const result = await client.callTool({ name: 'get-flow-run-logs', arguments: { ...args(), level_ge: '30' } });
      expect(result.isError).toBeFalsy();
      const ids = ((result.structuredContent as { result: { id: string }[] }).result).map((l) => l.id);
      expect(ids).toEqual(rest.map((l) => l.id));
      expect(ids.length).toBe(LEVELS.filter((l) => l >= 30).length);
    }
    await v1.close();
    await v2.close();
  });

  it('passes an unknown flow run 404 through on REST and reports it as isError on MCP', async () => {
    const unknown = '99999999-9999-4999-8999-999999999999';
    const res = await fetch(`${restBase()}/${unknown}/logs/download`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ detail: 'Flow run not found' });

    const client = new ClientV1({ name: 'e2e', version: '1.0.0' });
    await client.connect(new TransportV1(new URL(cli.mcpUrl())));
    const result = await client.callTool({ name: 'get-flow-run-logs', arguments: args(unknown) });
    await client.close();
    expect(result.isError).toBe(true);
    expect((result.content as { text: string }[])[0]!.text).toContain('HTTP 404');
    expect((await fetch(`${restBase()}/${run.id}/logs?limit=1`)).status).toBe(200);
  });

  it('turns a refused API key into 502 CAP_UPSTREAM_AUTH and an isError about credentials', async () => {
    proxy.setExpectedToken('pnu_some_other_key');
    try {
      const res = await fetch(`${restBase()}/${run.id}/logs`);
      expect(res.status).toBe(502);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      const problem = (await res.json()) as { code: string; upstreamStatus: number };
      expect(problem).toMatchObject({ code: 'CAP_UPSTREAM_AUTH', upstreamStatus: 401 });

      const client = new ClientV1({ name: 'e2e', version: '1.0.0' });
      await client.connect(new TransportV1(new URL(cli.mcpUrl())));
      const result = await client.callTool({ name: 'get-flow-run-logs', arguments: args() });
      await client.close();
      expect(result.isError).toBe(true);
      expect((result.content as { text: string }[])[0]!.text).toMatch(/CAP_UPSTREAM_AUTH.*refused the runtime's credentials/);
    } finally {
      proxy.setExpectedToken(TOKEN);
    }
    expect((await fetch(`${restBase()}/${run.id}/logs?limit=1`)).status).toBe(200);
  });
});

describe('failure and configuration cases', () => {
  it('answers 502 on REST and isError on MCP when the upstream is down, and keeps serving', async () => {
    const down = await startCli(
      ['capabilities/prefect-download.yaml', '--base-uri', 'prefect-download=http://127.0.0.1:9', '--port', 'prefect-download-rest=0', '--port', 'prefect-download-mcp=0'],
      { PREFECT_API_KEY: TOKEN },
      { routes: 3, tools: 3 },
    );
    try {
      const base = `${down.restUrl()}/v1/api/accounts/a/workspaces/w/flow-runs/f/logs`;
      for (let i = 0; i < 2; i++) {
        const res = await fetch(base);
        expect(res.status).toBe(502);
        expect(((await res.json()) as { code: string }).code).toBe('CAP_UPSTREAM_UNREACHABLE');
      }
      const client = new ClientV1({ name: 'e2e', version: '1.0.0' });
      await client.connect(new TransportV1(new URL(down.mcpUrl())));
      const result = await client.callTool({ name: 'get-flow-run-logs', arguments: { account_id: 'a', workspace_id: 'w', id: 'f' } });
      await client.close();
      expect(result.isError).toBe(true);
      expect((result.content as { text: string }[])[0]!.text).toContain('CAP_UPSTREAM_UNREACHABLE');
    } finally {
      expect(await down.stop()).toBe(0);
    }
  });

  it('serves the published file as it is with --base-uri, sending no Authorization', async () => {
    // Our committed verbatim copy (test/unit/spec/schema.test.ts checks it against shared/).
    const published = 'test/fixtures/specs/schema/prefect-download.generated.yaml';
    proxy.setExpectedToken(undefined);
    const plain = await startCli(
      [published, '--base-uri', `prefect-download=${proxy.url}`, '--port', 'prefect-download-rest=0', '--port', 'prefect-download-mcp=0'],
      { PREFECT_API_KEY: TOKEN },
      { routes: 3, tools: 3 },
    );
    try {
      expect(plain.routes.map((r) => r.replace(/http:\/\/[^/]+/, ''))).toEqual(cli.routes.map((r) => r.replace(/http:\/\/[^/]+/, '')));
      expect(plain.tools.map((t) => t.split(' ')[1])).toEqual(cli.tools.map((t) => t.split(' ')[1]));
      proxy.clear();
      const res = await fetch(`${plain.restUrl()}/v1/api/accounts/${prefect.accountId}/workspaces/${prefect.workspaceId}/flow-runs/${run.id}/logs/download`);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      expect(proxy.requests).toHaveLength(1);
      expect(headerValues(proxy.requests[0]!, 'authorization')).toEqual([]);
    } finally {
      proxy.setExpectedToken(TOKEN);
      await plain.stop();
    }
  });

  it('refuses to start the published file without a base URI, naming the namespace and both ways to set it', async () => {
    // Our committed verbatim copy (test/unit/spec/schema.test.ts checks it against shared/).
    const published = 'test/fixtures/specs/schema/prefect-download.generated.yaml';
    const { code, stderr } = await runCliOnce([published], { PREFECT_API_KEY: TOKEN });
    expect(code).toBe(1);
    expect(stderr).toContain('CAP_CONFIG_BASE_URI');
    expect(stderr).toContain('"prefect-download"');
    expect(stderr).toContain('--base-uri prefect-download=<url>');
    expect(stderr).toContain('NAFTIKO_BASE_URI_PREFECT_DOWNLOAD');
  });
});

/** The runtime sends query parameters in the order the consumed operation declares them. */
function reorder(query: string): string {
  const order = ['level_ge', 'level_le', 'offset', 'sort', 'since', 'until', 'task_runs', 'task_runs_is_null', 'loggers', 'text_query', 'limit'];
  const pairs = query.split('&').map((p) => p.split('=') as [string, string]);
  pairs.sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0]));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}
