import { randomBytes } from 'node:crypto';

// Trace ids: a random prefix per process and a counter, unique without
// drawing 16 random bytes on every request.
const TRACE_PREFIX = randomBytes(8).toString('hex');
let traceCounter = 0;

/** One finished request on an exposed adapter. */
export interface RequestRecord {
  readonly adapter: string;
  readonly method: string;
  /** Path without the query string: queries may carry secrets. */
  readonly path: string;
  readonly status: number;
  readonly durationMs: number;
}

export interface TraceEntry extends RequestRecord {
  readonly traceId: string;
  readonly startTime: string;
}

/** Default number of traces kept in memory (spec 1.9, traces.local.buffer-size). */
export const DEFAULT_TRACE_BUFFER = 100;

/**
 * In-process request counters and a ring buffer of recent requests, served
 * by the control adapter. Counters are per adapter, method and status class
 * so their number stays bounded whatever paths callers try.
 */
export class Telemetry {
  readonly #counts = new Map<string, { count: number; seconds: number }>();
  readonly #traces: TraceEntry[] = [];
  readonly #bufferSize: number;

  constructor(bufferSize = DEFAULT_TRACE_BUFFER) {
    this.#bufferSize = Math.max(0, bufferSize);
  }

  record(entry: RequestRecord): void {
    const key = `${entry.adapter}\u0000${entry.method}\u0000${Math.floor(entry.status / 100)}xx`;
    const c = this.#counts.get(key) ?? { count: 0, seconds: 0 };
    c.count++;
    c.seconds += entry.durationMs / 1000;
    this.#counts.set(key, c);
    if (this.#bufferSize === 0) return;
    const traceId = `${TRACE_PREFIX}${(traceCounter++).toString(16).padStart(16, '0')}`;
    this.#traces.push({ ...entry, traceId, startTime: new Date(Date.now() - entry.durationMs).toISOString() });
    if (this.#traces.length > this.#bufferSize) this.#traces.shift();
  }

  /** Prometheus text exposition format 0.0.4. */
  metricsText(): string {
    const lines = [
      '# HELP naftiko_requests_total Requests answered by exposed adapters.',
      '# TYPE naftiko_requests_total counter',
    ];
    const seconds = ['# HELP naftiko_request_duration_seconds_sum Time spent answering requests.', '# TYPE naftiko_request_duration_seconds_sum counter'];
    for (const [key, c] of [...this.#counts].sort(([a], [b]) => a.localeCompare(b))) {
      const [adapter, method, status] = key.split('\u0000');
      const labels = `adapter="${escapeLabel(adapter!)}",method="${method}",status="${status}"`;
      lines.push(`naftiko_requests_total{${labels}} ${c.count}`);
      seconds.push(`naftiko_request_duration_seconds_sum{${labels}} ${c.seconds.toFixed(6)}`);
    }
    return `${[...lines, ...seconds].join('\n')}\n`;
  }

  traces(): readonly TraceEntry[] {
    return [...this.#traces].reverse();
  }

  trace(id: string): TraceEntry | undefined {
    return this.#traces.find((t) => t.traceId === id);
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
