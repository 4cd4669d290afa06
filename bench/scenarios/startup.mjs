// Scenario 4: from process start to both adapters accepting connections,
// for the Prefect capability and for one generated capability of 200
// consumed namespaces × 10 operations (2000 routes and 2000 tools).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeScaleCapability } from '../lib/generate.mjs';
import {
  freePort,
  memoryOf,
  sleep,
  startNode,
  stopProcess,
  waitAccepting,
} from '../lib/processes.mjs';
import { row } from '../lib/report.mjs';
import { alternate, combine, medianRatio, summarize } from '../lib/rounds.mjs';
import { PREFECT_ADAPTERS, PREFECT_FILE, ROOT, startRuntime } from '../lib/runtime.mjs';

const FLOOR = join(ROOT, 'bench/baselines/two-ports.mjs');
const SCALE_ADAPTERS = { 'scale-rest': 'rest', 'scale-mcp': 'mcp' };

export async function runStartup(ctx) {
  const { opts } = ctx;
  const scaleFile = writeScaleCapability(join(ctx.tmp, 'scale-200x10.yaml'), {
    services: opts.scaleServices,
    operations: opts.scaleOperations,
    // Never called: nothing is sent upstream in this scenario.
    baseUri: 'http://127.0.0.1:9',
  });
  const operations = opts.scaleServices * opts.scaleOperations;

  ctx.progress(`small: ${opts.startRounds} starts each of the Prefect capability and of the floor`);
  const small = await alternate(
    [floorTarget(), runtimeTarget(ctx, 'prefect', PREFECT_FILE, PREFECT_ADAPTERS, 3)],
    opts.startRounds,
    (t) => t.start(),
  );
  ctx.progress(
    `large: ${opts.largeStartRounds} starts each of ${operations} operations and of the floor`,
  );
  const large = await alternate(
    [floorTarget(), runtimeTarget(ctx, 'scale', scaleFile, SCALE_ADAPTERS, operations)],
    opts.largeStartRounds,
    (t) => t.start(),
  );

  const rows = [];
  for (const [label, rounds, limit] of [
    ['Prefect capability (3 ops)', small, 300],
    [`${operations} ops in one file`, large, 3000],
  ]) {
    const ours = summarize(rounds.ours, 'readyMs');
    const floor = summarize(rounds.floor, 'readyMs');
    rows.push(
      row({
        scenario: '4',
        measure: `start to both ports accepting, ${label}`,
        unit: 'ms',
        ours: ours.median,
        baseline: floor.median,
        baselineName: 'node two-ports',
        ratio: medianRatio(rounds.ours, rounds.floor, 'readyMs'),
        target: { on: 'ours', op: '<', value: limit },
        summary: combine(ours, floor),
      }),
    );
    rows.push(
      row({
        scenario: '4',
        measure: `RSS after start, ${label}`,
        unit: 'MiB',
        ours: summarize(rounds.ours, 'rssMiB').median,
        baseline: summarize(rounds.floor, 'rssMiB').median,
        baselineName: 'node two-ports',
        summary: combine(ours, floor),
      }),
    );
  }
  return { rows, raw: { small, large, scaleFileBytes: readFileSync(scaleFile).length } };
}

function floorTarget() {
  return {
    name: 'floor',
    start: async () => {
      const ports = [await freePort(), await freePort()];
      const proc = startNode('two-ports floor', [FLOOR], {
        env: { PORT_A: String(ports[0]), PORT_B: String(ports[1]) },
      });
      try {
        const readyMs = Number(await waitAccepting(proc, ports)) / 1e6;
        return { readyMs, rssMiB: memoryOf(proc.pid).rssMiB, valid: true };
      } finally {
        await stopProcess(proc);
      }
    },
  };
}

/**
 * One start of the runtime. A start counts only if its log then lists every
 * route and tool: adapters accepting with half a table would be a failure.
 * The log is read while the process still runs, because lines pino has
 * not flushed yet are lost when it exits on SIGTERM.
 */
function runtimeTarget(ctx, label, file, adapters, expectedOps) {
  let n = 0;
  return {
    name: 'ours',
    start: async () => {
      const logFile = ctx.logFile(`runtime-start-${label}-${n++}`);
      const runtime = await startRuntime({
        name: `runtime (start ${label})`,
        file,
        adapters,
        logFile,
        timeoutMs: ctx.opts.startTimeoutS * 1000,
      });
      try {
        const rssMiB = memoryOf(runtime.proc.pid).rssMiB;
        const listed = await waitForListing(logFile, runtime.urls.rest, expectedOps);
        const valid = listed.routes === expectedOps && listed.tools === expectedOps;
        const error = valid
          ? undefined
          : `log lists ${listed.routes} routes and ${listed.tools} tools, ` +
            `expected ${expectedOps} each`;
        return { readyMs: runtime.readyMs, rssMiB, ...listed, valid, errors: valid ? 0 : 1, error };
      } finally {
        await stopProcess(runtime.proc);
      }
    },
  };
}

async function waitForListing(logFile, restUrl, expected, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const log = readFileSync(logFile, 'utf8');
    const listed = {
      routes: count(log, `"msg":"route GET ${restUrl}/v1/`),
      tools: count(log, '"msg":"tool '),
    };
    if ((listed.routes >= expected && listed.tools >= expected) || Date.now() > deadline)
      return listed;
    await sleep(20);
  }
}

function count(text, needle) {
  let n = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + 1)) n++;
  return n;
}
