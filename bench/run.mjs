#!/usr/bin/env node
// `npm run bench`: builds the runtime, starts every server on 127.0.0.1,
// runs each scenario against its baseline, prints one table and writes
// bench/results/latest.json (and bench/results/<name>.json with --name).
// bench/README.md explains the scenarios and how to read the figures.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { summarizeProfile } from './lib/profile.mjs';
import { startServerScript, stopAll, stopProcess } from './lib/processes.mjs';
import { describeMachine, formatTable } from './lib/report.mjs';
import { MAIN, ROOT } from './lib/runtime.mjs';
import { runLargeDownload } from './scenarios/large-download.mjs';
import { runMcpThroughput } from './scenarios/mcp-throughput.mjs';
import { runRestOverhead } from './scenarios/rest-overhead.mjs';
import { runStartup } from './scenarios/startup.mjs';
import { runValidate } from './scenarios/validate.mjs';

const SCENARIOS = [
  { id: '1', key: 'rest', title: 'REST overhead', run: runRestOverhead, upstream: true },
  { id: '2', key: 'mcp', title: 'MCP throughput', run: runMcpThroughput, upstream: true },
  { id: '3', key: 'download', title: 'Large download', run: runLargeDownload, upstream: true },
  { id: '4', key: 'startup', title: 'Start-up and configuration scale', run: runStartup },
  { id: '5', key: 'validate', title: 'Validation', run: runValidate },
];

const USAGE = `Usage: npm run bench -- [options]
  --only <list>     scenarios to run, by number or key:
                    1,2,3,4,5 or rest,mcp,download,startup,validate
  --name <name>     also write bench/results/<name>.json (for committed before/after files)
  --quick           a short smoke run (2 rounds, 64 MiB download, fewer files); not for figures
  --rounds <n>      rounds per measurement (default 5)
  --duration <s>    seconds per throughput round (default 2)
  --cpu-prof        run the runtime of scenarios 1 and 2 under --cpu-prof and print its
                    top self-time functions; writes bench/results/profile.json, not latest.json
                    (the profiler slows the runtime: those figures are not comparable)
  --no-build        use dist/ as it is instead of running npm run build first
  --keep-logs       keep the temporary directory with every process's log
Environment: BENCH_LARGE_MB (default 1024), BENCH_LARGE_TIMEOUT_S (default 120),
  BENCH_COMMIT (names the measured source when run outside a git checkout).
`;

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    name: { type: 'string' },
    quick: { type: 'boolean' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    'cpu-prof': { type: 'boolean' },
    'no-build': { type: 'boolean' },
    'keep-logs': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (args.name !== undefined && !/^[A-Za-z0-9._-]+$/.test(args.name))
  fail(`--name must be a plain file name, got ${args.name}`);

const opts = buildOptions();
const selected = selectScenarios(args.only);
const started = Date.now();
if (!args['no-build']) build();
if (!existsSync(MAIN)) fail(`${MAIN} is missing: run npm run build`);

const tmp = mkdtempSync(join(tmpdir(), 'naftiko-bench-'));
const profileDir = join(tmp, 'profiles');
const profiles = {};

// Nothing may outlive the run: Ctrl-C, SIGTERM and an overall deadline all
// stop every child before exiting.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping every benchmark process\n`);
    void stopAll().finally(() => process.exit(130));
  });
}
const watchdog = setTimeout(() => {
  process.stderr.write(`\nbench: over ${opts.maxMinutes} minutes, giving up\n`);
  void stopAll().finally(() => process.exit(1));
}, opts.maxMinutes * 60_000);
watchdog.unref();

try {
  await main();
} finally {
  await stopAll();
  if (!args['keep-logs']) rmSync(tmp, { recursive: true, force: true });
  else process.stderr.write(`logs kept in ${tmp}\n`);
}

