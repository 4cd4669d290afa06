import { CapabilityError, formatLocation } from '../errors/capability-error.js';
import type { ErrorCode } from '../errors/codes.js';

/** One finding about a capability file, located in its source. */
export interface Diagnostic {
  readonly severity: 'error' | 'warning';
  readonly code: ErrorCode;
  readonly message: string;
  readonly file: string;
  readonly pointer: string;
  readonly line: number;
  readonly column: number;
}

/** Most diagnostics listed for one file before "... and N more". */
export const MAX_LISTED_DIAGNOSTICS = 100;

/** `file:line:column: severity CODE message (at /pointer)`. */
export function formatDiagnostic(d: Diagnostic): string {
  const at = d.pointer === '' ? '' : ` (at ${d.pointer})`;
  return `${formatLocation(d)}${d.severity} ${d.code} ${d.message}${at}`;
}

/**
 * The listing of a set of diagnostics: at most {@link MAX_LISTED_DIAGNOSTICS}
 * lines, then one line counting the rest.
 */
export function listDiagnostics(diagnostics: readonly Diagnostic[]): string[] {
  const lines = diagnostics.slice(0, MAX_LISTED_DIAGNOSTICS).map(formatDiagnostic);
  const rest = diagnostics.length - MAX_LISTED_DIAGNOSTICS;
  if (rest > 0) lines.push(`... and ${rest} more`);
  return lines;
}

/**
 * One CapabilityError for a file with errors: its code is the first error's,
 * its message lists them all (capped), and `data.diagnostics` carries every
 * one of them for callers that print them their own way.
 */
export function diagnosticsError(file: string, diagnostics: readonly Diagnostic[]): CapabilityError {
  const errors = diagnostics.filter((d) => d.severity === 'error');
  const first = errors[0] ?? diagnostics[0];
  if (first === undefined) return new CapabilityError('CAP_INTERNAL', `${file}: no diagnostics to report`);
  const text = `${file}: ${countErrors(errors)}\n${listDiagnostics(errors).join('\n')}`;
  return new CapabilityError(first.code, text, {
    location: first,
    data: { diagnostics: errors },
  });
}

/**
 * `1 error`, `3 errors`, or `2 errors (CAP_A, CAP_B)` when the codes differ:
 * the error carries the first code only, and a summary line must not let
 * that one code stand for causes of another kind.
 */
function countErrors(errors: readonly Diagnostic[]): string {
  const count = errors.length === 1 ? '1 error' : `${errors.length} errors`;
  const codes = [...new Set(errors.map((d) => d.code))];
  return codes.length > 1 ? `${count} (${codes.join(', ')})` : count;
}
