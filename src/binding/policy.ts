import { DEFAULT_POLICY, type UpstreamPolicy, type UpstreamTimeouts } from './client.js';
import type { RetryPolicy } from './retry.js';

/**
 * Per-namespace upstream settings as the command line and environment give
 * them: `connect:2s,headers:10s` for timeouts, `attempts:3,max-wait:20s`
 * for retries. Layers apply in order, later keys win, so the caller lists
 * them from weakest (environment, every namespace) to strongest (command
 * line, one namespace).
 */
export interface PolicyLayer {
  /** `undefined`: every namespace; `env:NS`: the environment spelling; else one namespace. */
  readonly scope: string | undefined;
  readonly timeouts?: Partial<UpstreamTimeouts>;
  readonly retry?: Partial<RetryPolicy>;
}

const TIMEOUT_KEYS: Readonly<Record<string, keyof UpstreamTimeouts>> = {
  connect: 'connectMs',
  headers: 'headersMs',
  idle: 'idleMs',
  deadline: 'deadlineMs',
};

/** Parses `connect:2s,headers:10s,idle:30s,deadline:60s` (any subset). */
export function parseTimeoutList(text: string): Partial<UpstreamTimeouts> {
  const out: Partial<Record<keyof UpstreamTimeouts, number>> = {};
  for (const [key, value] of entries(text)) {
    const field = TIMEOUT_KEYS[key];
    if (field === undefined) throw new Error(`unknown timeout "${key}"; use ${Object.keys(TIMEOUT_KEYS).join(', ')}`);
    out[field] = parseDuration(value, `timeout ${key}`);
  }
  return out;
}

/** Parses `attempts:3,backoff:250ms,max-wait:30s` (any subset). */
export function parseRetryList(text: string): Partial<RetryPolicy> {
  const out: { -readonly [K in keyof RetryPolicy]?: number } = {};
  for (const [key, value] of entries(text)) {
    if (key === 'attempts') out.attempts = parseAttempts(value);
    else if (key === 'backoff') out.backoffMs = parseDuration(value, 'retry backoff');
    else if (key === 'max-wait') out.maxWaitMs = parseDuration(value, 'retry max-wait');
    else throw new Error(`unknown retry setting "${key}"; use attempts, backoff, max-wait`);
  }
  return out;
}

/** The policy of one namespace: the defaults, then every layer that names it. */
export function resolvePolicy(layers: readonly PolicyLayer[], namespace: string): UpstreamPolicy {
  const envName = `env:${namespace.toUpperCase().replace(/-/g, '_')}`;
  let { timeouts, retry } = DEFAULT_POLICY;
  for (const layer of layers) {
    if (layer.scope !== undefined && layer.scope !== namespace && layer.scope !== envName) continue;
    timeouts = { ...timeouts, ...layer.timeouts };
    retry = { ...retry, ...layer.retry };
  }
  return { timeouts, retry };
}

/** `500ms`, `2s`, `1.5m`; a unit is required so `30` is never misread. */
export function parseDuration(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text.trim());
  const ms = m === null ? NaN : Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
  if (!Number.isFinite(ms) || ms < 1 || ms > 3_600_000) {
    throw new Error(`${what} must be a duration from 1ms to 60m such as 500ms, 10s or 2m; got ${JSON.stringify(text)}`);
  }
  return Math.round(ms);
}

/** `16MiB`, `512KiB`, `1GiB` or plain bytes; at least 1 KiB. */
export function parseSize(text: string, what: string): number {
  const m = /^(\d+)\s*(B|KiB|MiB|GiB)?$/i.exec(text.trim());
  const unit = (m?.[2] ?? 'b').toLowerCase();
  const scale = unit === 'kib' ? 1024 : unit === 'mib' ? 1024 ** 2 : unit === 'gib' ? 1024 ** 3 : 1;
  const bytes = m === null ? NaN : Number(m[1]) * scale;
  if (!Number.isSafeInteger(bytes) || bytes < 1024) {
    throw new Error(`${what} must be a size of at least 1KiB such as 16MiB or 1048576; got ${JSON.stringify(text)}`);
  }
  return bytes;
}

function parseAttempts(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 10) {
    throw new Error(`retry attempts must be a whole number from 1 (no retry) to 10; got ${JSON.stringify(text)}`);
  }
  return n;
}

function entries(text: string): [string, string][] {
  return text.split(',').map((part) => part.trim()).filter((part) => part !== '').map((part) => {
    const at = part.indexOf(':');
    if (at <= 0) throw new Error(`expected <name>:<value>, got ${JSON.stringify(part)}`);
    return [part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim()];
  });
}
