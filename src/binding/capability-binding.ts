import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { CapabilityError } from '../errors/capability-error.js';
import type { LoadedCapability } from '../spec/loader.js';
import type { ConsumesSpec, InvocableSpec, McpToolHintsSpec, McpToolSpec, StepSpec } from '../spec/types.js';
import { hintsFromSemantics, inheritFromFunction, resolveRef } from './aggregates.js';
import { bindForward, type Forwarder } from './forward.js';
import { bindMock, bindSteps, type Invocation } from './orchestration.js';
import { resolveBinds, type BoundVariables } from './binds.js';
import { bindCall, type BoundCall } from './call.js';
import { DEFAULT_POLICY, type UpstreamPolicy } from './client.js';
import { isRawFormat, normalizeRawFormat, RAW_FORMATS, REFUSED_FORMATS } from './formats.js';
import type { InputField } from './inputs.js';
import { isPassThrough } from './output.js';
import { compileRequestPlan, type RequestPlan } from './request.js';

/** Default cap on an upstream body read into memory for mapping (bytes). */
export const DEFAULT_MAX_BUFFER_BYTES = 16 * 1024 * 1024;

export interface BindingOptions {
  /** Consumed namespace to base URI, overriding the file (`--base-uri`). */
  readonly baseUris: ReadonlyMap<string, string>;
  readonly env: NodeJS.ProcessEnv;
  /** The dispatcher of a consumed namespace; one for all is fine (tests). */
  readonly dispatcher: Dispatcher | ((namespace: string, policy: UpstreamPolicy) => Dispatcher);
  readonly maxBufferBytes?: number;
  /** Timeouts and retries of a consumed namespace; the defaults otherwise. */
  readonly policyFor?: (namespace: string) => UpstreamPolicy;
  /** Receives retry and upstream body warnings. */
  readonly logger?: Logger;
}

/** A capability with its binds resolved and every consumed operation compiled. */
export interface CapabilityBinding {
  readonly capability: LoadedCapability;
  readonly binds: BoundVariables;
  /** Compiled consumed operations by `namespace.operation`. */
  readonly plans: ReadonlyMap<string, RequestPlan>;
  /** Resolved base URI of each consumed namespace. */
  readonly baseUris: ReadonlyMap<string, string>;
  /**
   * Binds an exposed operation, tool or resource: a `call`, `steps`, a
   * `ref` to an aggregate function, or mock outputs. `inputPrefixes` are
   * the `with` prefixes that name a caller input.
   */
  bindInvocable(spec: InvocableSpec, inputPrefixes: readonly string[], pointer: string): BoundInvocation;
  /**
   * Replaces every bound secret in a text with `[redacted]`: an upstream
   * error page that echoes the credentials it got must not hand them on.
   */
  redact(text: string): string;
  /** Binds a REST `forward` to a consumed namespace. */
  bindForward(targetNamespace: string, trustedHeaders: readonly string[], pointer: string): Forwarder;
}

/** What an exposed operation or tool runs, bound once at start-up. */
export interface BoundInvocation extends Invocation {
  /** The consumed call, when the spec is a plain `call` (the dialect derives inputs from it). */
  readonly call?: BoundCall;
  /** The spec as it runs: a `ref` completed with what it inherits from its function. */
  readonly effective: InvocableSpec;
  /** MCP hints, with those derived from an aggregate function's semantics. */
  readonly hints?: McpToolHintsSpec;
}

