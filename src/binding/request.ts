import { CapabilityError } from '../errors/capability-error.js';
import type {
  AuthenticationSpec,
  BodySpec,
  ConsumedOperationSpec,
  ConsumedParameterSpec,
  ConsumedResourceSpec,
  ConsumesSpec,
  HttpMethod,
} from '../spec/types.js';
import type { BoundVariables } from './binds.js';
import { compileTemplate, renderTemplate, stringifyValue, type Template } from './template.js';

/** Values an exposed operation hands to a consumed one, by parameter name. */
export type InputValues = ReadonlyMap<string, unknown>;

/** One upstream HTTP request, ready for undici. */
export interface UpstreamRequest {
  readonly method: HttpMethod;
  readonly origin: string;
  /** Path and query, already percent-encoded. */
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string | Uint8Array | FormData;
}

/** What a consumed operation needs to turn inputs into a request. */
export interface RequestPlanOptions {
  readonly baseUri: string;
  readonly binds: BoundVariables;
  /** Generated-dialect rules on (`{name}` paths, `in: body` parameters). */
  readonly dialect: boolean;
}

/** A consumed operation compiled once at start-up. */
export interface RequestPlan {
  readonly namespace: string;
  readonly operation: ConsumedOperationSpec;
  /** Every parameter that applies, consumes level first, by name. */
  readonly parameters: ReadonlyMap<string, ConsumedParameterSpec>;
  /** Variables the resource path needs. */
  readonly pathVariables: readonly string[];
  /** Digest credentials, rendered from binds, when the namespace uses digest authentication. */
  readonly digest?: () => { username: string; password: string };
  build(inputs: InputValues): UpstreamRequest;
}

const JSON_TYPE = 'application/json';

/** Compiles a consumed operation into a {@link RequestPlan}. */
export function compileRequestPlan(
  consumes: ConsumesSpec,
  resource: ConsumedResourceSpec,
  operation: ConsumedOperationSpec,
  options: RequestPlanOptions,
): RequestPlan {
  const base = new URL(options.baseUri);
  const basePath = base.pathname.replace(/\/+$/, '');
  // The reference engine concatenates baseUri and path as text, so a path
  // without its leading slash glues onto the last base segment; we add it.
  const resourcePath = resource.path.startsWith('/') ? resource.path : `/${resource.path}`;
  const pathTemplate = compileTemplate(resourcePath, { singleBraces: options.dialect });
  const parameters = collectParameters(consumes, resource, operation);
  const valueTemplates = compileValueTemplates(parameters);
  const scope = (inputs: InputValues) => (name: string) => inputs.get(name) ?? options.binds.get(name);

  const build = (inputs: InputValues): UpstreamRequest => {
    const lookup = scope(inputs);
    const headers: Record<string, string> = {};
    const query: string[] = [];
    for (const param of parameters.values()) {
      const value = parameterValue(param, valueTemplates.get(param.name), inputs, lookup);
      if (value === undefined || value === null) continue;
      if (param.in === 'query') appendQuery(query, param.name, value);
      else if (param.in === 'header') headers[param.name.toLowerCase()] = headerValue(param.name, value);
    }

    const body = buildBody(operation.body, parameters, inputs, lookup, options.dialect, headers);
    applyAuthentication(consumes.authentication, lookup, headers, query);

    const path = basePath + renderPath(pathTemplate, lookup);
    const search = query.length === 0 ? '' : `${path.includes('?') ? '&' : '?'}${query.join('&')}`;
    return { method: operation.method, origin: base.origin, path: path + search, headers, body };
  };

  const auth = consumes.authentication;
  const bindsOnly = (text: string) => renderTemplate(compileTemplate(text), (n) => options.binds.get(n), (v) => stringifyValue(v ?? ''));
  const digest = auth?.type === 'digest'
    ? () => ({ username: bindsOnly(auth.username), password: bindsOnly(auth.password) })
    : undefined;
  return {
    namespace: consumes.namespace,
    operation,
    parameters,
    pathVariables: pathTemplate.variables,
    build,
    ...(digest === undefined ? {} : { digest }),
  };
}

