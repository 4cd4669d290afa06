import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { CapabilityError } from '../errors/capability-error.js';
import type { OutputParameterSpec, WithSpec } from '../spec/types.js';
import { sendUpstream, type UpstreamResponse } from './client.js';
import { isPassThrough, mapOutput } from './output.js';
import type { RequestPlan } from './request.js';
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

  const invoke = async (inputs: ReadonlyMap<string, unknown>, invokeOptions: InvokeOptions) => {
    const values = applyWith(inputs, withSources, options.binds);
    const request = options.plan.build(values);
    if (invokeOptions.forwardHeaders !== undefined) {
      for (const [k, v] of Object.entries(invokeOptions.forwardHeaders)) request.headers[k] ??= v;
    }

    const started = performance.now();
    const response = await sendUpstream(options.dispatcher, request, invokeOptions.signal);
    const upstreamMs = performance.now() - started;
    const headers = pickHeaders(response);

    await rejectCredentialFailure(response, options.plan);
    if (response.statusCode >= 300 || (passThrough && !wantsValue(invokeOptions, headers))) {
      return { kind: 'stream', status: response.statusCode, headers, body: response.body, upstreamMs } as const;
    }
    const parsed = await readJson(response, options.maxBufferBytes, options.plan);
    if (parsed.ok === false) {
      // A pass-through that turned out not to be JSON is still returned whole.
      if (passThrough) {
        delete headers['content-length'];
        return { kind: 'value', status: response.statusCode, headers, value: parsed.text, upstreamMs } as const;
      }
      throw bodyError(options.plan, headers['content-type']);
    }
    const value = passThrough ? parsed.value : mapOutput(outputs, parsed.value, (n) => values.get(n));
    // The value is serialised anew, so the upstream length no longer applies.
    delete headers['content-length'];
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

function pickHeaders(response: UpstreamResponse): Record<string, string> {
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
async function rejectCredentialFailure(response: UpstreamResponse, plan: RequestPlan): Promise<void> {
  const status = response.statusCode;
  if (status !== 401 && status !== 403 && status !== 407) return;
  await response.body.dump();
  throw new CapabilityError(
    'CAP_UPSTREAM_AUTH',
    `upstream "${plan.namespace}" refused the runtime's credentials (HTTP ${status}); ` +
      'check the secret bound for its authentication',
    { data: { upstreamStatus: status, namespace: plan.namespace } },
  );
}

type ParsedBody = { ok: true; value: unknown } | { ok: false; text: string };

async function readJson(response: UpstreamResponse, maxBytes: number, plan: RequestPlan): Promise<ParsedBody> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      response.body.destroy();
      throw new CapabilityError(
        'CAP_UPSTREAM_TOO_LARGE',
        `upstream "${plan.namespace}" body exceeds ${maxBytes} bytes, the cap for bodies mapped in memory`,
        { data: { limit: maxBytes, namespace: plan.namespace } },
      );
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return { ok: true, value: null };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, text };
  }
}

function bodyError(plan: RequestPlan, contentType: string | undefined): CapabilityError {
  return new CapabilityError(
    'CAP_UPSTREAM_BODY',
    `upstream "${plan.namespace}" operation "${plan.operation.name}" returned a body that is not ` +
      `valid ${plan.operation.outputRawFormat ?? 'json'} (content-type ${contentType ?? 'none'})`,
    { data: { namespace: plan.namespace, operation: plan.operation.name } },
  );
}