export async function createCapabilityBinding(
  capability: LoadedCapability,
  options: BindingOptions,
): Promise<CapabilityBinding> {
  const document = capability.document;
  const binds = await resolveBinds(document.binds ?? [], capability.file, options.env);
  const baseUris = new Map<string, string>();
  const plans = new Map<string, RequestPlan>();

  for (const consumes of capability.consumes.values()) {
    const baseUri = resolveBaseUri(capability.file, consumes, options.baseUris);
    baseUris.set(consumes.namespace, baseUri);
    refuseUnsupportedAuth(capability.file, consumes);
    for (const resource of consumes.resources ?? []) {
      for (const operation of resource.operations) {
        const plan = compileRequestPlan(consumes, resource, operation, {
          baseUri,
          binds,
          dialect: !capability.strict,
        });
        // First operation of that name wins, as in the reference engine.
        const key = `${consumes.namespace}.${operation.name}`;
        if (!plans.has(key)) plans.set(key, plan);
      }
    }
  }

  const bindPlainCall = (spec: InvocableSpec, inputPrefixes: readonly string[], pointer: string, idempotent: boolean): BoundCall => {
    const plan = spec.call === undefined ? undefined : plans.get(spec.call);
    if (plan === undefined) throw unknownCall(capability.file, spec, pointer, plans);
    refuseUnsupportedFormat(capability.file, plan, spec, pointer);
    const policy = options.policyFor?.(plan.namespace) ?? DEFAULT_POLICY;
    const dispatcher = typeof options.dispatcher === 'function'
      ? options.dispatcher(plan.namespace, policy)
      : options.dispatcher;
    return bindCall({
      plan,
      withSpec: spec.with,
      outputs: spec.outputParameters,
      inputPrefixes,
      binds,
      dispatcher,
      maxBufferBytes: options.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES,
      policy,
      idempotent,
      logger: options.logger,
    });
  };

  /** call, steps or mock outputs: what a spec (or an aggregate function) runs. */
  const bindBody = (spec: InvocableSpec, inputPrefixes: readonly string[], pointer: string, idempotent: boolean) => {
    if (spec.call !== undefined) {
      const call = bindPlainCall(spec, inputPrefixes, pointer, idempotent);
      return { invocation: call as Invocation, call };
    }
    if (spec.steps !== undefined) {
      const binder = {
        bindStepCall: (step: StepSpec, at: string) =>
          bindPlainCall({ call: step.call, with: step.with }, inputPrefixes, at, idempotent),
        projectionOf: (step: StepSpec) => plans.get(step.call ?? '')?.operation.outputParameters ?? [],
      };
      return { invocation: bindSteps(spec.steps, spec.mappings, binder, pointer, capability.file) };
    }
    if ((spec.outputParameters ?? []).length > 0) return { invocation: bindMock(spec.outputParameters!) };
    throw unknownCall(capability.file, spec, pointer, plans);
  };

  const bindInvocable = (spec: InvocableSpec, inputPrefixes: readonly string[], pointer: string): BoundInvocation => {
    const explicitHints = (spec as McpToolSpec).hints;
    if (spec.ref !== undefined) {
      const resolved = resolveRef(document, spec.ref, capability.file, pointer);
      const effective = inheritFromFunction(spec, resolved);
      const hints = hintsFromSemantics(resolved.fn.semantics, explicitHints);
      // Namespace references inside a function name the aggregate (spec 1.10).
      const prefixes = [`${resolved.namespace}.`, ...inputPrefixes];
      const body = { ...resolved.fn, outputParameters: spec.outputParameters ?? resolved.fn.outputParameters };
      const fnPointer = aggregatePointer(document, resolved);
      const { invocation, call } = bindBody(body, prefixes, fnPointer, hints?.idempotent === true);
      return { invoke: invocation.invoke, call, effective, hints };
    }
    const { invocation, call } = bindBody(spec, inputPrefixes, pointer, explicitHints?.idempotent === true);
    return { invoke: invocation.invoke, call, effective: spec, hints: explicitHints };
  };

  const bindForwardTo = (targetNamespace: string, trustedHeaders: readonly string[], pointer: string): Forwarder => {
    const consumes = capability.consumes.get(targetNamespace);
    if (consumes === undefined) {
      throw new CapabilityError('CAP_SPEC_REF', `${capability.file}: forward names "${targetNamespace}", which is not a consumed namespace (known: ${[...capability.consumes.keys()].join(', ')})`, {
        location: { file: capability.file, pointer: `${pointer}/forward/targetNamespace` },
      });
    }
    const base = compileRequestPlan(consumes, { name: 'forward', path: '', operations: [] }, { name: 'forward', method: 'GET' }, {
      baseUri: baseUris.get(targetNamespace)!,
      binds,
      dialect: !capability.strict,
    });
    const policy = options.policyFor?.(targetNamespace) ?? DEFAULT_POLICY;
    const dispatcher = typeof options.dispatcher === 'function' ? options.dispatcher(targetNamespace, policy) : options.dispatcher;
    return bindForward({ consumes, base, trustedHeaders, dispatcher, policy, logger: options.logger });
  };

  // Short values would mask ordinary words; bound secrets are longer.
  const secrets = [...new Set(binds.values())].filter((v) => v.length >= 6).sort((a, b) => b.length - a.length);
  const redact = (text: string) => secrets.reduce((out, secret) => out.split(secret).join('[redacted]'), text);

  return { capability, binds, plans, baseUris, bindInvocable, bindForward: bindForwardTo, redact };
}

/**
 * Generated dialect: inputs of an exposed call with no declared inputs,
 * from its `with` entries that reference a caller input. Type, `required`
 * and description come from the consumed parameter of the same name.
 */
export function dialectInputFields(invocation: BoundInvocation): InputField[] {
  const call = invocation.call;
  if (call === undefined) return [];
  const fields: InputField[] = [];
  for (const [key, source] of call.withSources) {
    if (source.kind !== 'input') continue;
    const param = call.plan.parameters.get(key);
    const isPath = call.plan.pathVariables.includes(key) || param?.in === 'path';
    fields.push({
      name: source.name,
      in: isPath ? 'path' : param?.in,
      type: param?.type ?? 'string',
      required: param?.required ?? isPath,
      description: param?.description,
    });
  }
  return fields;
}

