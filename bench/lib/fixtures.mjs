// Shared fixtures: the exact bytes the upstream sends, so clients can check
// every response against them.

/** Identifiers used in every path, as the Prefect capability names them. */
export const IDS = { account: 'A', workspace: 'W', flowRun: 'F' };

const { account, workspace, flowRun } = IDS;
const UPSTREAM_RUN = `/api/accounts/${account}/workspaces/${workspace}/flow_runs/${flowRun}`;
const REST_RUN = `/v1/api/accounts/${account}/workspaces/${workspace}/flow-runs/${flowRun}`;

/** Upstream path of the logs operation (what the runtime calls). */
export const UPSTREAM_LOGS_PATH = `${UPSTREAM_RUN}/logs?limit=5`;

/** The runtime's REST route for the same operation. */
export const REST_LOGS_PATH = `${REST_RUN}/logs?limit=5`;

export const UPSTREAM_DOWNLOAD_PATH = `${UPSTREAM_RUN}/logs/download`;
export const REST_DOWNLOAD_PATH = `${REST_RUN}/logs/download`;

/** Exactly 1024 bytes of JSON: an array of Prefect-like log records. */
export function logsBody() {
  const records = [];
  for (let i = 0; i < 4; i++) {
    records.push({
      id: `0b7c9a1e-4f2d-4c6b-9e8f-00000000000${i}`,
      created: '2026-05-19T12:00:00.000000Z',
      name: 'prefect.flow_runs',
      level: 20,
      message: '',
      timestamp: `2026-05-19T12:00:0${i}.000000Z`,
      flow_run_id: '5f1f3c1e-9d5c-4b5a-8c33-7d2a1f0e9b11',
      task_run_id: null,
    });
  }
  const bare = Buffer.byteLength(JSON.stringify(records));
  const pad = 1024 - bare;
  if (pad < 0) throw new Error(`fixture is ${bare} bytes before padding; shrink it`);
  const each = Math.floor(pad / records.length);
  records.forEach((r, i) => {
    r.message = 'm'.repeat(i === records.length - 1 ? pad - each * (records.length - 1) : each);
  });
  const text = JSON.stringify(records);
  if (Buffer.byteLength(text) !== 1024) throw new Error('logs fixture must be 1024 bytes');
  return Buffer.from(text);
}