function collectParameters(
  consumes: ConsumesSpec,
  resource: ConsumedResourceSpec,
  operation: ConsumedOperationSpec,
): Map<string, ConsumedParameterSpec> {
  const all = [
    ...(consumes.inputParameters ?? []),
    ...(resource.inputParameters ?? []),
    ...(operation.inputParameters ?? []),
  ];
  // Later levels win, as an operation refines what its namespace declares.
  return new Map(all.map((p) => [p.name, p]));
}

function compileValueTemplates(params: ReadonlyMap<string, ConsumedParameterSpec>): Map<string, Template> {
  const out = new Map<string, Template>();
  for (const p of params.values()) if (p.value !== undefined) out.set(p.name, compileTemplate(p.value));
  return out;
}

/**
 * A parameter's value: its own `value` template when declared, else the
 * caller's input of that name. A template naming an absent variable means
 * "not provided", so the parameter is left out rather than sent half empty.
 */
function parameterValue(
  param: ConsumedParameterSpec,
  template: Template | undefined,
  inputs: InputValues,
  lookup: (name: string) => unknown,
): unknown {
  if (template === undefined) return inputs.get(param.name);
  let absent = false;
  const text = renderTemplate(template, lookup, (value) => {
    if (value === undefined || value === null) absent = true;
    return stringifyValue(value ?? '');
  });
  return absent ? undefined : text;
}

function appendQuery(query: string[], name: string, value: unknown): void {
  const key = encodeURIComponent(name);
  const values = Array.isArray(value) ? value : [value];
  for (const v of values) query.push(`${key}=${encodeURIComponent(stringifyValue(v))}`);
}

function headerValue(name: string, value: unknown): string {
  const text = stringifyValue(value);
  // CR or LF would let a caller inject headers of their own choosing.
  if (/[\r\n\0]/.test(text)) {
    throw new CapabilityError('CAP_INPUT_INVALID', `header parameter "${name}" contains a line break`, {
      data: { parameter: name },
    });
  }
  return text;
}

/**
 * Substitutes path variables, percent-encoding each value as one segment.
 * A value that is exactly `.` or `..` is refused: URL parsers in every layer
 * (WHATWG, undici, proxies) collapse such segments even when encoded, which
 * would send the call to a different route.
 */
function renderPath(template: Template, lookup: (name: string) => unknown): string {
  return renderTemplate(template, lookup, (value, name) => {
    if (value === undefined || value === null || value === '') {
      throw new CapabilityError('CAP_INPUT_MISSING', `path parameter "${name}" is required`, {
        data: { parameter: name },
      });
    }
    const text = stringifyValue(value);
    if (text === '.' || text === '..' || /^(%2e){1,2}$/i.test(text)) {
      throw new CapabilityError(
        'CAP_INPUT_INVALID',
        `path parameter "${name}" must not be "${text}": it would address another route`,
        { data: { parameter: name, received: text } },
      );
    }
    return encodeURIComponent(text);
  });
}

const templateCache = new Map<string, Template>();

/**
 * Authentication fields are few and fixed per file: compile each once
 * instead of on every request (this runs on the hot path).
 */
function cachedTemplate(text: string): Template {
  let template = templateCache.get(text);
  if (template === undefined) {
    template = compileTemplate(text);
    templateCache.set(text, template);
  }
  return template;
}

