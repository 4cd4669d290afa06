import { PassThrough, type Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { EnvHttpProxyAgent, errors as undiciErrors, type Dispatcher } from 'undici';
import { CapabilityError } from '../errors/capability-error.js';
import type { UpstreamRequest } from './request.js';
import {
  backoffDelay,
  DEFAULT_RETRY,
  isRetryError,
  isRetryStatus,
  parseRetryAfter,
  type RetryPolicy,
} from './retry.js';

/** Timeouts of upstream calls, in milliseconds. */
export interface UpstreamTimeouts {
  /** TCP (and TLS) connection establishment. */
  readonly connectMs: number;
  /** One try: from sending the request to the end of the response headers. */
  readonly headersMs: number;
  /** Longest silence between two body chunks; a long, healthy download is never cut. */
  readonly idleMs: number;
  /** Every try and wait together, up to the final response headers; never the body. */
  readonly deadlineMs: number;
}

export const DEFAULT_TIMEOUTS: UpstreamTimeouts = Object.freeze({
  connectMs: 10_000,
  headersMs: 30_000,
  idleMs: 60_000,
  deadlineMs: 60_000,
});

/** Redirects followed per call, to the same origin only. */
export const MAX_REDIRECTS = 3;

/** How calls to one consumed namespace behave. */
export interface UpstreamPolicy {
  readonly timeouts: UpstreamTimeouts;
  readonly retry: RetryPolicy;
}

export const DEFAULT_POLICY: UpstreamPolicy = Object.freeze({
  timeouts: DEFAULT_TIMEOUTS,
  retry: DEFAULT_RETRY,
});

/**
 * A dispatcher that honours `HTTP_PROXY`, `HTTPS_PROXY` and `NO_PROXY`
 * (lower-case spellings first) from `env`, with a connection pool per
 * origin. Extra CA certificates come from `NODE_EXTRA_CA_CERTS`, which
 * Node reads at start-up for every TLS connection.
 */
export function createUpstreamDispatcher(
  timeouts: UpstreamTimeouts,
  env: NodeJS.ProcessEnv,
): Dispatcher {
  const pick = (lower: string, upper: string) => env[lower] ?? env[upper] ?? '';
  return new EnvHttpProxyAgent({
    httpProxy: pick('http_proxy', 'HTTP_PROXY'),
    httpsProxy: pick('https_proxy', 'HTTPS_PROXY'),
    noProxy: pick('no_proxy', 'NO_PROXY'),
    connect: { timeout: timeouts.connectMs },
    headersTimeout: timeouts.headersMs,
    bodyTimeout: timeouts.idleMs,
    keepAliveTimeout: 10_000,
    connections: 128,
  });
}

/** One dispatcher per consumed namespace, so each has its own connect timeout. */
export interface UpstreamPool {
  dispatcherFor(namespace: string, timeouts: UpstreamTimeouts): Dispatcher;
  /** Ends every connection at once; in-flight calls fail. */
  destroy(): Promise<void>;
}

export function createUpstreamPool(env: NodeJS.ProcessEnv): UpstreamPool {
  const dispatchers = new Map<string, Dispatcher>();
  return {
    dispatcherFor(namespace, timeouts) {
      let dispatcher = dispatchers.get(namespace);
      if (dispatcher === undefined) {
        dispatcher = createUpstreamDispatcher(timeouts, env);
        dispatchers.set(namespace, dispatcher);
      }
      return dispatcher;
    },
    async destroy() {
      await Promise.allSettled([...dispatchers.values()].map((d) => d.destroy()));
    },
  };
}

export type UpstreamResponse = Dispatcher.ResponseData;

export interface SendOptions {
  readonly policy: UpstreamPolicy;
  /** The caller's signal: aborting it ends the call, body included. */
  readonly signal?: AbortSignal;
  /** Repeating the request cannot act twice (safe method or idempotent hint). */
  readonly repeatable: boolean;
  readonly namespace: string;
  readonly logger?: Logger;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Abort reason of a call that ran out of its deadline. */
class DeadlineExceeded extends Error {}

/**
 * Sends one call: tries, waits and same-origin redirects, all within the
 * deadline. Transport failures become CapabilityErrors with a stable code;
 * HTTP error statuses are answers, not failures, and are returned for the
 * caller to map. The deadline stops at the final response headers; after
 * them only the idle timeout and the caller's signal can end the body.
 */
export async function sendUpstream(
  dispatcher: Dispatcher,
  request: UpstreamRequest,
  options: SendOptions,
): Promise<UpstreamResponse> {
  const { timeouts } = options.policy;
  const controller = new AbortController();
  const onCallerAbort = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) onCallerAbort();
  options.signal?.addEventListener('abort', onCallerAbort, { once: true });
  const deadline = setTimeout(() => controller.abort(new DeadlineExceeded()), timeouts.deadlineMs);
  const release = () => options.signal?.removeEventListener('abort', onCallerAbort);

  try {
    const response = await runAttempts(dispatcher, request, options, controller.signal);
    response.body.once('close', release);
    return response;
  } catch (err) {
    release();
    throw err;
  } finally {
    clearTimeout(deadline);
  }
}

interface Attempt {
  method: UpstreamRequest['method'] | 'GET';
  path: string;
  headers: Record<string, string>;
  body: UpstreamRequest['body'];
}

async function runAttempts(
  dispatcher: Dispatcher,
  request: UpstreamRequest,
  options: SendOptions,
  signal: AbortSignal,
): Promise<UpstreamResponse> {
  const { timeouts, retry } = options.policy;
  const endsAt = performance.now() + timeouts.deadlineMs;
  const { method, path, headers, body } = request;
  const current: Attempt = { method, path, headers, body };
  let redirects = 0;

  for (let attempt = 1; ; attempt++) {
    let response: UpstreamResponse;
    try {
      response = await dispatcher.request({
        origin: request.origin,
        path: current.path,
        method: current.method,
        headers: current.headers,
        body: current.body as Dispatcher.DispatchOptions['body'],
        signal,
        headersTimeout: timeouts.headersMs,
        bodyTimeout: timeouts.idleMs,
      });
    } catch (cause) {
      const wait = backoffDelay(attempt, retry);
      if (signal.aborted || !canRetry(options, attempt, wait, endsAt) || !isRetryError(cause)) {
        throw classifyTransportError(signal.aborted ? signal.reason : cause, request, timeouts);
      }
      logRetry(options, request, current, attempt, wait, { error: errorCode(cause) });
      await pause(wait, signal, request, timeouts);
      continue;
    }

    const status = response.statusCode;
    if (REDIRECTS.has(status) && response.headers.location !== undefined) {
      followRedirect(current, request, response, ++redirects);
      await response.body.dump();
      attempt--;
      continue;
    }
    if (!isRetryStatus(status)) return response;
    const wait = parseRetryAfter(response.headers['retry-after']) ?? backoffDelay(attempt, retry);
    // Give up and pass the answer on (with its Retry-After) when waiting would overrun.
    if (!canRetry(options, attempt, wait, endsAt)) return response;
    await response.body.dump();
    logRetry(options, request, current, attempt, wait, { status });
    await pause(wait, signal, request, timeouts);
  }
}

function canRetry(options: SendOptions, attempt: number, waitMs: number, endsAt: number): boolean {
  const { retry } = options.policy;
  return options.repeatable
    && attempt < retry.attempts
    && waitMs <= retry.maxWaitMs
    && performance.now() + waitMs < endsAt;
}

async function pause(
  ms: number,
  signal: AbortSignal,
  request: UpstreamRequest,
  timeouts: UpstreamTimeouts,
): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    throw classifyTransportError(signal.reason, request, timeouts);
  }
}

