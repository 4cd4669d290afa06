import { digestAuthorization } from './digest.js';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { CapabilityError, isCapabilityError } from '../errors/capability-error.js';
import type { OutputParameterSpec, WithSpec } from '../spec/types.js';
import {
  classifyBodyError,
  DEFAULT_POLICY,
  guardBody,
  sendUpstream,
  type UpstreamPolicy,
  type UpstreamResponse,
} from './client.js';
import { convertRawBody, isRawFormat, normalizeRawFormat } from './formats.js';
import { isPassThrough, mapOutput } from './output.js';
import type { RequestPlan, UpstreamRequest } from './request.js';
import { isRepeatable } from './retry.js';
import { compileTemplate, renderTemplate, stringifyValue, type Template } from './template.js';

/** How one `with` entry gets its value. */
export type WithSource =
  | { readonly kind: 'input'; readonly name: string }
  | { readonly kind: 'template'; readonly template: Template }
  | { readonly kind: 'constant'; readonly value: unknown };

/** Response headers that travel back to the caller. */
const FORWARDED_HEADERS = [
  'content-type',
  'content-disposition',
  'etag',
  'last-modified',
  'cache-control',
  'retry-after',
  'content-length',
] as const;

/** The upstream answer shaped for an adapter. */
export type CallResult =
  | {
      readonly kind: 'value';
      readonly status: number;
      readonly headers: Readonly<Record<string, string>>;
      readonly value: unknown;
      readonly upstreamMs: number;
    }
  | {
      readonly kind: 'stream';
      readonly status: number;
      readonly headers: Readonly<Record<string, string>>;
      readonly body: Readable;
      readonly upstreamMs: number;
    };

export interface InvokeOptions {
  readonly signal?: AbortSignal;
  /**
   * `stream`: a pass-through output is handed on as bytes (REST).
   * `value`: a JSON pass-through is parsed so it can be structured (MCP).
   */
  readonly mode: 'stream' | 'value';
  /** Caller headers forwarded as they are (conditional request headers). */
  readonly forwardHeaders?: Readonly<Record<string, string>>;
  /** Logger of this request (with its reqId); the binding's logger otherwise. */
  readonly logger?: Logger;
}

export interface BoundCallOptions {
  readonly plan: RequestPlan;
  readonly withSpec: WithSpec | undefined;
  readonly outputs: readonly OutputParameterSpec[] | undefined;
  /** Prefixes that refer to a caller input: `<namespace>.`, and `rest.`/`tools.` in the dialect. */
  readonly inputPrefixes: readonly string[];
  readonly binds: ReadonlyMap<string, string>;
  readonly dispatcher: Dispatcher;
  /** Largest body we read into memory for mapping (bytes). */
  readonly maxBufferBytes: number;
  /** Timeouts and retries of the consumed namespace; defaults otherwise. */
  readonly policy?: UpstreamPolicy;
  /** The exposed operation says repeating it is harmless (MCP `hints.idempotent`). */
  readonly idempotent?: boolean;
  /** Receives one `warn` line per retry and body failure; no secrets. */
  readonly logger?: Logger;
}

/** An exposed `call` bound to its consumed operation, built once at start-up. */
export interface BoundCall {
  readonly plan: RequestPlan;
  readonly withSources: ReadonlyMap<string, WithSource>;
  readonly passThrough: boolean;
  invoke(inputs: ReadonlyMap<string, unknown>, options: InvokeOptions): Promise<CallResult>;
}

/** Parses a `with` value (spec 2.3) into where its value comes from. */
export function parseWithValue(value: unknown, prefixes: readonly string[]): WithSource {
  if (typeof value !== 'string') return { kind: 'constant', value };
  for (const prefix of prefixes) {
    const rest = value.slice(prefix.length);
    if (value.startsWith(prefix) && /^[A-Za-z0-9_*-]+$/.test(rest)) return { kind: 'input', name: rest };
  }
  return { kind: 'template', template: compileTemplate(value) };
}

