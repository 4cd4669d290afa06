// Load generation. Throughput comes from autocannon; latency at
// concurrency 1 is timed here with process.hrtime.bigint(), because
// autocannon's histogram has whole-millisecond resolution. Every answer is
// checked: a non-2xx status, a transport error or an unexpected body makes
// the round invalid, so fast errors never pass for throughput.
import autocannon from 'autocannon';
import { Client } from 'undici';

/**
 * Runs autocannon for `durationS` seconds.
 * `verify(body)` must return true for a good answer.
 */
export async function measureThroughput({
  url,
  method = 'GET',
  headers,
  body,
  connections,
  durationS,
  verify,
}) {
  const result = await autocannon({
    url,
    method,
    headers,
    body,
    connections,
    duration: durationS,
    timeout: 10,
    verifyBody: verify,
  });
  const bad = result.non2xx + result.errors + result.timeouts + result.mismatches;
  return {
    rps: result.requests.total / result.duration,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    mismatches: result.mismatches,
    valid: bad === 0 && result.requests.total > 0,
  };
}

/**
 * Sends `count` requests one after another on one keep-alive connection
 * (after `warmup` untimed ones) and times each from send to last body
 * byte. Stops early at `maxMs`.
 */
export async function measureLatency({
  url,
  path,
  method = 'GET',
  headers,
  body,
  count,
  warmup = 50,
  maxMs = 10_000,
  verify,
}) {
  const client = new Client(url, { pipelining: 1 });
  // Untimed requests first: open the connection, settle the JIT.
  for (let i = 0; i < warmup; i++)
    await (await client.request({ path, method, headers, body })).body.dump();
  const samples = new Float64Array(count);
  let n = 0;
  let non2xx = 0;
  let mismatches = 0;
  let errors = 0;
  const deadline = performance.now() + maxMs;
  try {
    while (n < count && performance.now() < deadline) {
      const started = process.hrtime.bigint();
      try {
        const res = await client.request({ path, method, headers, body });
        const text = await res.body.text();
        samples[n++] = Number(process.hrtime.bigint() - started) / 1e6;
        if (res.statusCode < 200 || res.statusCode > 299) non2xx++;
        else if (verify !== undefined && !verify(text)) mismatches++;
      } catch {
        errors++;
        if (errors > 10) break;
      }
    }
  } finally {
    await client.close();
  }
  const sorted = Array.from(samples.subarray(0, n)).sort((a, b) => a - b);
  return {
    count: n,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    meanMs: sorted.reduce((s, x) => s + x, 0) / Math.max(n, 1),
    non2xx,
    errors,
    mismatches,
    valid: n > 0 && non2xx + errors + mismatches === 0,
  };
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