function resolveBaseUri(
  file: string,
  consumes: ConsumesSpec,
  overrides: ReadonlyMap<string, string>,
): string {
  const ns = consumes.namespace;
  const raw = overrides.get(ns) ?? consumes.baseUri;
  const envName = `NAFTIKO_BASE_URI_${ns.toUpperCase().replace(/-/g, '_')}`;
  if (raw === undefined || raw.trim() === '') {
    throw new CapabilityError(
      'CAP_CONFIG_BASE_URI',
      `${file}: consumed namespace "${ns}" has no baseUri; ` +
        `set it with --base-uri ${ns}=<url> or the environment variable ${envName}`,
      { data: { namespace: ns } },
    );
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    url = new URL('invalid:');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CapabilityError(
      'CAP_CONFIG_BASE_URI',
      `${file}: base URI of "${ns}" must be an http or https URL; received ${JSON.stringify(raw)}`,
      { data: { namespace: ns } },
    );
  }
  return raw.replace(/\/+$/, '');
}

function refuseUnsupportedAuth(file: string, consumes: ConsumesSpec): void {
  const type = consumes.authentication?.type;
  if (type === undefined || type === 'bearer' || type === 'basic' || type === 'apikey' || type === 'digest') return;
  // oauth2 describes how callers authenticate to an exposed adapter
  // (spec 1.4.1); as outbound authentication it has nothing to send.
  throw new CapabilityError(
    'CAP_SPEC_UNSUPPORTED',
    `${file}: outbound ${type} authentication of "${consumes.namespace}" is not supported: ` +
      'oauth2 is a server-side scheme in 1.0.0-alpha2; use bearer with a bound token',
    { data: { namespace: consumes.namespace, authentication: type } },
  );
}

/**
 * A mapped output needs the body as JSON (spec 1.4.5). avro and protobuf
 * need a schema file and a binary decoder we do not ship, so a file that
 * maps their output is refused now rather than failing on every call. A
 * pass-through output is handed on untouched, whatever the format.
 */
function refuseUnsupportedFormat(file: string, plan: RequestPlan, spec: InvocableSpec, pointer: string): void {
  const outputs = spec.outputParameters ?? [];
  const passThrough = outputs.length === 0 || (outputs.length === 1 && isPassThrough(outputs[0]!));
  const format = normalizeRawFormat(plan.operation.outputRawFormat);
  if (passThrough || isRawFormat(format)) return;
  const why = (REFUSED_FORMATS as readonly string[]).includes(format)
    ? 'needs a schema file and a binary decoder this runtime does not ship'
    : `is not a format of the spec (known: ${RAW_FORMATS.join(', ')})`;
  throw new CapabilityError(
    'CAP_SPEC_UNSUPPORTED',
    `${file}: ${pointer} maps the output of "${plan.namespace}.${plan.operation.name}", whose ` +
      `outputRawFormat "${plan.operation.outputRawFormat}" ${why}; pass the body through instead ` +
      '(one output parameter with mapping "$" and no properties)',
    { location: { file, pointer: `${pointer}/outputParameters` }, data: { format } },
  );
}

function unknownCall(
  file: string,
  spec: InvocableSpec,
  pointer: string,
  plans: ReadonlyMap<string, RequestPlan>,
): CapabilityError {
  if (spec.call === undefined) {
    return new CapabilityError(
      'CAP_SPEC_UNSUPPORTED',
      `${file}: ${pointer} uses ${spec.steps ? 'steps' : spec.ref ? 'ref' : 'mock outputs'}, not supported yet`,
      { location: { file, pointer } },
    );
  }
  const known = [...plans.keys()];
  const near = known.find((k) => k.toLowerCase() === spec.call!.toLowerCase());
  const hint = near === undefined ? ` (known: ${known.slice(0, 5).join(', ')})` : `; did you mean "${near}"?`;
  return new CapabilityError('CAP_SPEC_REF', `${file}: call "${spec.call}" names no consumed operation${hint}`, {
    location: { file, pointer: `${pointer}/call` },
  });
}

function aggregatePointer(document: LoadedCapability['document'], resolved: { namespace: string; fn: { name: string } }): string {
  const aggregates = document.capability.aggregates ?? [];
  const a = aggregates.findIndex((x) => x.namespace === resolved.namespace);
  const f = aggregates[a]?.functions.findIndex((x) => x.name === resolved.fn.name) ?? 0;
  return `/capability/aggregates/${a}/functions/${f}`;
}