function applyAuthentication(
  auth: AuthenticationSpec | undefined,
  lookup: (name: string) => unknown,
  headers: Record<string, string>,
  query: string[],
): void {
  if (auth === undefined) return;
  const render = (text: string) => renderTemplate(cachedTemplate(text), lookup, (v) => stringifyValue(v ?? ''));
  switch (auth.type) {
    case 'bearer':
      headers.authorization = `Bearer ${render(auth.token)}`;
      return;
    case 'basic': {
      const pair = `${render(auth.username)}:${render(auth.password)}`;
      headers.authorization = `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
      return;
    }
    case 'apikey':
      if (auth.placement === 'query') appendQuery(query, render(auth.key), render(auth.value));
      else headers[render(auth.key).toLowerCase()] = render(auth.value);
      return;
    case 'digest':
      // Sent only in answer to the server's challenge (see digest.ts).
      return;
    default:
      // Refused at load time (compileOperation); reaching here is a bug.
      throw new CapabilityError('CAP_INTERNAL', `outbound ${auth.type} authentication is not built`);
  }
}

function buildBody(
  spec: BodySpec | undefined,
  parameters: ReadonlyMap<string, ConsumedParameterSpec>,
  inputs: InputValues,
  lookup: (name: string) => unknown,
  dialect: boolean,
  headers: Record<string, string>,
): UpstreamRequest['body'] {
  if (spec === undefined) return dialect ? dialectBody(parameters, inputs, headers) : undefined;
  if (typeof spec === 'string') {
    headers['content-type'] ??= JSON_TYPE;
    return renderJsonText(spec, lookup);
  }
  return structuredBody(spec, lookup, headers);
}

/** Generated dialect: a consumed `in: body` parameter is the whole JSON body. */
function dialectBody(
  parameters: ReadonlyMap<string, ConsumedParameterSpec>,
  inputs: InputValues,
  headers: Record<string, string>,
): string | undefined {
  for (const p of parameters.values()) {
    if (p.in !== 'body') continue;
    const value = inputs.get(p.name);
    if (value === undefined) return undefined;
    headers['content-type'] ??= JSON_TYPE;
    return JSON.stringify(value);
  }
  return undefined;
}

const MEDIA_TYPES: Readonly<Record<string, string>> = {
  json: JSON_TYPE,
  text: 'text/plain; charset=utf-8',
  xml: 'application/xml',
  sparql: 'application/sparql-query',
  formUrlEncoded: 'application/x-www-form-urlencoded',
};

function structuredBody(
  spec: Exclude<BodySpec, string>,
  lookup: (name: string) => unknown,
  headers: Record<string, string>,
): UpstreamRequest['body'] {
  const plain = (text: string) => renderTemplate(compileTemplate(text), lookup, (v) => stringifyValue(v ?? ''));
  if (spec.type === 'multipartForm') return multipartBody(spec.data, plain);

  headers['content-type'] ??= MEDIA_TYPES[spec.type] ?? JSON_TYPE;
  if (spec.type === 'json') {
    return typeof spec.data === 'string'
      ? renderJsonText(spec.data, lookup)
      : JSON.stringify(renderJsonValue(spec.data, lookup));
  }
  if (spec.type === 'formUrlEncoded' && typeof spec.data === 'object' && spec.data !== null) {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(spec.data)) form.append(k, plain(stringifyValue(v)));
    return form.toString();
  }
  return plain(typeof spec.data === 'string' ? spec.data : stringifyValue(spec.data ?? ''));
}

function multipartBody(data: unknown, plain: (text: string) => string): FormData {
  const form = new FormData();
  for (const part of (Array.isArray(data) ? data : []) as Record<string, string>[]) {
    const value = plain(part.value ?? '');
    if (part.filename === undefined) form.append(part.name ?? '', value);
    else form.append(part.name ?? '', new Blob([value], { type: part.contentType ?? 'application/octet-stream' }), part.filename);
  }
  return form;
}

/**
 * Renders a JSON text template with JSON-aware substitution: inside a JSON
 * string a value is escaped as string content; outside one it is written as
 * a JSON value, and an absent value becomes `null` (never an empty gap that
 * breaks the document, as the reference engine produces).
 */
function renderJsonText(text: string, lookup: (name: string) => unknown): string {
  const template = compileTemplate(text);
  let out = '';
  let inString = false;
  for (const part of template.parts) {
    if (part.kind === 'text') {
      out += part.text;
      inString = endsInsideString(part.text, inString);
      continue;
    }
    const value = lookup(part.name);
    out += inString
      ? JSON.stringify(stringifyValue(value ?? '')).slice(1, -1)
      : JSON.stringify(value ?? null);
  }
  return out;
}

function endsInsideString(text: string, inside: boolean): boolean {
  let state = inside;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && state) i++;
    else if (text[i] === '"') state = !state;
  }
  return state;
}

/** Structured JSON data: a string that is one `{{var}}` keeps the value's type. */
function renderJsonValue(data: unknown, lookup: (name: string) => unknown): unknown {
  if (typeof data === 'string') {
    const template = compileTemplate(data);
    const only = template.parts.length === 1 && template.parts[0]!.kind === 'var';
    if (only) return lookup(template.variables[0]!) ?? null;
    return renderTemplate(template, lookup, (v) => stringifyValue(v ?? ''));
  }
  if (Array.isArray(data)) return data.map((d) => renderJsonValue(d, lookup));
  if (typeof data === 'object' && data !== null) {
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, renderJsonValue(v, lookup)]));
  }
  return data;
}
