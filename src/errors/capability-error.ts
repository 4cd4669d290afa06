import { ERROR_CODES, type ErrorCode } from './codes.js';

/** Where in a capability file an error points. */
export interface SourceLocation {
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  /** JSON pointer into the parsed document, such as `/capability/consumes/0`. */
  readonly pointer?: string;
}

/** Options carried by every {@link CapabilityError}. */
export interface CapabilityErrorOptions {
  readonly location?: SourceLocation;
  /** Extra machine-readable facts: parameter name, upstream status, ... */
  readonly data?: Readonly<Record<string, unknown>>;
  readonly cause?: unknown;
}

/**
 * The one error class of the runtime. Match on `code`, not on `instanceof`:
 * two copies of this package can coexist in one process.
 */
export class CapabilityError extends Error {
  override readonly name = 'CapabilityError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly location: SourceLocation | undefined;
  readonly data: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: CapabilityErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.location = options.location;
    this.data = options.data ?? {};
  }
}

/** True for any error carrying one of our codes, whichever package copy made it. */
export function isCapabilityError(err: unknown): err is CapabilityError {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code in ERROR_CODES;
}

/** `file:line:column: ` prefix for messages, empty when nothing is known. */
export function formatLocation(location: SourceLocation | undefined): string {
  if (location?.file === undefined) return '';
  if (location.line === undefined) return `${location.file}: `;
  return `${location.file}:${location.line}:${location.column ?? 1}: `;
}
