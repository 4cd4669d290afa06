import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { ConsumesSpec, HttpMethod } from '../spec/types.js';
import { pickHeaders, rejectCredentialFailure, type CallResult } from './call.js';
import { classifyBodyError, guardBody, sendUpstream, type UpstreamPolicy } from './client.js';
import type { RequestPlan } from './request.js';
import { isRepeatable } from './retry.js';

/** One request a REST `forward` resource hands on. */
export interface ForwardRequest {
  readonly method: string;
  /** The rest of the path after the resource prefix, still percent-encoded. */
  readonly rest: string;
  /** The query string with its `?`, or empty. */
  readonly search: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body?: string | Buffer;
  readonly signal?: AbortSignal;
}

export type Forwarder = (request: ForwardRequest) => Promise<CallResult>;

export interface ForwardOptions {
  readonly consumes: ConsumesSpec;
  /** A plan of the namespace with an empty path: its base URI, headers and authentication. */
  readonly base: RequestPlan;
  readonly trustedHeaders: readonly string[];
  readonly dispatcher: Dispatcher;
  readonly policy: UpstreamPolicy;
  readonly logger?: Logger;
}

/**
 * REST forward (spec ForwardConfig): the request goes to the target
 * namespace's base URI plus the rest of the path, same method and body.
 * Only `trustedHeaders` of the caller travel (case-insensitive), then the
 * namespace's own headers and authentication. Without namespace
 * authentication the caller's Authorization travels too, so a 401 is the
 * caller's to see. Unlike the reference engine the query string is kept.
 */
export function bindForward(options: ForwardOptions): Forwarder {
  const trusted = new Set(options.trustedHeaders.map((h) => h.toLowerCase()));
  const ownAuth = options.consumes.authentication !== undefined;

  return async (req) => {
    const base = options.base.build(new Map());
    const [basePath, baseQuery] = splitQuery(base.path);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      const lower = name.toLowerCase();
      const passes = trusted.has(lower) || (!ownAuth && lower === 'authorization') || lower === 'content-type';
      if (passes && value !== undefined) headers[lower] = Array.isArray(value) ? value.join(', ') : value;
    }
    Object.assign(headers, base.headers);
    const query = [baseQuery, req.search.replace(/^\?/, '')].filter((q) => q !== '').join('&');
    const request = {
      method: req.method as HttpMethod,
      origin: base.origin,
      path: `${basePath.replace(/\/+$/, '')}/${req.rest}${query === '' ? '' : `?${query}`}`,
      headers,
      body: req.body === undefined || req.body.length === 0 ? undefined : req.body,
    };
    const started = performance.now();
    const response = await sendUpstream(options.dispatcher, request, {
      policy: options.policy,
      signal: req.signal,
      repeatable: isRepeatable(request.method, false),
      namespace: options.consumes.namespace,
      logger: options.logger,
    });
    // Without namespace authentication a 401 answers the caller's own credentials.
    if (ownAuth) await rejectCredentialFailure(response, options.consumes.namespace);
    const body = guardBody(response.body, (err) => classifyBodyError(err, request, options.policy.timeouts));
    return { kind: 'stream', status: response.statusCode, headers: pickHeaders(response), body, upstreamMs: performance.now() - started };
  };
}

function splitQuery(path: string): [string, string] {
  const at = path.indexOf('?');
  return at < 0 ? [path, ''] : [path.slice(0, at), path.slice(at + 1)];
}
