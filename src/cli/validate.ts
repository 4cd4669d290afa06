import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { listDiagnostics, MAX_LISTED_DIAGNOSTICS } from '../spec/diagnostic.js';
import { validateFile, type ValidationReport } from '../spec/loader.js';

const EXIT_VALID = 0;
const EXIT_INVALID = 1;
const EXIT_USAGE = 2;

/**
 * `validate`: every diagnostic of a file (at most MAX_LISTED_DIAGNOSTICS,
 * then a count of the rest), then one summary line for it. Exit 0 when
 * every file is valid (warnings allowed), 1 when one is not, 2 when a path
 * names nothing to validate.
 */
export async function runValidate(paths: readonly string[], strict: boolean, format: 'text' | 'json'): Promise<number> {
  const files: string[] = [];
  for (const path of paths) {
    const found = await expand(path);
    if (found.length === 0) {
      process.stderr.write(`naftiko-ts validate: ${path} is a directory with no .yaml or .yml file\n`);
      return EXIT_USAGE;
    }
    files.push(...found);
  }

  const reports: ValidationReport[] = [];
  for (const file of files) reports.push(await validateFile(file, { strict }));

  if (format === 'json') process.stdout.write(`${JSON.stringify({ files: reports.map(toJson) }, null, 2)}\n`);
  else for (const report of reports) process.stdout.write(toText(report));
  return reports.every((r) => r.valid) ? EXIT_VALID : EXIT_INVALID;
}

function toText(report: ValidationReport): string {
  const lines = listDiagnostics(report.diagnostics);
  lines.push(`${report.file}: ${summary(report)}`);
  return `${lines.map((line) => `${line}\n`).join('')}`;
}

function summary(report: ValidationReport): string {
  const { errors, warnings } = count(report);
  const what = { consumes: 'consumes-only document', capability: 'capability', unknown: 'file' }[report.kind];
  const verdict = report.valid ? `valid ${what}` : `invalid ${what}`;
  return `${verdict} (${plural(errors, 'error')}, ${plural(warnings, 'warning')})`;
}

/** The same listing as text: the first diagnostics, and how many were left out. */
function toJson(report: ValidationReport) {
  const { errors, warnings } = count(report);
  return {
    file: report.file,
    kind: report.kind,
    valid: report.valid,
    errors,
    warnings,
    diagnostics: report.diagnostics.slice(0, MAX_LISTED_DIAGNOSTICS),
    omitted: Math.max(0, report.diagnostics.length - MAX_LISTED_DIAGNOSTICS),
  };
}

function count(report: ValidationReport): { errors: number; warnings: number } {
  const errors = report.diagnostics.filter((d) => d.severity === 'error').length;
  return { errors, warnings: report.diagnostics.length - errors };
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** A directory becomes its .yaml and .yml files, sorted; anything else stays as given. */
async function expand(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined || !info.isDirectory()) return [path];
  const entries = await readdir(path, { recursive: true });
  return entries
    .filter((e) => /\.ya?ml$/i.test(e))
    .map((e) => join(path, e))
    .sort();
}
