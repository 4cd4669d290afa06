import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirePrefect } from '../support/global-setup.js';
import { createLogs, filterLogs, seedFlowRun, type FlowRun } from '../support/prefect-seed.js';
import type { PrefectServerInfo } from '../support/prefect-server.js';
import { startRecordingProxy, type RecordingProxy } from '../support/recording-proxy.js';
import { serveForTest, type ServeForTest } from '../support/serve.js';

const TOKEN = 'pnu_mcp_e2e';
let prefect: PrefectServerInfo;
let proxy: RecordingProxy;
let run: FlowRun;
let typed: ServeForTest;
let generated: ServeForTest;

beforeAll(async () => {
  prefect = requirePrefect();
  run = await seedFlowRun(prefect.apiUrl, { flowName: 'mcp-e2e', runName: 'mcp run', logs: [] });
  await createLogs(
    prefect.apiUrl,
    run.id,
    [10, 20, 30, 40, 50, 20].map((level, i) => ({
      name: 'prefect.task_runs',
      level,
      message: `message ${i}, level ${level}`,
      timestamp: new Date(Date.UTC(2026, 1, 1, 8, 0, i)).toISOString(),
      task_run_id: i % 2 === 0 ? null : '5d6f2c1e-0000-4000-8000-00000000000' + i,
    })),
  );
  proxy = await startRecordingProxy({ target: prefect.origin, expectedToken: TOKEN });
  const env = { PREFECT_API_KEY: TOKEN };
  typed = await serveForTest('test/fixtures/mcp/typed-logs.yaml', { prefect: proxy.url }, { env });
  generated = await serveForTest('capabilities/prefect-download.yaml', { 'prefect-download': proxy.url }, { env });
});
afterAll(async () => {
  await typed?.running.close();
  await generated?.running.close();
  await proxy?.close();
});

const ids = () => ({ account_id: prefect.accountId, workspace_id: prefect.workspaceId, id: run.id });

async function clients(url: string) {
  const v1 = new ClientV1({ name: 'e2e-v1', version: '1.0.0' });
  await v1.connect(new TransportV1(new URL(url)));
  const v2 = new ClientV2({ name: 'e2e-v2', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await v2.connect(new TransportV2(new URL(url)));
  return [v1, v2] as const;
}

describe('MCP structured output against the real Prefect server', () => {
  it('typed tools advertise an outputSchema whose structuredContent validates and equals the mapped real data, in both eras', async () => {
    const expected = await filterLogs(prefect.apiUrl, { limit: 4, logs: { flow_run_id: { any_: [run.id] }, level: { ge_: 20 } } } as never);
    expect(expected).toHaveLength(4);
    const [v1, v2] = await clients(typed.mcpUrl);
    expect(v2.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    for (const client of [v1, v2]) {
      const { tools } = await client.listTools();
      const schemaOf = (name: string) => tools.find((t) => t.name === name)!.outputSchema!;
      const list = await client.callTool({ name: 'list-logs', arguments: { ...ids(), level_ge: 20, limit: 4 } });
      expect(list.isError).toBeFalsy();
      expect(new Ajv({ strict: false }).compile(schemaOf('list-logs'))(list.structuredContent)).toBe(true);
      expect(list.structuredContent).toEqual({
        result: expected.map((l) => ({ id: l.id, level: l.level, message: l.message, timestamp: l.timestamp, task_run_id: l.task_run_id })),
      });

      const first = await client.callTool({ name: 'first-log', arguments: ids() });
      expect(new Ajv({ strict: false }).compile(schemaOf('first-log'))(first.structuredContent)).toBe(true);
      expect(first.structuredContent).toEqual({ message: 'message 0, level 10', level: 10, run: { flow_run_id: run.id } });
    }
    await v1.close();
    await v2.close();
  });

  it('the generated get-flow-run-logs has no outputSchema and returns structuredContent.result equal to REST; the CSV tool returns text only', async () => {
    const restUrl = `${generated.restUrl}/v1/api/accounts/${prefect.accountId}/workspaces/${prefect.workspaceId}/flow-runs/${run.id}`;
    const rest = await (await fetch(`${restUrl}/logs?limit=3&offset=1`)).json();
    const csv = await (await fetch(`${restUrl}/logs/download`)).text();
    const [v1, v2] = await clients(generated.mcpUrl);
    for (const client of [v1, v2]) {
      const { tools } = await client.listTools();
      expect(tools.find((t) => t.name === 'get-flow-run-logs')!.outputSchema).toBeUndefined();
      const logs = await client.callTool({ name: 'get-flow-run-logs', arguments: { ...ids(), limit: 3, offset: 1 } });
      expect(logs.structuredContent).toEqual({ result: rest });
      const download = await client.callTool({ name: 'download-flow-run-logs-2', arguments: ids() });
      expect(download.structuredContent).toBeUndefined();
      expect(download.content).toEqual([{ type: 'text', text: csv }]);
      expect(csv.split('\r\n')[0]).toBe('timestamp,level,flow_run_id,task_run_id,message');
    }
    await v1.close();
    await v2.close();
  });
});
