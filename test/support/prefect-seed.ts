// Typed helpers over the Prefect server's own HTTP API (not the SDK), used
// to seed flow runs and logs and to read them back the way Prefect does.
// Every function takes the API base URL (origin + base path).
import { request } from 'undici';

/** A flow as returned by `POST /flows/` (fields the tests use). */
export interface Flow {
  id: string;
  name: string;
}

/** A flow run as returned by `POST /flow_runs/` (fields the tests use). */
export interface FlowRun {
  id: string;
  name: string;
  flow_id: string;
  state_type: string | null;
}

/** One log to create; flow_run_id is filled in by createLogs. */
export interface LogInput {
  name: string;
  level: number;
  message: string;
  /** RFC 3339; use distinct values, Prefect sorts by timestamp only. */
  timestamp: string;
  task_run_id?: string | null;
}

/** A log as returned by `POST /logs/filter` on the OSS server. */
export interface Log {
  id: string;
  created: string | null;
  updated: string | null;
  name: string;
  level: number;
  message: string;
  timestamp: string;
  flow_run_id: string | null;
  task_run_id: string | null;
}

/** Body of `POST /logs/filter` (OSS `LogFilter`; unknown keys get a 422). */
export interface LogFilterBody {
  logs?: {
    operator?: 'and_' | 'or_';
    level?: { ge_?: number; le_?: number };
    timestamp?: { before_?: string; after_?: string };
    flow_run_id?: { any_?: string[] };
    task_run_id?: { any_?: string[]; is_null_?: boolean };
    text?: { query?: string };
  };
  sort?: 'TIMESTAMP_ASC' | 'TIMESTAMP_DESC';
  offset?: number;
  limit?: number;
}

/** Status, headers and the undecoded body bytes of one response. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Creates (or finds, Prefect answers 200 then) a flow by name. */
export async function createFlow(apiUrl: string, name: string): Promise<Flow> {
  return (await postJson(apiUrl, '/flows/', { name }, [200, 201])) as Flow;
}

/** Creates a flow run in a final state so no service touches it. */
export async function createFlowRun(
  apiUrl: string,
  flowId: string,
  name: string,
): Promise<FlowRun> {
  const body = { flow_id: flowId, name, state: { type: 'COMPLETED' } };
  return (await postJson(apiUrl, '/flow_runs/', body, [201])) as FlowRun;
}

/** Writes logs for one flow run (`POST /logs/`, 201 on the OSS server). */
export async function createLogs(
  apiUrl: string,
  runId: string,
  logs: readonly LogInput[],
): Promise<void> {
  const body = logs.map((log) => ({ ...log, flow_run_id: runId }));
  await postJson(apiUrl, '/logs/', body, [201]);
}

/** Reads logs the way Prefect's own clients do (`POST /logs/filter`). */
export async function filterLogs(apiUrl: string, body: LogFilterBody): Promise<Log[]> {
  return (await postJson(apiUrl, '/logs/filter', body, [200])) as Log[];
}

/** The real CSV download (`GET /flow_runs/{id}/logs/download`), untouched. */
export async function downloadLogs(apiUrl: string, runId: string): Promise<RawResponse> {
  return getRaw(`${apiUrl}/flow_runs/${runId}/logs/download`);
}

/** Any GET, returning the raw response whatever its status. */
export async function getRaw(
  url: string,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const res = await request(url, { headers });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body };
}

/** Creates a flow, one run and its logs in one go. */
export async function seedFlowRun(
  apiUrl: string,
  seed: { flowName: string; runName: string; logs: readonly LogInput[] },
): Promise<FlowRun> {
  const flow = await createFlow(apiUrl, seed.flowName);
  const run = await createFlowRun(apiUrl, flow.id, seed.runName);
  if (seed.logs.length > 0) await createLogs(apiUrl, run.id, seed.logs);
  return run;
}

async function postJson(
  apiUrl: string,
  path: string,
  body: unknown,
  expected: readonly number[],
): Promise<unknown> {
  const res = await request(apiUrl + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.body.text();
  if (!expected.includes(res.statusCode)) {
    throw new Error(`POST ${path} answered ${res.statusCode}: ${text.slice(0, 500)}`);
  }
  return JSON.parse(text) as unknown;
}