function logRetry(
  options: SendOptions,
  request: UpstreamRequest,
  current: Attempt,
  attempt: number,
  waitMs: number,
  why: { status?: number; error?: string },
): void {
  // The path without its query: a query may carry an API key.
  options.logger?.warn(
    {
      namespace: options.namespace,
      upstream: request.origin,
      method: current.method,
      path: current.path.split('?')[0],
      attempt,
      nextAttempt: attempt + 1,
      ...why,
      waitMs,
    },
    'upstream retry',
  );
}

/**
 * Follows a redirect in place (RFC 9110 section 15.4). Only the same
 * origin: the request carries the runtime's credentials, which must never
 * reach a host the capability does not name. 303, and 301/302 after a
 * POST, continue as a GET without a body, as browsers do.
 */
function followRedirect(
  current: Attempt,
  request: UpstreamRequest,
  response: UpstreamResponse,
  count: number,
): void {
  const location = String(response.headers.location);
  let target: URL;
  try {
    target = new URL(location, request.origin + current.path);
  } catch {
    throw redirectError(request, `to an unreadable Location`);
  }
  if (target.origin !== request.origin) {
    const where = `to another origin (${target.origin})`;
    throw redirectError(request, `${where}; only same-origin redirects are followed`);
  }
  if (count > MAX_REDIRECTS) throw redirectError(request, `more than ${MAX_REDIRECTS} times`);

  const status = response.statusCode;
  if (status === 303 || ((status === 301 || status === 302) && current.method === 'POST')) {
    current.method = 'GET';
    current.body = undefined;
    const { 'content-type': _dropped, ...rest } = current.headers;
    current.headers = rest;
  }
  current.path = target.pathname + target.search;
}

