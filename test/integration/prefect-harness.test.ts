// Proves the Prefect test harness: the recording proxy's Cloud-only routes
// agree with what the real server says about the same flow run.
import { gunzipSync } from 'node:zlib';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirePrefect } from '../support/global-setup.js';
import { startPrefectServer, type PrefectServerInfo } from '../support/prefect-server.js';
import {
  downloadLogs,
  filterLogs,
  getRaw,
  seedFlowRun,
  type FlowRun,
  type LogInput,
} from '../support/prefect-seed.js';
import {
  headerValues,
  startRecordingProxy,
  type RecordingProxy,
} from '../support/recording-proxy.js';

const TASK_RUN = '5d6f2c1e-0000-4000-8000-000000000001';
const UNKNOWN_RUN = '00000000-0000-4000-8000-00000000dead';

// Distinct timestamps keep the order deterministic (Prefect has no
// tie-breaker). One is sent with a +02:00 offset to check UTC conversion.
const LOGS: LogInput[] = [
  log(10, 'debug line', '2026-01-01T00:00:00Z'),
  log(20, 'plain info', '2026-01-01T00:00:00.000001Z'),
  log(30, 'warn, with comma', '2026-01-01T02:00:01.5+02:00'),
  log(40, 'error "quoted" text', '2026-01-01T00:00:02.25Z', TASK_RUN),
  log(30, 'multi\nline', '2026-01-01T00:00:03.123456Z'),
  log(50, 'crlf\r\nline and a lone\rcr', '2026-01-01T00:00:04Z'),
  log(30, 'héllo wörld 🚀 日本語', '2026-01-01T00:00:05.0001Z', TASK_RUN),
  log(20, ' leading and trailing spaces ', '2026-01-01T00:00:06Z'),
  log(40, '', '2026-01-01T00:00:07Z'),
  log(30, 'all, of "them"\nhere', '2026-01-01T00:00:08.999999Z'),
  log(45, 'custom level 45', '2026-01-01T00:00:09Z'),
];

function log(level: number, message: string, timestamp: string, taskRun?: string): LogInput {
  const name = taskRun === undefined ? 'prefect.flow_runs' : 'prefect.task_runs';
  return { name, level, message, timestamp, task_run_id: taskRun ?? null };
}

let prefect: PrefectServerInfo;
let proxy: RecordingProxy;
let run: FlowRun;
let emptyRun: FlowRun;
let proxyApi: string;

beforeAll(async () => {
  prefect = requirePrefect();
  proxy = await startRecordingProxy({ target: prefect.origin });
  proxyApi = proxy.url + prefect.basePath;
  run = await seedFlowRun(prefect.apiUrl, {
    flowName: 'harness-flow',
    runName: `harness run, "v2" é 🚀 (1)*!'`,
    logs: LOGS,
  });
  emptyRun = await seedFlowRun(prefect.apiUrl, {
    flowName: 'harness-flow',
    runName: 'quiet-run',
    logs: [],
  });
});

afterAll(async () => {
  await proxy?.close();
});

async function messagesOf(ids: string[]): Promise<string[]> {
  const all = await filterLogs(prefect.apiUrl, { logs: { flow_run_id: { any_: [run.id] } } });
  return ids.map((id) => all.find((entry) => entry.id === id)?.message ?? '<missing>');
}

async function getPage(query: string, headers: Record<string, string> = {}) {
  const res = await getRaw(`${proxyApi}/flow_runs/${run.id}/logs?${query}`, headers);
  return { ...res, json: () => JSON.parse(res.body.toString('utf8')) as unknown };
}

function idsOf(json: unknown): string[] {
  return (json as Array<{ id: string }>).map((entry) => entry.id);
}

