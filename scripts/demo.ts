// The main job on a local default: a real Prefect server with a seeded flow
// run, a Cloud-shaped proxy in front of it (the local server lacks two of
// Cloud's log routes), and naftiko-ts serving capabilities/prefect-download.yaml
// against it on the ports the file declares. Prints ready-to-paste examples
// and runs until Ctrl-C.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { seedFlowRun } from '../test/support/prefect-seed.js';
import { startPrefectServer } from '../test/support/prefect-server.js';
import { startRecordingProxy } from '../test/support/recording-proxy.js';

const KEY = process.env.PREFECT_API_KEY ?? 'pnu_local_demo_key';

const prefect = await startPrefectServer();
const proxy = await startRecordingProxy({ target: prefect.origin, expectedToken: KEY });
const run = await seedFlowRun(prefect.apiUrl, {
  flowName: 'naftiko-demo',
  runName: 'demo run',
  logs: ['flow started', 'loading data, 3 files', 'warning: file "b.csv" is empty', 'error: retrying\nsecond attempt ok', 'flow finished'].map(
    (message, i) => ({
      name: 'prefect.flow_runs',
      level: [20, 20, 30, 40, 20][i]!,
      message,
      timestamp: new Date(Date.UTC(2026, 0, 1, 12, 0, i)).toISOString(),
      task_run_id: null,
    }),
  ),
});

// Extra arguments go to the runtime: `npm run demo -- --port prefect-download-rest=8181`.
const runtime = spawn(process.execPath, ['dist/main.js', 'capabilities/prefect-download.yaml', '--base-uri', `prefect-download=${proxy.url}`, ...process.argv.slice(2)], {
  env: { ...process.env, PREFECT_API_KEY: KEY },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let printed = false;
let startLog = '';
createInterface({ input: runtime.stdout! }).on('line', (line) => {
  process.stdout.write(`${line}\n`);
  if (!printed) startLog += `${line}\n`;
  if (!printed && line.includes('tool download-flow-run-logs-2 at')) {
    printed = true;
    printExamples();
  }
});

function printExamples(): void {
  const restPort = /route GET http:\/\/127\.0\.0\.1:(\d+)/.exec(startLog)?.[1] ?? '8080';
  const mcpPort = /at http:\/\/127\.0\.0\.1:(\d+)\/mcp/.exec(startLog)?.[1] ?? '9090';
  const base = `http://127.0.0.1:${restPort}/v1/api/accounts/${prefect.accountId}/workspaces/${prefect.workspaceId}/flow-runs/${run.id}`;
  const args = JSON.stringify({ account_id: prefect.accountId, workspace_id: prefect.workspaceId, id: run.id, level_ge: '30' });
  process.stdout.write(`
naftiko-ts is serving Prefect flow run ${run.id} (5 seeded logs).

REST:
  curl -i '${base}/logs/download'
  curl -s '${base}/logs?limit=5&level_ge=30'
  curl -s '${base}/logs?sort=TIMESTAMP_DESC&offset=1'

MCP (Streamable HTTP at http://127.0.0.1:${mcpPort}/mcp):
  curl -s http://127.0.0.1:${mcpPort}/mcp -H 'content-type: application/json' \\
    -H 'accept: application/json, text/event-stream' -H 'mcp-protocol-version: 2025-11-25' \\
    -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
  curl -s http://127.0.0.1:${mcpPort}/mcp -H 'content-type: application/json' \\
    -H 'accept: application/json, text/event-stream' -H 'mcp-protocol-version: 2025-11-25' \\
    -d '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get-flow-run-logs","arguments":${args}}}'

Press Ctrl-C to stop.
`);
}

let stopping = false;
async function stop(code = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  runtime.kill('SIGTERM');
  await proxy.close();
  await prefect.stop();
  process.exit(code);
}
runtime.once('exit', (code) => {
  if (stopping) return;
  process.stderr.write(`naftiko-ts exited with ${code}; pass runtime options after --, e.g. npm run demo -- --port prefect-download-rest=8181\n`);
  void stop(code === 0 ? 0 : 1);
});
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
