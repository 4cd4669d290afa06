// Scenario 5: `naftiko-ts validate` over a directory of 500 capabilities,
// against reading and parsing the same files with no schema at all.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeScaleCapability, writeValidationSet } from '../lib/generate.mjs';
import { startNode } from '../lib/processes.mjs';
import { row } from '../lib/report.mjs';
import { alternate, combine, medianRatio, summarize } from '../lib/rounds.mjs';
import { MAIN, PREFECT_FILE, ROOT } from '../lib/runtime.mjs';

const FLOOR = join(ROOT, 'bench/baselines/yaml-parse.mjs');

/** The summary line of a valid file: `<file>: valid … (0 errors, 31 warnings)`. */
const VALID_LINE = /: valid\b[^(]*\(\d+ errors?, \d+ warnings?\)$/;

export async function runValidate(ctx) {
  const { opts } = ctx;
  const dir = writeValidationSet(join(ctx.tmp, 'validate-set'), opts.validateFiles, PREFECT_FILE);
  const one = join(dir, 'capability-000.yaml');
  // One file of about 1 MiB (issue: "a 1 MB capability"), written compactly.
  const big = writeScaleCapability(join(ctx.tmp, 'one-mib.yaml'), { services: 100, operations: 10, baseUri: 'http://127.0.0.1:9' });
  const bigBytes = statSync(big).size;
  const targets = [
    { name: 'ours', args: [MAIN, 'validate', dir], files: opts.validateFiles, checkValid: true },
    { name: 'yaml-parse', args: [FLOOR, dir], files: opts.validateFiles },
    { name: 'ours-one-file', args: [MAIN, 'validate', one], files: 1, checkValid: true },
    { name: 'ours-1mib', args: [MAIN, 'validate', big], files: 1, checkValid: true },
  ];
  ctx.progress(
    `${opts.validateRounds} rounds × ${targets.length} commands (${opts.validateFiles} files)`,
  );
  const raw = await alternate(targets, opts.validateRounds, (t) => timeCommand(ctx, t));

  const ours = summarize(raw.ours, 'filesPerS');
  const floor = summarize(raw['yaml-parse'], 'filesPerS');
  const wallAll = summarize(raw.ours, 'seconds').median;
  const wallOne = summarize(raw['ours-one-file'], 'seconds').median;
  const rows = [
    row({
      scenario: '5',
      measure: `validate ${opts.validateFiles} files, end to end`,
      unit: 'files/s',
      ours: ours.median,
      baseline: floor.median,
      baselineName: 'yaml-parse',
      ratio: medianRatio(raw.ours, raw['yaml-parse'], 'filesPerS'),
      summary: combine(ours, floor),
    }),
    row({
      scenario: '5',
      measure: 'validate, per file after process start',
      unit: 'ms',
      ours: ((wallAll - wallOne) * 1000) / (opts.validateFiles - 1),
      summary: combine(summarize(raw.ours, 'seconds'), summarize(raw['ours-one-file'], 'seconds')),
      note: `(t(${opts.validateFiles} files) - t(1 file)) / ${opts.validateFiles - 1}`,
    }),
    row({
      scenario: '5',
      measure: `validate one ${(bigBytes / 1024 / 1024).toFixed(2)} MiB capability (1000 operations), end to end`,
      unit: 'files/s',
      ours: summarize(raw['ours-1mib'], 'filesPerS').median,
      summary: summarize(raw['ours-1mib'], 'filesPerS'),
    }),
  ];
  return { rows, raw };
}

/**
 * Runs one command to completion. Valid when it exits 0 and, for
 * validate, every file is reported valid.
 */
async function timeCommand(ctx, target) {
  const logFile = ctx.logFile(`validate-${target.name}`);
  const proc = startNode(target.name, target.args, { logFile });
  const { code } = await proc.exited;
  const seconds = Number(process.hrtime.bigint() - proc.startedAt) / 1e9;
  let validFiles;
  let error;
  if (target.checkValid) {
    const out = readFileSync(logFile, 'utf8');
    validFiles = out.split('\n').filter((l) => VALID_LINE.test(l)).length;
    if (code !== 0) error = `exit ${code}: ${firstErrors(out)}`;
    else if (validFiles !== target.files)
      error = `${validFiles} of ${target.files} files reported valid`;
  } else if (code !== 0) {
    error = `exit ${code}`;
  }
  return {
    seconds,
    filesPerS: target.files / seconds,
    exitCode: code,
    validFiles,
    errors: error === undefined ? 0 : 1,
    error,
    valid: error === undefined,
  };
}

function firstErrors(out) {
  return out
    .split('\n')
    .filter((l) => /error|invalid/i.test(l) && !/warning/.test(l))
    .slice(0, 3)
    .join(' | ')
    .slice(0, 500);
}
