// Scenario 1: what the runtime adds to one small REST call, against the
// upstream answered directly and against the least any Fastify gateway does.
import { join } from 'node:path';
import { logsBody, REST_LOGS_PATH, UPSTREAM_LOGS_PATH } from '../lib/fixtures.mjs';
import { measureLatency, measureThroughput } from '../lib/load.mjs';
import { startServerScript, stopProcess } from '../lib/processes.mjs';
import { row } from '../lib/report.mjs';
import { alternate, combine, medianDifference, medianRatio, summarize } from '../lib/rounds.mjs';
import { PREFECT_ADAPTERS, PREFECT_FILE, ROOT, startRuntime } from '../lib/runtime.mjs';

const BASELINE = join(ROOT, 'bench/baselines/fastify-passthrough.mjs');

export async function runRestOverhead(ctx) {
  const { opts, upstream } = ctx;
  const passthrough = await startServerScript(
    'fastify-passthrough',
    BASELINE,
    { UPSTREAM: upstream.url },
    ctx.logFile('fastify-passthrough'),
  );
  const runtime = await startRuntime({
    name: 'runtime (rest)',
    file: PREFECT_FILE,
    adapters: PREFECT_ADAPTERS,
    baseUris: { 'prefect-download': upstream.url },
    logFile: ctx.logFile('runtime-rest'),
    nodeOptions: ctx.profileOptions('rest'),
  });
  try {
    return await measure(ctx, [
      { name: 'direct', origin: upstream.url, path: UPSTREAM_LOGS_PATH },
      { name: 'fastify-passthrough', origin: passthrough.url, path: REST_LOGS_PATH },
      { name: 'ours', origin: runtime.urls.rest, path: REST_LOGS_PATH },
    ]);
  } finally {
    await stopProcess(passthrough);
    await stopProcess(runtime.proc);
    await ctx.collectProfile('rest', 'scenario 1c: REST GET logs through the runtime');
  }
}

async function measure(ctx, targets) {
  const { opts } = ctx;
  const expected = logsBody().toString();
  const verify = (body) => body === expected;

  for (const t of targets) {
    ctx.progress(`warm-up ${t.name}`);
    await measureThroughput({
      url: t.origin + t.path,
      connections: 16,
      durationS: opts.warmupS,
      verify,
    });
  }
  const throughput = {};
  for (const connections of opts.concurrency) {
    ctx.progress(
      `throughput at concurrency ${connections}: ` +
        `${opts.rounds} rounds × ${targets.length} targets × ${opts.durationS} s`,
    );
    throughput[connections] = await alternate(targets, opts.rounds, (t) =>
      measureThroughput({ url: t.origin + t.path, connections, durationS: opts.durationS, verify }),
    );
  }
  ctx.progress(
    `latency at concurrency 1: ` +
      `${opts.rounds} rounds × ${targets.length} targets × ${opts.latencyCount} requests`,
  );
  const latency = await alternate(targets, opts.rounds, (t) =>
    measureLatency({ url: t.origin, path: t.path, count: opts.latencyCount, verify }),
  );
  return { rows: buildRows(throughput, latency, opts), raw: { throughput, latency } };
}

function buildRows(throughput, latency, opts) {
  const rows = [];
  for (const c of opts.concurrency) {
    const ours = summarize(throughput[c].ours, 'rps');
    const fastify = summarize(throughput[c]['fastify-passthrough'], 'rps');
    const direct = summarize(throughput[c].direct, 'rps');
    const base = { scenario: '1', unit: 'req/s', summary: combine(ours, fastify, direct) };
    const rounds = throughput[c];
    rows.push(
      row({
        ...base,
        measure: `REST rps c=${c} vs pass-through`,
        ours: ours.median,
        baseline: fastify.median,
        baselineName: 'fastify-passthrough',
        ratio: medianRatio(rounds.ours, rounds['fastify-passthrough'], 'rps'),
        target: { on: 'ratio', op: '>=', value: 0.7 },
      }),
    );
    rows.push(
      row({
        ...base,
        measure: `REST rps c=${c} vs direct`,
        ours: ours.median,
        baseline: direct.median,
        baselineName: 'direct',
        ratio: medianRatio(rounds.ours, rounds.direct, 'rps'),
      }),
    );
  }
  const ours = summarize(latency.ours, 'p50Ms');
  const fastify = summarize(latency['fastify-passthrough'], 'p50Ms');
  const direct = summarize(latency.direct, 'p50Ms');
  const summary = combine(ours, fastify, direct);
  const base = { scenario: '1', unit: 'ms', summary };
  rows.push(
    row({
      ...base,
      measure: 'REST p50 c=1',
      ours: ours.median,
      baseline: direct.median,
      baselineName: 'direct',
      ratio: medianRatio(latency.ours, latency.direct, 'p50Ms'),
    }),
  );
  rows.push(
    row({
      ...base,
      measure: 'REST p99 c=1',
      ours: summarize(latency.ours, 'p99Ms').median,
      baseline: summarize(latency.direct, 'p99Ms').median,
      baselineName: 'direct',
      ratio: medianRatio(latency.ours, latency.direct, 'p99Ms'),
    }),
  );
  rows.push(
    row({
      ...base,
      measure: 'REST added p50 vs direct',
      ours: medianDifference(latency.ours, latency.direct, 'p50Ms'),
      target: { on: 'ours', op: '<', value: 0.5 },
    }),
  );
  rows.push(
    row({
      ...base,
      measure: 'pass-through added p50 vs direct',
      ours: medianDifference(latency['fastify-passthrough'], latency.direct, 'p50Ms'),
      note: 'the floor: fastify-passthrough, not ours',
    }),
  );
  return rows;
}
