/**
 * When an upstream call is tried again, and how long we wait first. Only
 * requests that are safe to repeat are retried (RFC 9110 section 9.2.2):
 * GET, HEAD and OPTIONS, or an operation hinted idempotent. Anything else
 * might act twice, so its first answer is final.
 */

/** Retry settings of one consumed namespace. */
export interface RetryPolicy {
  /** Most tries in all, the first included; 1 turns retries off. */
  readonly attempts: number;
  /** First backoff wait (ms); it doubles on each further retry. */
  readonly backoffMs: number;
  /** Longest wait we honour (ms), from `Retry-After` or backoff; longer means give up. */
  readonly maxWaitMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({
  attempts: 3,
  backoffMs: 250,
  maxWaitMs: 30_000,
});

/** Overload and gateway answers: the request was not acted on, or can be repeated. */
const RETRY_STATUSES = new Set([429, 502, 503, 504]);

/**
 * Socket failures that happen before the upstream said anything. A
 * headers timeout is not among them: the upstream has the request and may
 * be working on it, so a second copy would only add load.
 */
const RETRY_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** True when repeating the request cannot act twice. */
export function isRepeatable(method: string, idempotentHint: boolean): boolean {
  return idempotentHint || SAFE_METHODS.has(method.toUpperCase());
}

export function isRetryStatus(status: number): boolean {
  return RETRY_STATUSES.has(status);
}

/** True for a connection failure before any response byte. */
export function isRetryError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  const causeCode = ((err as { cause?: { code?: unknown } } | null)?.cause)?.code;
  return RETRY_ERROR_CODES.has(String(code)) || RETRY_ERROR_CODES.has(String(causeCode));
}

/**
 * `Retry-After` (RFC 9110 section 10.2.3) in ms: delay-seconds or an
 * HTTP-date. Undefined when absent or unreadable; a date in the past is 0.
 */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (text === undefined || text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Every HTTP-date form names a day or month; this keeps `-1` from reading as a year.
  const at = /[a-z]/i.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * Exponential backoff with jitter: the n-th retry waits a random time
 * between half and all of `backoffMs * 2^(n-1)`, so callers that failed
 * together do not come back together.
 */
export function backoffDelay(retry: number, policy: RetryPolicy, random = Math.random): number {
  const ceiling = Math.min(policy.maxWaitMs, policy.backoffMs * 2 ** (retry - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
