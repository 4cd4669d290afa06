// Scenario 2: tools/call throughput of our /mcp against the SDK's documented
// per-request server, in both protocol eras.
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { IDS, logsBody } from '../lib/fixtures.mjs';
import { measureThroughput } from '../lib/load.mjs';
import { startServerScript, stopProcess } from '../lib/processes.mjs';
import { row } from '../lib/report.mjs';
import { alternate, combine, medianRatio, summarize } from '../lib/rounds.mjs';
import { PREFECT_ADAPTERS, PREFECT_FILE, ROOT, startRuntime } from '../lib/runtime.mjs';

const BASELINE = join(ROOT, 'bench/baselines/mcp-per-request.mjs');
const TOOL = 'get-flow-run-logs';
const ARGUMENTS = {
  account_id: IDS.account,
  workspace_id: IDS.workspace,
  id: IDS.flowRun,
  limit: 5,
};

/**
 * A 2025-era call needs no initialize on a stateless server: one POST with
 * the version header (checked by the first valid round).
 */
const LEGACY = {
  era: '2025-11-25',
  headers: {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': '2025-11-25',
  },
  body: JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { name: TOOL, arguments: ARGUMENTS },
  }),
};

const LAST_RECORD_ID = JSON.parse(logsBody().toString()).at(-1).id;

/**
 * A good answer (plain JSON or one SSE event) carries the last record of the
 * upstream's array, so the whole array came through, and is neither a
 * JSON-RPC error nor an isError result. The check does not depend on how the
 * result is shaped (text content, structuredContent).
 */
function verify(body) {
  return (
    body.includes(LAST_RECORD_ID) && !body.includes('"isError":true') && !body.includes('"error":{')
  );
}

export async function runMcpThroughput(ctx) {
  const { upstream } = ctx;
  const baseline = await startServerScript(
    'mcp-per-request',
    BASELINE,
    { UPSTREAM: upstream.url },
    ctx.logFile('mcp-per-request'),
  );
  const runtime = await startRuntime({
    name: 'runtime (mcp)',
    file: PREFECT_FILE,
    adapters: PREFECT_ADAPTERS,
    baseUris: { 'prefect-download': upstream.url },
    logFile: ctx.logFile('runtime-mcp'),
    nodeOptions: ctx.profileOptions('mcp'),
  });
  try {
    const modern = await captureModernCall(runtime.urls.mcp);
    await checkClientWorks(`${baseline.url}/mcp`);
    return await measure(
      ctx,
      [
        { name: 'ours', url: runtime.urls.mcp },
        { name: 'mcp-per-request', url: `${baseline.url}/mcp` },
      ],
      [LEGACY, modern],
    );
  } finally {
    await stopProcess(baseline);
    await stopProcess(runtime.proc);
    await ctx.collectProfile('mcp', 'scenario 2: MCP tools/call through the runtime, both eras');
  }
}

/**
 * Drives the real v2 client with version negotiation on and records the
 * tools/call it sends: the raw 2026-07-28 request (headers and `_meta`
 * envelope) replayed under load.
 */
async function captureModernCall(url) {
  const seen = [];
  const spy = async (input, init) => {
    seen.push({
      headers: Object.fromEntries(new Headers(init?.headers).entries()),
      body: init?.body,
    });
    return fetch(input, init);
  };
  const client = new Client(
    { name: 'naftiko-bench', version: '1.0.0' },
    { versionNegotiation: { mode: 'auto' } },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { fetch: spy }));
  const version = client.getNegotiatedProtocolVersion();
  const result = await client.callTool({ name: TOOL, arguments: ARGUMENTS });
  await client.close();
  if (version !== '2026-07-28')
    throw new Error(`the v2 client negotiated ${version}, not 2026-07-28, with ${url}`);
  if (result.isError)
    throw new Error(`tools/call through the real client failed: ${JSON.stringify(result.content)}`);

  const call = seen.find(
    (r) => typeof r.body === 'string' && JSON.parse(r.body).method === 'tools/call',
  );
  if (call === undefined) throw new Error('no tools/call request was captured from the client');
  const headers = Object.fromEntries(
    Object.entries(call.headers).filter(([k]) => k !== 'content-length'),
  );
  return { era: '2026-07-28', headers, body: call.body };
}

/** The baseline must really serve the modern era too, or the comparison is void. */
async function checkClientWorks(url) {
  const client = new Client(
    { name: 'naftiko-bench', version: '1.0.0' },
    { versionNegotiation: { mode: 'auto' } },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  const version = client.getNegotiatedProtocolVersion();
  const result = await client.callTool({ name: TOOL, arguments: ARGUMENTS });
  await client.close();
  if (version !== '2026-07-28' || result.isError)
    throw new Error(`baseline ${url} failed the real-client check (${version})`);
}

async function measure(ctx, targets, eras) {
  const { opts } = ctx;
  const connections = opts.mcpConnections;
  for (const era of eras) {
    for (const t of targets) {
      ctx.progress(`warm-up ${t.name} ${era.era}`);
      await measureThroughput({
        url: t.url,
        method: 'POST',
        headers: era.headers,
        body: era.body,
        connections,
        durationS: opts.warmupS,
        verify,
      });
    }
  }
  const raw = {};
  const rows = [];
  for (const era of eras) {
    ctx.progress(
      `${era.era}: ${opts.rounds} rounds × ${targets.length} targets × ${opts.durationS} s ` +
        `at concurrency ${connections}`,
    );
    raw[era.era] = await alternate(targets, opts.rounds, (t) =>
      measureThroughput({
        url: t.url,
        method: 'POST',
        headers: era.headers,
        body: era.body,
        connections,
        durationS: opts.durationS,
        verify,
      }),
    );
    const ours = summarize(raw[era.era].ours, 'rps');
    const base = summarize(raw[era.era]['mcp-per-request'], 'rps');
    rows.push(
      row({
        scenario: '2',
        measure: `MCP tools/call ${era.era} c=${connections}`,
        unit: 'calls/s',
        ours: ours.median,
        baseline: base.median,
        baselineName: 'mcp-per-request',
        ratio: medianRatio(raw[era.era].ours, raw[era.era]['mcp-per-request'], 'rps'),
        target: { on: 'ratio', op: '>=', value: 3 },
        summary: combine(ours, base),
      }),
    );
  }
  return {
    rows,
    raw: {
      ...raw,
      requests: Object.fromEntries(
        eras.map((e) => [e.era, { headers: e.headers, body: JSON.parse(e.body) }]),
      ),
    },
  };
}