export function bindCall(options: BoundCallOptions): BoundCall {
  const withSources = new Map<string, WithSource>();
  for (const [key, value] of Object.entries(options.withSpec ?? {})) {
    withSources.set(key, parseWithValue(value, options.inputPrefixes));
  }
  const outputs = options.outputs ?? [];
  const passThrough = outputs.length === 0 || (outputs.length === 1 && isPassThrough(outputs[0]!));

  const format = normalizeRawFormat(options.plan.operation.outputRawFormat);
  const policy = options.policy ?? DEFAULT_POLICY;
  const repeatable = isRepeatable(options.plan.operation.method, options.idempotent === true);

  const invoke = async (inputs: ReadonlyMap<string, unknown>, invokeOptions: InvokeOptions) => {
    const values = applyWith(inputs, withSources, options.binds);
    const built = options.plan.build(values);
    const request = built.body instanceof FormData ? await encodeMultipart(built) : built;
    if (invokeOptions.forwardHeaders !== undefined) {
      for (const [k, v] of Object.entries(invokeOptions.forwardHeaders)) request.headers[k] ??= v;
    }

    const logger = invokeOptions.logger ?? options.logger;
    const started = performance.now();
    const send = () => sendUpstream(options.dispatcher, request, {
      policy,
      signal: invokeOptions.signal,
      repeatable,
      namespace: options.plan.namespace,
      logger,
    });
    let response = await send();
    const challenge = response.headers['www-authenticate'];
    if (response.statusCode === 401 && options.plan.digest !== undefined && typeof challenge === 'string') {
      const authorization = digestAuthorization(challenge, options.plan.digest(), request.method, request.path);
      if (authorization !== undefined) {
        await response.body.dump();
        request.headers.authorization = authorization;
        response = await send();
      }
    }
    const upstreamMs = performance.now() - started;
    const headers = pickHeaders(response);
    const onBodyError = (err: unknown) => {
      const error = classifyBodyError(err, request, policy.timeouts);
      // A caller that went away is not an upstream failure worth a warning.
      if (invokeOptions.signal?.aborted !== true) {
        logger?.warn({ namespace: options.plan.namespace, code: error.code, err: error }, 'upstream body failed');
      }
      return error;
    };

    await rejectCredentialFailure(response, options.plan.namespace);
    if (response.statusCode >= 300 || (passThrough && !wantsValue(invokeOptions, headers))) {
      const body = guardBody(response.body, onBodyError);
      return { kind: 'stream', status: response.statusCode, headers, body, upstreamMs } as const;
    }
    const text = await readBody(response, options.maxBufferBytes, options.plan, onBodyError);
    // The value is serialised anew, so the upstream length no longer applies.
    delete headers['content-length'];
    if (passThrough) {
      // A JSON pass-through that turned out not to be JSON is still returned whole.
      const parsed = parseJson(text);
      const value = parsed.ok ? parsed.value : text;
      return { kind: 'value', status: response.statusCode, headers, value, upstreamMs } as const;
    }
    const converted = convertBody(format, text, options.plan, headers['content-type']);
    const value = mapOutput(outputs, converted, (n) => values.get(n));
    return { kind: 'value', status: response.statusCode, headers, value, upstreamMs } as const;
  };

  return { plan: options.plan, withSources, passThrough, invoke };
}

/**
 * Upstream inputs: the caller's inputs, overlaid by `with`. A reference to
 * an absent caller input leaves the key unset, so an optional upstream
 * parameter is left out instead of receiving a literal string.
 */