function redirectError(request: UpstreamRequest, what: string): CapabilityError {
  return new CapabilityError(
    'CAP_UPSTREAM_REDIRECT',
    `upstream ${request.origin} redirected ${request.method} ${request.path.split('?')[0]} ${what}`,
    { data: { upstream: request.origin } },
  );
}

/** Maps undici and socket errors to our codes, without echoing the query. */
export function classifyTransportError(
  cause: unknown,
  request: UpstreamRequest,
  timeouts: UpstreamTimeouts = DEFAULT_TIMEOUTS,
): CapabilityError {
  const target = `${request.method} ${request.origin}${request.path.split('?')[0]}`;
  const data = { upstream: request.origin };
  if (cause instanceof DeadlineExceeded) {
    return new CapabilityError(
      'CAP_UPSTREAM_TIMEOUT',
      `upstream gave no final answer within the ${timeouts.deadlineMs} ms deadline: ${target}`,
      { cause, data: { ...data, timeout: 'deadline' } },
    );
  }
  const timeout = timeoutKind(cause);
  if (timeout !== undefined) {
    const limit = timeouts[TIMEOUT_FIELD[timeout]];
    const message = `upstream ${TIMEOUT_TEXT[timeout]} ${limit} ms: ${target}`;
    return new CapabilityError('CAP_UPSTREAM_TIMEOUT', message, {
      cause,
      data: { ...data, timeout },
    });
  }
  const code = errorCode(cause);
  return new CapabilityError('CAP_UPSTREAM_UNREACHABLE', `upstream unreachable: ${target} (${code})`, {
    cause,
    data: { ...data, reason: code },
  });
}

const TIMEOUT_FIELD = { connect: 'connectMs', headers: 'headersMs', idle: 'idleMs' } as const;

const TIMEOUT_TEXT = {
  connect: 'did not accept a connection within',
  headers: 'sent no response headers within',
  idle: 'sent no body data for',
} as const;

function timeoutKind(cause: unknown): keyof typeof TIMEOUT_TEXT | undefined {
  if (cause instanceof undiciErrors.ConnectTimeoutError) return 'connect';
  if (cause instanceof undiciErrors.HeadersTimeoutError) return 'headers';
  if (cause instanceof undiciErrors.BodyTimeoutError) return 'idle';
  return undefined;
}

function errorCode(cause: unknown): string {
  const own = (cause as { code?: unknown } | null)?.code;
  const inner = (cause as { cause?: { code?: unknown } } | null)?.cause?.code;
  return String(own ?? inner ?? (cause as Error | null)?.name ?? 'unknown');
}

/**
 * A failure while the body arrives, after the status was received: an
 * idle timeout, or the upstream closing the connection early.
 */
export function classifyBodyError(
  cause: unknown,
  request: UpstreamRequest,
  timeouts: UpstreamTimeouts,
): CapabilityError {
  if (timeoutKind(cause) !== undefined) return classifyTransportError(cause, request, timeouts);
  const target = `${request.method} ${request.origin}${request.path.split('?')[0]}`;
  const code = errorCode(cause);
  return new CapabilityError(
    'CAP_UPSTREAM_INCOMPLETE',
    `upstream ended the body before it was complete: ${target} (${code})`,
    { cause, data: { upstream: request.origin, reason: code } },
  );
}

/**
 * Hands a body on with backpressure, turning its transport errors into
 * CapabilityErrors. Destroying the returned stream (the client went away,
 * a reader stopped at its cap) destroys the upstream body, which aborts
 * the upstream request.
 */
export function guardBody(body: Readable, onError: (err: unknown) => CapabilityError): Readable {
  const out = new PassThrough();
  // A reader that only drains (a 304, a HEAD) listens for no error; one
  // arriving then (the caller aborting) must not crash the process.
  // Readers that do listen (pipe, for await) still receive it.
  out.on('error', () => {});
  body.on('error', (err) => out.destroy(onError(err)));
  out.once('close', () => {
    if (!body.destroyed) body.destroy();
  });
  body.pipe(out);
  return out;
}
