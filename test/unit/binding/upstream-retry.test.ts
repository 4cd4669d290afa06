import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_RETRY, isRepeatable, isRetryError, isRetryStatus, parseRetryAfter } from '../../../src/binding/retry.js';

describe('retry policy', () => {
  it('repeats only safe methods, or any method hinted idempotent', () => {
    expect(['GET', 'HEAD', 'OPTIONS'].map((m) => isRepeatable(m, false))).toEqual([true, true, true]);
    expect(['POST', 'PUT', 'PATCH', 'DELETE'].map((m) => isRepeatable(m, false))).toEqual([false, false, false, false]);
    expect(isRepeatable('PUT', true)).toBe(true);
  });

  it('retries 429, 502, 503 and 504, never 400, 401, 403, 404, 422 or 500', () => {
    expect([429, 502, 503, 504].every(isRetryStatus)).toBe(true);
    expect([400, 401, 403, 404, 422, 500, 501].some(isRetryStatus)).toBe(false);
  });

  it('retries connection failures before an answer, not a headers timeout', () => {
    expect(isRetryError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isRetryError(Object.assign(new Error('x'), { code: 'UND_ERR_SOCKET' }))).toBe(true);
    expect(isRetryError({ cause: { code: 'ECONNRESET' } })).toBe(true);
    expect(isRetryError(Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' }))).toBe(false);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-07-01T10:00:00Z');
    expect(parseRetryAfter('1', now)).toBe(1000);
    expect(parseRetryAfter(' 120 ', now)).toBe(120_000);
    expect(parseRetryAfter('Wed, 01 Jul 2026 10:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Wed, 01 Jul 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(['2', '3'], now)).toBe(2000);
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-1', now)).toBeUndefined();
  });

  it('backs off exponentially with jitter between half and all of the step, capped by max-wait', () => {
    expect(backoffDelay(1, DEFAULT_RETRY, () => 0)).toBe(125);
    expect(backoffDelay(1, DEFAULT_RETRY, () => 1)).toBe(250);
    expect(backoffDelay(2, DEFAULT_RETRY, () => 1)).toBe(500);
    expect(backoffDelay(3, DEFAULT_RETRY, () => 0.5)).toBe(750);
    expect(backoffDelay(20, { ...DEFAULT_RETRY, maxWaitMs: 1000 }, () => 1)).toBe(1000);
  });
});
