// Rows, the printed table and the machine description.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

/**
 * One line of the table. `ratio` is ours ÷ baseline: the median of the
 * per-round ratios when given, else the ratio of the medians. `target` says
 * what the issue aims for and is reported, never asserted.
 */
export function row({
  scenario,
  measure,
  unit,
  ours,
  baseline,
  baselineName,
  ratio: pairedRatio,
  target,
  note,
  summary,
}) {
  const ratio = pairedRatio ?? (baseline === undefined ? undefined : ours / baseline);
  const met = target === undefined ? undefined : isMet(target, { ours, ratio });
  const invalid = summary === undefined ? 0 : summary.rounds - summary.validRounds;
  return {
    scenario,
    measure,
    unit,
    ours: finite(ours),
    baselineName,
    baseline: finite(baseline),
    ratio: finite(ratio),
    target,
    met,
    invalidRounds: invalid,
    rounds: summary?.rounds,
    non2xx: summary?.non2xx ?? 0,
    errors: summary?.errors ?? 0,
    mismatches: summary?.mismatches ?? 0,
    note,
  };
}

function isMet(target, values) {
  const value = values[target.on];
  if (!Number.isFinite(value)) return false;
  return target.op === '>=' ? value >= target.value : value < target.value;
}

function finite(x) {
  return Number.isFinite(x) ? x : null;
}

const OPS = { '>=': '≥', '<': '<' };

/** The table as Markdown, so it can be pasted into bench/README.md. */
export function formatTable(rows) {
  const header = ['#', 'measure', 'ours', 'baseline', 'ratio', 'target', 'met'];
  const lines = rows.map((r) => [
    r.scenario,
    `${r.measure}${r.unit ? ` (${r.unit})` : ''}`,
    r.ours === null ? 'n/a' : fmt(r.ours),
    r.baseline === null || r.baselineName === undefined
      ? ''
      : `${fmt(r.baseline)} ${r.baselineName}`,
    r.ratio === null ? '' : `${r.ratio.toFixed(2)}×`,
    r.target === undefined
      ? ''
      : `${r.target.on === 'ratio' ? 'ratio ' : ''}${OPS[r.target.op]} ${r.target.value}`,
    [r.met === undefined ? '' : r.met ? 'yes' : 'NO', invalidNote(r)].filter(Boolean).join(' '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const render = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [
    render(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...lines.map(render),
  ].join('\n');
}

/** Says how many rounds were thrown out, and for which bad answers. */
function invalidNote(r) {
  const bad = [
    r.non2xx > 0 ? `${r.non2xx} non-2xx` : '',
    r.errors > 0 ? `${r.errors} errors` : '',
    r.mismatches > 0 ? `${r.mismatches} bad bodies` : '',
  ].filter(Boolean);
  if (r.invalidRounds === 0 && bad.length === 0) return '';
  const why = bad.length > 0 ? `: ${bad.join(', ')}` : '';
  return `(${r.invalidRounds}/${r.rounds} rounds invalid${why})`;
}

export function fmt(x) {
  const abs = Math.abs(x);
  if (abs >= 1000) return Math.round(x).toString();
  if (abs >= 100) return x.toFixed(0);
  if (abs >= 10) return x.toFixed(1);
  if (abs >= 1) return x.toFixed(2);
  return x.toFixed(3);
}

/** nproc, CPU model, memory, Node version and the commit measured. */
export function describeMachine(root) {
  const cpuinfo = safe(() => readFileSync('/proc/cpuinfo', 'utf8'), '');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  return {
    nproc: Number(
      safe(() => execFileSync('nproc', { encoding: 'utf8' }).trim(), String(cpus().length)),
    ),
    cpu: model,
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    // BENCH_COMMIT labels a run made outside a git checkout (an export).
    commit:
      process.env.BENCH_COMMIT ??
      safe(
        () =>
          execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
            cwd: root,
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'ignore'],
          }).trim(),
        'unknown',
      ),
    dirty: safe(
      () =>
        execFileSync('git', ['status', '--porcelain', '--', 'src'], {
          cwd: root,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        }).trim() !== '',
      false,
    ),
  };
}

function safe(fn, fallback) {
  try {
    return fn();
  } catch {
    return fallback;
  }
}
