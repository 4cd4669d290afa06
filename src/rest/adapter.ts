import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { dialectInputFields, type BoundInvocation, type CapabilityBinding } from '../binding/capability-binding.js';
import { checkTyped, coerceText, missingInput, normalizeName, type InputField } from '../binding/inputs.js';
import { selectPath } from '../binding/output.js';
import { CapabilityError, isCapabilityError } from '../errors/capability-error.js';
import type { ExposedInputParameterSpec, ExposedOperationSpec, RestExposeSpec } from '../spec/types.js';
import { frameworkErrorAsProblem, sendProblem, toProblem } from './problem.js';
import { ANY_METHOD, RouteTable } from './router.js';
import type { Forwarder } from '../binding/forward.js';

/** One exposed REST operation, bound once at start-up. */
export interface RestRoute {
  /** An HTTP method, or `*` for a forward that takes any method. */
  readonly method: string;
  readonly path: string;
  readonly name: string;
  readonly call?: BoundInvocation;
  /** A `forward` resource: the request goes on to a consumed namespace. */
  readonly forward?: Forwarder;
  readonly inputs: readonly InputField[];
}

export interface RestAdapterOptions {
  readonly binding: CapabilityBinding;
  readonly expose: RestExposeSpec;
  readonly exposeIndex: number;
  readonly logger: Logger;
}

export interface RestAdapter {
  readonly namespace: string;
  readonly app: FastifyInstance;
  /** The routes being served now. */
  routes(): readonly RestRoute[];
  /**
   * Binds the routes of a reloaded capability without swapping them in;
   * `commit` does, between two requests (the route table is ours, so the
   * running Fastify instance needs no new routes).
   */
  prepare(options: RestAdapterOptions): { commit(): void };
}

/** Request headers forwarded upstream even when not declared (conditional requests). */
const CONDITIONAL_HEADERS = ['if-none-match', 'if-modified-since'] as const;

/** Builds the Fastify app of one `exposes[type=rest]` adapter. */
export function createRestAdapter(options: RestAdapterOptions): RestAdapter {
  const { expose, logger } = options;
  let current = buildTable(options);

  const app = Fastify({ logger: false, forceCloseConnections: 'idle', frameworkErrors: frameworkErrorAsProblem, bodyLimit: 4 * 1024 * 1024 });
  app.setErrorHandler(onError);
  // Bodies other than JSON arrive as bytes, for forwards and text inputs.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.route({
    method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    url: '/*',
    handler: (request, reply) => handle(request, reply, current.table, logger, current.redact),
  });
  return {
    namespace: expose.namespace,
    app,
    routes: () => current.routes,
    prepare: (next) => {
      const built = buildTable(next);
      return { commit: () => void (current = built) };
    },
  };
}

function buildTable(options: RestAdapterOptions): { routes: RestRoute[]; table: RouteTable<RestRoute>; redact: (text: string) => string } {
  const routes = bindRoutes(options);
  const table = new RouteTable<RestRoute>();
  for (const [path, byMethod] of groupByPath(routes)) table.add(path, byMethod);
  return { routes, table, redact: options.binding.redact };
}

/** Largest upstream error body we scan for echoed secrets before passing it on (bytes). */
const ERROR_SCAN_BYTES = 64 * 1024;

/**
 * An upstream error body passes through, but not with our credentials in
 * it (an error page that echoes the Authorization it got). The first 64 KiB
 * are scanned; a longer error body streams on after them unscanned.
 */
async function redactErrorBody(body: Readable, redact: (text: string) => string): Promise<Buffer | Readable> {
  const chunks: Buffer[] = [];
  let size = 0;
  const iterator = body[Symbol.asyncIterator]();
  for (;;) {
    const next = await iterator.next();
    if (next.done === true) return Buffer.from(redact(Buffer.concat(chunks).toString('utf8')));
    chunks.push(next.value as Buffer);
    size += (next.value as Buffer).length;
    if (size > ERROR_SCAN_BYTES) {
      const head = Buffer.from(redact(Buffer.concat(chunks).toString('utf8')));
      return Readable.from((async function* () {
        yield head;
        for (let n = await iterator.next(); n.done !== true; n = await iterator.next()) yield n.value as Buffer;
      })());
    }
  }
}

function bindRoutes({ binding, expose, exposeIndex }: RestAdapterOptions): RestRoute[] {
  const dialect = !binding.capability.strict;
  const prefixes = dialect ? [`${expose.namespace}.`, 'rest.'] : [`${expose.namespace}.`];
  const routes: RestRoute[] = [];
  expose.resources.forEach((resource, r) => {
    (resource.operations ?? []).forEach((operation, o) => {
      const pointer = `/capability/exposes/${exposeIndex}/resources/${r}/operations/${o}`;
      const call = binding.bindInvocable(operation, prefixes, pointer);
      const declared = [
        ...(expose.inputParameters ?? []),
        ...(resource.inputParameters ?? []),
        ...(call.effective.inputParameters ?? []),
      ];
      const inputs = declared.length > 0 || !dialect
        ? declaredFields(declared, resource.path)
        : implicitFields(call, resource.path);
      routes.push({
        method: operation.method ?? 'GET',
        path: resource.path,
        name: operationName(operation, resource.name),
        call,
        inputs,
      });
    });
    // Spec 2.9: a forward answers the methods no operation of the resource takes.
    if (resource.forward !== undefined) {
      const pointer = `/capability/exposes/${exposeIndex}/resources/${r}`;
      const forward = binding.bindForward(resource.forward.targetNamespace, resource.forward.trustedHeaders ?? [], pointer);
      routes.push({ method: ANY_METHOD, path: resource.path, name: `forward ${resource.forward.targetNamespace}`, forward, inputs: [] });
    }
  });
  return routes;
}

