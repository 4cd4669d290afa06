import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isCapabilityError } from '../errors/capability-error.js';
import { loadCapability, formatDiagnostic, type Diagnostic } from '../spec/loader.js';

/**
 * `validate`: one summary line per file, every diagnostic above it.
 * Exit 0 when every file is valid (warnings allowed), else 1.
 */
export async function runValidate(paths: readonly string[], strict: boolean, format: 'text' | 'json'): Promise<number> {
  const files = (await Promise.all(paths.map(expand))).flat();
  const reports: { file: string; valid: boolean; diagnostics: Diagnostic[] }[] = [];
  for (const file of files) {
    try {
      const loaded = await loadCapability(file, { strict });
      reports.push({ file, valid: true, diagnostics: [...loaded.warnings] });
    } catch (err) {
      const diagnostics = isCapabilityError(err) && Array.isArray(err.data.diagnostics)
        ? (err.data.diagnostics as Diagnostic[])
        : [toDiagnostic(file, err)];
      reports.push({ file, valid: false, diagnostics });
    }
  }
  if (format === 'json') process.stdout.write(`${JSON.stringify({ files: reports }, null, 2)}\n`);
  else for (const r of reports) printText(r);
  return reports.every((r) => r.valid) ? 0 : 1;
}

function printText(report: { file: string; valid: boolean; diagnostics: Diagnostic[] }): void {
  for (const d of report.diagnostics) process.stdout.write(`${formatDiagnostic(d)}\n`);
  const errors = report.diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = report.diagnostics.length - errors;
  const verdict = report.valid ? 'valid' : 'invalid';
  process.stdout.write(`${report.file}: ${verdict} (${errors} errors, ${warnings} warnings)\n`);
}

function toDiagnostic(file: string, err: unknown): Diagnostic {
  const ours = isCapabilityError(err);
  return {
    severity: 'error',
    code: ours ? err.code : 'CAP_INTERNAL',
    message: ours ? err.message.replace(`${file}: `, '') : String(err),
    file,
    pointer: ours ? (err.location?.pointer ?? '') : '',
    line: ours ? (err.location?.line ?? 1) : 1,
    column: ours ? (err.location?.column ?? 1) : 1,
  };
}

async function expand(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined || !info.isDirectory()) return [path];
  const entries = await readdir(path, { recursive: true });
  return entries
    .filter((e) => /\.ya?ml$/.test(e))
    .map((e) => join(path, e))
    .sort();
}