describe('download-logs-csv on the proxy', () => {
  it('equals the real /logs/download byte for byte, headers included', async () => {
    const real = await downloadLogs(prefect.apiUrl, run.id);
    const mine = await getRaw(`${proxyApi}/flow_runs/${run.id}/download-logs-csv`);

    expect(real.status).toBe(200);
    expect(mine.status).toBe(200);
    // As text first, so a failure shows a readable diff.
    expect(mine.body.toString('utf8')).toBe(real.body.toString('utf8'));
    expect(mine.body.equals(real.body)).toBe(true);
    expect(mine.headers['content-type']).toBe(real.headers['content-type']);
    expect(mine.headers['content-disposition']).toBe(real.headers['content-disposition']);
  });

  it('writes the CSV layout that Prefect documents', async () => {
    const mine = await getRaw(`${proxyApi}/flow_runs/${run.id}/download-logs-csv`);
    const csv = mine.body.toString('utf8');

    expect(mine.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(mine.headers['content-disposition']).toBe(
      'attachment; filename="flow-run-logs.csv"; ' +
        "filename*=UTF-8''harness%20run%2C%20%22v2%22%20%C3%A9%20" +
        '%F0%9F%9A%80%20%281%29%2A%21%27-logs.csv',
    );
    expect(csv.startsWith('timestamp,level,flow_run_id,task_run_id,message\r\n')).toBe(true);
    expect(csv).toContain(`2026-01-01 00:00:00+00:00,10,${run.id},,debug line\r\n`);
    expect(csv).toContain(`2026-01-01 00:00:01.500000+00:00,30,${run.id},,"warn, with comma"\r\n`);
    expect(csv).toContain(`,40,${run.id},${TASK_RUN},"error ""quoted"" text"\r\n`);
    expect(csv).toContain(`,30,${run.id},,"multi\nline"\r\n`);
    expect(csv).toContain(`,50,${run.id},,"crlf\r\nline and a lone\rcr"\r\n`);
    expect(csv).toContain(`2026-01-01 00:00:05.000100+00:00,30,${run.id},${TASK_RUN},héllo`);
    expect(csv).toContain(`,20,${run.id},, leading and trailing spaces \r\n`);
    expect(csv).toContain(`2026-01-01 00:00:07+00:00,40,${run.id},,\r\n`);
    expect(csv.endsWith(`,45,${run.id},,custom level 45\r\n`)).toBe(true);
  });

  it('sends only the header row for a run without logs, like the server', async () => {
    const real = await downloadLogs(prefect.apiUrl, emptyRun.id);
    const mine = await getRaw(`${proxyApi}/flow_runs/${emptyRun.id}/download-logs-csv`);

    expect(mine.body.toString('utf8')).toBe('timestamp,level,flow_run_id,task_run_id,message\r\n');
    expect(mine.body.equals(real.body)).toBe(true);
  });

  it('pages past the 200-log page size in timestamp order', async () => {
    const many = Array.from({ length: 450 }, (_, i) =>
      log(20 + (i % 3) * 10, `line ${i}`, new Date(Date.UTC(2026, 1, 1, 0, 0, 0, i)).toISOString()),
    );
    const big = await seedFlowRun(prefect.apiUrl, {
      flowName: 'harness-flow',
      runName: 'big-run',
      logs: many,
    });
    const real = await downloadLogs(prefect.apiUrl, big.id);
    const mine = await getRaw(`${proxyApi}/flow_runs/${big.id}/download-logs-csv`);
    const lines = mine.body.toString('utf8').split('\r\n');

    expect(mine.body.toString('utf8')).toBe(real.body.toString('utf8'));
    expect(lines).toHaveLength(452);
    expect(lines[450]).toBe(`2026-02-01 00:00:00.449000+00:00,40,${big.id},,line 449`);
  });

  it('gzips the CSV when asked, to the same bytes once inflated', async () => {
    const headers = { 'accept-encoding': 'gzip' };
    const real = await getRaw(`${prefect.apiUrl}/flow_runs/${run.id}/logs/download`, headers);
    const mine = await getRaw(`${proxyApi}/flow_runs/${run.id}/download-logs-csv`, headers);

    expect(real.headers['content-encoding']).toBe('gzip');
    expect(mine.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(mine.body).equals(gunzipSync(real.body))).toBe(true);
  });

  it('answers 422 for an id that is not a UUID, as Cloud declares', async () => {
    const mine = await getRaw(`${proxyApi}/flow_runs/not-a-uuid/download-logs-csv`);

    expect(mine.status).toBe(422);
    const body = JSON.parse(mine.body.toString('utf8')) as { exception_detail: unknown[] };
    expect(body.exception_detail).toMatchObject([{ type: 'uuid_parsing', loc: ['path', 'id'] }]);
  });

  it('answers 404 Flow run not found for an unknown run', async () => {
    const mine = await getRaw(`${proxyApi}/flow_runs/${UNKNOWN_RUN}/download-logs-csv`);

    expect(mine.status).toBe(404);
    expect(mine.body.toString('utf8')).toBe('{"detail":"Flow run not found"}');
  });
});

describe('GET flow_runs/{id}/logs on the proxy', () => {
  it('returns the same page as the equivalent POST /logs/filter', async () => {
    const page = await getPage('limit=5&level_ge=30');
    const direct = await filterLogs(prefect.apiUrl, {
      logs: { flow_run_id: { any_: [run.id] }, level: { ge_: 30 } },
      limit: 5,
    });

    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('application/json');
    expect(idsOf(page.json())).toEqual(direct.map((entry) => entry.id));
    expect(await messagesOf(idsOf(page.json()))).toEqual([
      'warn, with comma',
      'error "quoted" text',
      'multi\nline',
      'crlf\r\nline and a lone\rcr',
      'héllo wörld 🚀 日本語',
    ]);
  });

  it('honours offset like /logs/filter does', async () => {
    const page = await getPage('limit=5&level_ge=30&offset=5');
    const direct = await filterLogs(prefect.apiUrl, {
      logs: { flow_run_id: { any_: [run.id] }, level: { ge_: 30 } },
      limit: 5,
      offset: 5,
    });

    expect(idsOf(page.json())).toEqual(direct.map((entry) => entry.id));
    expect(await messagesOf(idsOf(page.json()))).toEqual([
      '',
      'all, of "them"\nhere',
      'custom level 45',
    ]);
  });

  it('honours sort=TIMESTAMP_DESC like /logs/filter does', async () => {
    const page = await getPage('limit=5&level_ge=30&sort=TIMESTAMP_DESC');
    const direct = await filterLogs(prefect.apiUrl, {
      logs: { flow_run_id: { any_: [run.id] }, level: { ge_: 30 } },
      limit: 5,
      sort: 'TIMESTAMP_DESC',
    });

    expect(idsOf(page.json())).toEqual(direct.map((entry) => entry.id));
    expect(await messagesOf(idsOf(page.json()))).toEqual([
      'custom level 45',
      'all, of "them"\nhere',
      '',
      'héllo wörld 🚀 日本語',
      'crlf\r\nline and a lone\rcr',
    ]);
  });

  it('treats since and until as inclusive bounds with microseconds', async () => {
    const since = encodeURIComponent('2026-01-01T00:00:03.123456Z');
    const until = encodeURIComponent('2026-01-01T02:00:05.0001+02:00');
    const page = await getPage(`since=${since}&until=${until}`);

    expect(await messagesOf(idsOf(page.json()))).toEqual([
      'multi\nline',
      'crlf\r\nline and a lone\rcr',
      'héllo wörld 🚀 日本語',
    ]);
  });

  it('filters by task run, by logger and by text', async () => {
    const byTask = await getPage(`task_runs=${TASK_RUN}`);
    const byLogger = await getPage('loggers=prefect.task_runs&limit=1&offset=1');
    const flowOnly = await getPage('task_runs_is_null=true&level_le=10');
    const byText = await getPage('text_query=comma');

    const taskMessages = ['error "quoted" text', 'héllo wörld 🚀 日本語'];
    expect(await messagesOf(idsOf(byTask.json()))).toEqual(taskMessages);
    expect(await messagesOf(idsOf(byLogger.json()))).toEqual(['héllo wörld 🚀 日本語']);
    expect(await messagesOf(idsOf(flowOnly.json()))).toEqual(['debug line']);
    expect(await messagesOf(idsOf(byText.json()))).toEqual(['warn, with comma']);
  });

  it('rejects limit=201 with the server limit message', async () => {
    const page = await getPage('limit=201');

    expect(page.status).toBe(422);
    expect(page.json()).toEqual({ detail: 'Invalid limit: must be less than or equal to 200.' });
  });

  it('rejects malformed parameters in Prefect validation shape', async () => {
    const page = await getPage('level_ge=-1&sort=timestamp_asc&task_runs_is_null=maybe');

    expect(page.status).toBe(422);
    expect(page.json()).toEqual({
      exception_message: 'Invalid request received.',
      exception_detail: [
        {
          type: 'greater_than_equal',
          loc: ['query', 'level_ge'],
          msg: 'Input should be greater than or equal to 0',
          input: '-1',
          ctx: { ge: 0 },
        },
        {
          type: 'enum',
          loc: ['query', 'sort'],
          msg: "Input should be 'TIMESTAMP_ASC' or 'TIMESTAMP_DESC'",
          input: 'timestamp_asc',
          ctx: { expected: "'TIMESTAMP_ASC' or 'TIMESTAMP_DESC'" },
        },
        {
          type: 'bool_parsing',
          loc: ['query', 'task_runs_is_null'],
          msg: 'Input should be a valid boolean, unable to interpret input',
          input: 'maybe',
        },
      ],
      request_body: null,
    });
  });

  it('rejects a text_query longer than 200 characters', async () => {
    const page = await getPage(`text_query=${'x'.repeat(201)}`);

    expect(page.status).toBe(422);
    const detail = (page.json() as { exception_detail: Array<{ type: string }> }).exception_detail;
    expect(detail.map((entry) => entry.type)).toEqual(['string_too_long']);
  });

  it('answers 404 Flow run not found for an unknown run', async () => {
    const res = await getRaw(`${proxyApi}/flow_runs/${UNKNOWN_RUN}/logs?limit=5`);

    expect(res.status).toBe(404);
    expect(res.body.toString('utf8')).toBe('{"detail":"Flow run not found"}');
  });

  it('answers 404 Not Found under a workspace the server does not serve', async () => {
    const otherWorkspace = `/api/accounts/${prefect.accountId}/workspaces/${UNKNOWN_RUN}`;
    const res = await getRaw(`${proxy.url}${otherWorkspace}/flow_runs/${run.id}/logs`);

    expect(res.status).toBe(404);
    expect(res.body.toString('utf8')).toBe('{"detail":"Not Found"}');
  });

  it('answers 304 without a body when If-None-Match matches the ETag', async () => {
    const first = await getPage('limit=3');
    const etag = String(first.headers.etag);
    const again = await getPage('limit=3', { 'if-none-match': etag });
    const other = await getPage('limit=4', { 'if-none-match': etag });

    expect(etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect(again.headers.etag).toBe(etag);
    expect(other.status).toBe(200);
    expect(idsOf(other.json())).toHaveLength(4);
  });
});

describe('startPrefectServer', () => {
  it('refuses to start without the venv and says how to install it', async () => {
    await expect(startPrefectServer({ venvDir: '/nonexistent-venv' })).rejects.toThrow(
      'Prefect is not installed in /nonexistent-venv: run npm run prefect:setup',
    );
  });
});

describe('bearer check and recording', () => {
  it('answers 401 without the token, records the request and does not forward', async () => {
    proxy.clear();
    proxy.setExpectedToken('pnu_harness_token');
    try {
      const target = `${prefect.basePath}/flow_runs/${run.id}/logs?limit=2&level_ge=30`;
      const denied = await getRaw(proxy.url + target);
      const wrongScheme = await getRaw(proxy.url + target, {
        authorization: 'bearer pnu_harness_token',
      });
      const allowed = await getRaw(proxy.url + target, {
        Authorization: 'Bearer pnu_harness_token',
      });

      expect(denied.status).toBe(401);
      expect(denied.body.toString('utf8')).toBe('{"detail":"Unauthorized"}');
      expect(wrongScheme.status).toBe(401);
      expect(allowed.status).toBe(200);
      expect(proxy.requests.map((r) => [r.method, r.target, r.status])).toEqual([
        ['GET', target, 401],
        ['GET', target, 401],
        ['GET', target, 200],
      ]);
      expect(headerValues(proxy.requests[0]!, 'authorization')).toEqual([]);
      expect(headerValues(proxy.requests[2]!, 'authorization')).toEqual([
        'Bearer pnu_harness_token',
      ]);
    } finally {
      proxy.setExpectedToken(undefined);
    }
  });

  it('forwards other routes unchanged and keeps the raw target and header case', async () => {
    proxy.clear();
    const body = JSON.stringify({ logs: { flow_run_id: { any_: [run.id] } }, limit: 2 });
    const target = `${prefect.basePath}/logs/filter?b=%2Fx&a=1+2`;
    const res = await request(proxy.url + target, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Harness-Case': 'KeepMe' },
      body,
    });
    const json = (await res.body.json()) as Array<{ message: string }>;

    expect(res.statusCode).toBe(200);
    expect(json.map((entry) => entry.message)).toEqual(['debug line', 'plain info']);
    const [recorded] = proxy.requests;
    expect(recorded?.target).toBe(target);
    expect(recorded?.body.toString('utf8')).toBe(body);
    expect(recorded?.rawHeaders).toContainEqual(['X-Harness-Case', 'KeepMe']);
    expect(recorded?.status).toBe(200);
  });
});