function operationName(operation: ExposedOperationSpec, resourceName: string | undefined): string {
  return operation.name ?? `${operation.method ?? 'GET'} ${resourceName ?? ''}`.trim();
}

function declaredFields(params: readonly ExposedInputParameterSpec[], path: string): InputField[] {
  const pathVars = pathVariables(path);
  return params.map((p) => ({
    name: p.name,
    in: p.in ?? 'query',
    type: p.type ?? 'string',
    required: p.required ?? (p.in === 'path' || pathVars.includes(p.name)),
    description: p.description,
    pattern: p.pattern,
    value: p.value,
  }));
}

/**
 * Generated dialect: no declared inputs, so path variables, query parameters
 * and headers are collected by the names `with` uses, equal modulo `-`/`_`
 * and case (`{account-id}` feeds `rest.account_id`).
 */
function implicitFields(call: BoundInvocation, path: string): InputField[] {
  const vars = new Map(pathVariables(path).map((v) => [normalizeName(v), v]));
  return dialectInputFields(call).map((field) => {
    const pathVar = vars.get(normalizeName(field.name));
    if (pathVar !== undefined) return { ...field, in: 'path', required: true };
    const where = field.in === 'header' || field.in === 'body' ? field.in : 'query';
    return { ...field, in: where };
  });
}

function pathVariables(path: string): string[] {
  return [...path.matchAll(/\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}|\{([A-Za-z0-9_.-]+)\}/g)].map((m) => (m[1] ?? m[2])!);
}

function groupByPath(routes: readonly RestRoute[]): Map<string, Map<string, RestRoute>> {
  const out = new Map<string, Map<string, RestRoute>>();
  for (const route of routes) {
    const byMethod = out.get(route.path) ?? new Map<string, RestRoute>();
    if (!byMethod.has(route.method)) byMethod.set(route.method, route);
    out.set(route.path, byMethod);
  }
  return out;
}

async function handle(
  request: FastifyRequest,
  reply: FastifyReply,
  table: RouteTable<RestRoute>,
  logger: Logger,
  redact: (text: string) => string,
): Promise<FastifyReply> {
  const started = performance.now();
  const rawPath = request.url.split('?')[0]!;
  const found = table.lookup(request.method, rawPath);
  if (found === undefined || !found.found) {
    const problem = found === undefined ? notFound(request.method, rawPath) : notAllowed(request.method, found.allowed);
    if (found !== undefined && !found.found) reply.header('allow', found.allowed.join(', '));
    logRequest(logger, request, problem.status, started);
    return sendProblem(reply, problem);
  }

  const { route, params } = found.match;
  // A client that goes away aborts the upstream call, body included.
  const abort = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) abort.abort();
  });

  try {
    const result = route.forward !== undefined
      ? await route.forward({
          method: request.method,
          rest: params.path ?? '',
          search: request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '',
          headers: request.headers,
          body: rawBody(request.body),
          signal: abort.signal,
        })
      : await route.call!.invoke(collectInputs(route.inputs, params, request), {
          mode: 'stream',
          signal: abort.signal,
          forwardHeaders: conditionalHeaders(request),
          logger: logger.child({ reqId: request.id, operation: route.name }),
        });
    reply.code(result.status).headers(result.headers);
    logRequest(logger, request, result.status, started, result.status, result.upstreamMs, route.name);
    if (result.kind === 'value') {
      return reply.header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(result.value));
    }
    if (result.status === 304 || result.status === 204 || request.method === 'HEAD') {
      result.body.resume();
      return reply.send();
    }
    if (result.status >= 400) {
      reply.removeHeader('content-length');
      return reply.send(await redactErrorBody(result.body, redact));
    }
    return reply.send(result.body);
  } catch (err) {
    if (abort.signal.aborted) {
      logger.info({ reqId: request.id, operation: route.name, durationMs: elapsedMs(started) }, 'client went away');
      return reply;
    }
    const problem = toProblem(err);
    logRequest(logger, request, problem.status, started, undefined, undefined, route.name, err);
    return sendProblem(reply, problem);
  }
}

/** A request body as bytes to hand on: JSON was parsed by Fastify, the rest kept raw. */
function rawBody(body: unknown): string | Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || Buffer.isBuffer(body)) return body;
  return JSON.stringify(body);
}