function applyWith(
  inputs: ReadonlyMap<string, unknown>,
  sources: ReadonlyMap<string, WithSource>,
  binds: ReadonlyMap<string, string>,
): Map<string, unknown> {
  const out = new Map(inputs);
  const lookup = (name: string) => inputs.get(name) ?? binds.get(name);
  for (const [key, source] of sources) {
    const value = source.kind === 'input'
      ? inputs.get(source.name)
      : source.kind === 'constant'
        ? source.value
        : renderTemplate(source.template, lookup, (v) => stringifyValue(v ?? ''));
    if (value === undefined) out.delete(key);
    else out.set(key, value);
  }
  return out;
}

function wantsValue(options: InvokeOptions, headers: Readonly<Record<string, string>>): boolean {
  return options.mode === 'value' && isJsonType(headers['content-type']);
}

/** JSON media types, including `+json` suffixes (RFC 6839). */
export function isJsonType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || type.endsWith('+json');
}

export function pickHeaders(response: UpstreamResponse): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    const value = response.headers[name];
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/**
 * 401, 403 and 407 mean the upstream refused the runtime's own credentials:
 * a fault of our configuration, never of the caller, so it is not passed on
 * as the caller's 401.
 */
export async function rejectCredentialFailure(response: UpstreamResponse, namespace: string): Promise<void> {
  const status = response.statusCode;
  if (status !== 401 && status !== 403 && status !== 407) return;
  await response.body.dump();
  throw new CapabilityError(
    'CAP_UPSTREAM_AUTH',
    `upstream "${namespace}" refused the runtime's credentials (HTTP ${status}); ` +
      'check the secret bound for its authentication',
    { data: { upstreamStatus: status, namespace } },
  );
}

type ParsedBody = { ok: true; value: unknown } | { ok: false };

function parseJson(text: string): ParsedBody {
  if (text === '') return { ok: true, value: null };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/** Reads a body we must hold for mapping, up to the buffer cap. */
async function readBody(
  response: UpstreamResponse,
  maxBytes: number,
  plan: RequestPlan,
  onBodyError: (err: unknown) => CapabilityError,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) {
        response.body.destroy();
        throw new CapabilityError(
          'CAP_UPSTREAM_TOO_LARGE',
          `upstream "${plan.namespace}" body exceeds ${maxBytes} bytes, the cap for bodies mapped in memory ` +
            '(--buffer-cap); a pass-through output streams instead',
          { data: { limit: maxBytes, namespace: plan.namespace } },
        );
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    throw isCapabilityError(err) ? err : onBodyError(err);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The body in the operation's `outputRawFormat`, as JSON for mapping. */
function convertBody(format: string, text: string, plan: RequestPlan, contentType: string | undefined): unknown {
  // Refused at load time (capability-binding.ts); reaching here is a bug.
  if (!isRawFormat(format)) throw new CapabilityError('CAP_INTERNAL', `outputRawFormat ${format} reached a call`);
  try {
    return convertRawBody(format, text, plan.operation.outputSchema);
  } catch (cause) {
    throw new CapabilityError(
      'CAP_UPSTREAM_BODY',
      `upstream "${plan.namespace}" operation "${plan.operation.name}" returned a body that is not ` +
        `valid ${format} (content-type ${contentType ?? 'none'}): ${firstLine(cause)}`,
      { cause, data: { namespace: plan.namespace, operation: plan.operation.name } },
    );
  }
}

/** The parser's message, bounded: it may quote the body. */
function firstLine(err: unknown): string {
  const message = String((err as Error | null)?.message ?? err).split('\n')[0]!;
  return message.length > 200 ? `${message.slice(0, 200)}…` : message;
}

/**
 * undici's dispatcher takes bytes, not FormData: encode it once with the
 * platform's own multipart writer (the Fetch Body mixin), which also gives
 * the boundary for the Content-Type.
 */
async function encodeMultipart(request: UpstreamRequest): Promise<UpstreamRequest> {
  const encoded = new Response(request.body as FormData);
  const body = new Uint8Array(await encoded.arrayBuffer());
  return { ...request, headers: { ...request.headers, 'content-type': encoded.headers.get('content-type')! }, body };
}
