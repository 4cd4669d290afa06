import { Agent, errors as undiciErrors, type Dispatcher } from 'undici';
import { CapabilityError } from '../errors/capability-error.js';
import type { UpstreamRequest } from './request.js';

/** Timeouts of upstream calls, in milliseconds. */
export interface UpstreamTimeouts {
  /** TCP (and TLS) connection establishment. */
  readonly connectMs: number;
  /** From sending the request to the end of the response headers. */
  readonly headersMs: number;
  /** Longest silence between two body chunks; a long, healthy download is never cut. */
  readonly bodyIdleMs: number;
}

export const DEFAULT_TIMEOUTS: UpstreamTimeouts = Object.freeze({
  connectMs: 10_000,
  headersMs: 30_000,
  bodyIdleMs: 60_000,
});

/** One shared dispatcher: undici keeps a connection pool per origin inside it. */
export function createUpstreamAgent(timeouts: UpstreamTimeouts = DEFAULT_TIMEOUTS): Agent {
  return new Agent({
    connect: { timeout: timeouts.connectMs },
    headersTimeout: timeouts.headersMs,
    bodyTimeout: timeouts.bodyIdleMs,
    keepAliveTimeout: 10_000,
    connections: 128,
  });
}

export type UpstreamResponse = Dispatcher.ResponseData;

/**
 * Sends one request. Transport failures become CapabilityErrors with a
 * stable code; HTTP error statuses are answers, not failures, and are
 * returned for the caller to map.
 */
export async function sendUpstream(
  dispatcher: Dispatcher,
  request: UpstreamRequest,
  signal?: AbortSignal,
): Promise<UpstreamResponse> {
  try {
    return await dispatcher.request({
      origin: request.origin,
      path: request.path,
      method: request.method,
      headers: request.headers,
      body: request.body as Dispatcher.DispatchOptions['body'],
      signal,
    });
  } catch (cause) {
    throw classifyTransportError(cause, request);
  }
}

/** Maps undici and socket errors to our codes, without echoing the query. */
export function classifyTransportError(cause: unknown, request: UpstreamRequest): CapabilityError {
  const target = `${request.method} ${request.origin}${request.path.split('?')[0]}`;
  if (
    cause instanceof undiciErrors.ConnectTimeoutError ||
    cause instanceof undiciErrors.HeadersTimeoutError ||
    cause instanceof undiciErrors.BodyTimeoutError
  ) {
    return new CapabilityError('CAP_UPSTREAM_TIMEOUT', `upstream timed out: ${target} (${(cause as Error).message})`, {
      cause,
      data: { upstream: request.origin },
    });
  }
  const code = (cause as { code?: string }).code ?? 'unknown';
  return new CapabilityError('CAP_UPSTREAM_UNREACHABLE', `upstream unreachable: ${target} (${code})`, {
    cause,
    data: { upstream: request.origin, reason: code },
  });
}