/** Headers taken from the upstream answer, wrong on a problem of ours. */
const UPSTREAM_HEADERS = ['content-length', 'content-type', 'content-disposition', 'etag', 'last-modified', 'cache-control', 'retry-after'];

/**
 * Errors that escape a handler. A streamed body that fails before its
 * first byte reaches the client (Fastify writes the status line with the
 * first chunk) still gets a problem of ours, without the upstream's
 * headers; a request body Fastify cannot parse is bad input naming `body`.
 * Anything else keeps Fastify's default handling.
 */
function onError(err: unknown, _request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (isCapabilityError(err)) {
    for (const name of UPSTREAM_HEADERS) reply.removeHeader(name);
    return sendProblem(reply, toProblem(err));
  }
  const fastifyError = err as { statusCode?: number; code?: string; message?: string };
  if (fastifyError.statusCode === 400 && fastifyError.code?.startsWith('FST_ERR_CTP_')) {
    const invalid = new CapabilityError('CAP_INPUT_INVALID', `request body: ${fastifyError.message ?? 'cannot be parsed'}`, {
      cause: err,
      data: { parameter: 'body' },
    });
    return sendProblem(reply, toProblem(invalid));
  }
  throw err;
}

function elapsedMs(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}

function collectInputs(
  fields: readonly InputField[],
  params: Readonly<Record<string, string>>,
  request: FastifyRequest,
): Map<string, unknown> {
  const query = request.query as Record<string, string | string[] | undefined>;
  const normalizedParams = new Map(Object.entries(params).map(([k, v]) => [normalizeName(k), v]));
  const inputs = new Map<string, unknown>();
  for (const field of fields) {
    // A `value` that is not a JSONPath is a constant (spec 2.2).
    const constant = field.value !== undefined && !field.value.startsWith('$') ? field.value : undefined;
    const raw = constant ?? rawInput(field, params, normalizedParams, query, request);
    if (raw === undefined) {
      if (field.required) throw missingInput(field);
      continue;
    }
    inputs.set(field.name, typeof raw === 'string' ? coerceText(field, raw) : checkTyped(field, raw));
  }
  return inputs;
}

/**
 * A body input (spec 2.2): the JSONPath of its `value` into the JSON body,
 * else the body's field of that name; a body that is not an object (or the
 * dialect's parameter named `body`) is the input as a whole.
 */
function bodyInput(field: InputField, raw: unknown): unknown {
  if (raw === undefined || raw === null) return undefined;
  const body = Buffer.isBuffer(raw) ? raw.toString('utf8') : raw;
  if (field.value?.startsWith('$')) return selectPath(body, field.value) ?? undefined;
  const isObject = typeof body === 'object' && !Array.isArray(body);
  if (isObject && field.name in (body as object)) return (body as Record<string, unknown>)[field.name] ?? undefined;
  return !isObject || field.name === 'body' ? body : undefined;
}

function rawInput(
  field: InputField,
  params: Readonly<Record<string, string>>,
  normalizedParams: ReadonlyMap<string, string>,
  query: Record<string, string | string[] | undefined>,
  request: FastifyRequest,
): unknown {
  switch (field.in) {
    case 'path':
      return params[field.name] ?? normalizedParams.get(normalizeName(field.name));
    case 'header':
      return first(request.headers[field.name.toLowerCase()] ?? request.headers[field.name.toLowerCase().replace(/_/g, '-')]);
    case 'body':
      return bodyInput(field, request.body);
    default:
      return first(query[field.name] ?? findLoose(query, field.name));
  }
}

function findLoose(query: Record<string, string | string[] | undefined>, name: string): string | string[] | undefined {
  const wanted = normalizeName(name);
  for (const [k, v] of Object.entries(query)) if (normalizeName(k) === wanted) return v;
  return undefined;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function conditionalHeaders(request: FastifyRequest): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const name of CONDITIONAL_HEADERS) {
    const value = first(request.headers[name]);
    if (value !== undefined) (out ??= {})[name] = value;
  }
  return out;
}

function notFound(method: string, path: string) {
  return toProblem(new CapabilityError('CAP_ROUTE_NOT_FOUND', `no route for ${method} ${path}`));
}

function notAllowed(method: string, allowed: readonly string[]) {
  return toProblem(
    new CapabilityError('CAP_ROUTE_METHOD', `method ${method} is not allowed here; allowed: ${allowed.join(', ')}`),
  );
}

function logRequest(
  logger: Logger,
  request: FastifyRequest,
  status: number,
  started: number,
  upstreamStatus?: number,
  upstreamMs?: number,
  operation?: string,
  err?: unknown,
): void {
  const entry = {
    reqId: request.id,
    method: request.method,
    path: request.url.split('?')[0],
    status,
    operation,
    upstreamStatus,
    upstreamMs: upstreamMs === undefined ? undefined : Math.round(upstreamMs * 10) / 10,
    durationMs: Math.round((performance.now() - started) * 10) / 10,
    err: status >= 500 ? err : undefined,
  };
  if (status >= 500) logger.error(entry, 'request failed');
  else logger.info(entry, 'request completed');
}