async function main() {
  const machine = describeMachine(ROOT);
  const modified = machine.dirty ? ' (src modified)' : '';
  progress(`machine: ${describe(machine)}, commit ${machine.commit}${modified}`);
  // Everything shares this machine's cores: other work running now moves
  // the figures (alternating rounds and per-round ratios soften it).
  const loadBefore = loadavg()[0];
  if (loadBefore > machine.nproc * 0.25)
    progress(
      `warning: load average ${loadBefore.toFixed(2)} before the run; figures will be noisy`,
    );

  let upstream;
  if (selected.some((s) => s.upstream)) {
    upstream = await startServerScript(
      'upstream',
      join(ROOT, 'bench/upstream.mjs'),
      { BENCH_LARGE_MB: String(opts.largeMiB) },
      join(tmp, 'upstream.log'),
    );
  }
  const results = {};
  const rows = [];
  let failed = false;
  for (const scenario of selected) {
    const t0 = Date.now();
    progress(`scenario ${scenario.id}: ${scenario.title}`);
    const ctx = scenarioContext(scenario, upstream);
    try {
      const { rows: scenarioRows, raw } = await scenario.run(ctx);
      rows.push(...scenarioRows);
      results[scenario.id] = { title: scenario.title, seconds: (Date.now() - t0) / 1000, raw };
    } catch (err) {
      failed = true;
      progress(`scenario ${scenario.id} FAILED: ${err.stack ?? err}`);
      rows.push({
        scenario: scenario.id,
        measure: `${scenario.title}: FAILED, ${String(err.message ?? err).split('\n')[0]}`,
        ours: null,
        baseline: null,
        ratio: null,
        invalidRounds: 0,
      });
      results[scenario.id] = {
        title: scenario.title,
        seconds: (Date.now() - t0) / 1000,
        error: String(err.stack ?? err),
      };
    }
    // A failed scenario may leave a server behind: it must not load the next one.
    await stopAll(upstream === undefined ? [] : [upstream]);
  }
  await stopProcess(upstream);

  const wallSeconds = (Date.now() - started) / 1000;
  const report = {
    format: 1,
    date: new Date(started).toISOString(),
    wallSeconds,
    machine,
    loadAverage: { before: loadBefore, after: loadavg()[0] },
    options: opts,
    rows,
    scenarios: results,
    profiles,
  };
  const table = formatTable(rows);
  process.stdout.write(
    `\n${table}\n\nratio = ours ÷ baseline; medians over valid rounds; ` +
      'targets are reported, never asserted.\n',
  );
  if (opts.cpuProf)
    process.stdout.write(
      'profiled run: the runtime of scenarios 1 and 2 ran under --cpu-prof, ' +
        'so their figures are low.\n',
    );
  for (const p of Object.values(profiles)) {
    process.stdout.write(
      `\n${p.label}: self time, ${p.busyMs.toFixed(0)} ms busy (${p.idleMs.toFixed(0)} ms idle)\n`,
    );
    for (const f of p.packages)
      process.stdout.write(
        `  ${String(f.share).padStart(5)}%  ${f.selfMs.toFixed(1).padStart(8)} ms  ${f.name}\n`,
      );
    process.stdout.write('  top functions:\n');
    for (const f of p.top)
      process.stdout.write(
        `  ${String(f.share).padStart(5)}%  ${f.selfMs.toFixed(1).padStart(8)} ms  ${f.fn}\n`,
      );
  }
  process.stdout.write(`\nwall time ${wallSeconds.toFixed(0)} s on ${describe(machine)}\n`);
  writeResults(report);
  if (failed) process.exitCode = 1;
}

function scenarioContext(scenario, upstream) {
  return {
    opts,
    upstream,
    tmp,
    logFile: (name) => join(tmp, `${name}.log`),
    progress: (message) => progress(`  ${scenario.id}: ${message}`),
    profileOptions: (name) =>
      args['cpu-prof']
        ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${name}.cpuprofile`]
        : [],
    collectProfile: async (name, label) => {
      if (!args['cpu-prof']) return;
      try {
        const file = join(profileDir, `${name}.cpuprofile`);
        profiles[name] = { label, ...summarizeProfile(file, ROOT) };
      } catch (err) {
        progress(`  no profile summary for ${name}: ${err.message}`);
      }
    },
  };
}

function writeResults(report) {
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const text = `${JSON.stringify(report, null, 2)}\n`;
  // A profiled run's figures are slowed down by the profiler: keep them out
  // of latest.json.
  const file = opts.cpuProf ? 'profile.json' : 'latest.json';
  writeFileSync(join(dir, file), text);
  const written = [`bench/results/${file}`];
  if (args.name !== undefined) {
    writeFileSync(join(dir, `${args.name}.json`), text);
    written.push(`bench/results/${args.name}.json`);
  }
  process.stdout.write(`wrote ${written.join(', ')}\n`);
}

function buildOptions() {
  const quick = args.quick === true;
  const largeMiB = Number(process.env.BENCH_LARGE_MB ?? (quick ? 64 : 1024));
  if (!Number.isInteger(largeMiB) || largeMiB <= 0)
    fail(`BENCH_LARGE_MB must be a positive integer, got ${process.env.BENCH_LARGE_MB}`);
  const positive = (raw, fallback, flag) => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!(n > 0)) fail(`${flag} must be a positive number, got ${raw}`);
    return n;
  };
  return {
    quick,
    rounds: Math.round(positive(args.rounds, quick ? 2 : 5, '--rounds')),
    durationS: positive(args.duration, quick ? 1 : 2, '--duration'),
    warmupS: quick ? 0.5 : 1,
    concurrency: [16, 64],
    latencyCount: quick ? 300 : 2000,
    mcpConnections: 16,
    largeMiB,
    largeRounds: quick ? 2 : 3,
    largeTimeoutS: positive(process.env.BENCH_LARGE_TIMEOUT_S, 120, 'BENCH_LARGE_TIMEOUT_S'),
    startRounds: quick ? 3 : 10,
    largeStartRounds: quick ? 1 : 3,
    startTimeoutS: 60,
    scaleServices: quick ? 20 : 200,
    scaleOperations: 10,
    validateFiles: quick ? 50 : 500,
    validateRounds: quick ? 1 : 3,
    cpuProf: args['cpu-prof'] === true,
    maxMinutes: 20,
  };
}

function selectScenarios(only) {
  if (only === undefined) return SCENARIOS;
  const wanted = only
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const picked = SCENARIOS.filter((s) => wanted.includes(s.id) || wanted.includes(s.key));
  const unknown = wanted.filter((w) => !SCENARIOS.some((s) => s.id === w || s.key === w));
  if (unknown.length > 0 || picked.length === 0)
    fail(`--only: unknown scenario ${unknown.join(', ') || only}\n\n${USAGE}`);
  return picked;
}

function build() {
  progress('building dist/ (npm run build)');
  const result = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
  if (result.status !== 0) fail('npm run build failed; the benchmark measures dist/');
}

function describe(machine) {
  return `${machine.nproc} × ${machine.cpu}, Node ${machine.node}`;
}

function progress(message) {
  const seconds = ((Date.now() - started) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[${seconds} s] ${message}\n`);
}

function fail(message) {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}
