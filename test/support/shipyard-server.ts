/**
 * Local stand-in for the two "Shipyard" mock APIs that the reference
 * tutorial runs against. The reference CI serves the same two OpenAPI files
 * with Microcks; this fixture reads them at start-up and answers from their
 * examples, choosing one with the `x-microcks-operation` dispatch rules, so
 * conformance tests never leave 127.0.0.1.
 *
 * Decisions (each one is derived from the files, never per ship):
 *
 * - Layout. One server, one base path per API, taken from `servers[0].url`
 *   (`/rest/<api-name>/<version>`). That is also how the reference CI lays
 *   out its local Microcks, so `registryUrl` and `legacyUrl` replace a
 *   tutorial `baseUri` one-for-one and `<url><resource path>` just works.
 * - Routing. Method plus path template, whole-segment `{param}`s only,
 *   segments compared after percent-decoding. Literal templates win over
 *   templated ones. No trailing-slash tolerance: a runtime that builds
 *   `/ships/` should see the failure here, not in production.
 * - Choosing an example. Examples are grouped by name across an operation's
 *   responses; the name decides the status code and media type. A name's
 *   dispatch criteria come from the parameter examples that share its name,
 *   formatted the way Microcks prints them (`?status=active`,
 *   `/imo_number=IMO-9321483`). See `chooseExampleName` for each dispatcher.
 * - No match. When no example matches (an unknown IMO number, say) the
 *   operation's first `404` example is served, or else a 404 JSON body in
 *   the files' `Error` shape. Microcks itself has no dispatch route to those
 *   `notFound` examples; serving them is our choice so that runtimes can be
 *   tested on an upstream 404. The registry's `400 invalidShip` example stays
 *   unreachable, as in Microcks: the SCRIPT rule always answers `created`.
 * - Templates. `{{ request.body }}` and `{{ request.body/<pointer> }}` (the
 *   only forms the files use) are rendered into string leaves; a missing
 *   value renders as an empty string. Any other expression fails at load.
 * - Auth. The registry's descriptions say an anonymous caller gets 5-field
 *   summaries and a bearer caller gets full details, but every example is
 *   either a summary list or a full detail, with no anonymous or
 *   authenticated variant to pick between. Nothing more is derivable, so
 *   credentials never change the answer (Microcks does not check them
 *   either). Tests assert the credentials a runtime sent through `requests`.
 */
import { existsSync, readFileSync } from 'node:fs';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** Where the team's shared workspace keeps the reference material. */
const DEFAULT_REFERENCE_DIR = '/work/shared/reference';

const REGISTRY_FILE =
  'naftiko-shipyard-maritime-registry-api.microcks-openapi.yaml';
const LEGACY_FILE = 'naftiko-shipyard-legacy-dockyard-api.microcks-openapi.yaml';

// Request bodies past this size (bytes) are drained and answered with 413.
const MAX_BODY_BYTES = 1024 * 1024;

// Chained `$ref`s deeper than this are treated as a cycle.
const MAX_REF_DEPTH = 16;

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head',
  'patch', 'trace'];

/** Which of the two Shipyard APIs a request reached. */
export type ShipyardApi = 'registry' | 'legacy';

/** One request as the fixture received it, plus what it answered. */
export interface RecordedRequest {
  /** `null` when the target is under neither base path. */
  api: ShipyardApi | null;
  /** The OpenAPI `operationId`, `null` when no operation matched. */
  operationId: string | null;
  method: string;
  /** The request-target exactly as sent, query string included. */
  target: string;
  /** Header name/value pairs in the order and case they arrived. */
  rawHeaders: string[];
  /** The same headers as node parsed them (lower-case names). */
  headers: IncomingHttpHeaders;
  /** The body as UTF-8 text, `''` when there was none. */
  body: string;
  status: number;
  /** Name of the example served, `null` for the fixture's own bodies. */
  example: string | null;
}

/** Options for `startShipyardServer`. */
export interface StartShipyardServerOptions {
  /** Folder holding both OpenAPI files; defaults to the shared reference. */
  referenceDir?: string;
}

/** A running fixture; `close()` it in `afterAll`. */
export interface ShipyardServer {
  /** Stand-in for the maritime registry `baseUri`, no trailing slash. */
  registryUrl: string;
  /** Stand-in for the legacy dockyard `baseUri`, no trailing slash. */
  legacyUrl: string;
  /** Every request received, oldest first; `clear()` empties it in place. */
  requests: RecordedRequest[];
  /** Forgets recorded requests; call it in `beforeEach`. */
  clear(): void;
  /** Stops listening and drops open keep-alive sockets. */
  close(): Promise<void>;
}

interface Example {
  name: string;
  status: number;
  mediaType: string;
  value: unknown;
}

type Dispatcher =
  | { kind: 'none' }
  | { kind: 'uri-params'; params: string[] }
  | { kind: 'uri-parts'; params: string[] }
  | { kind: 'script'; result: string }
  | { kind: 'fallback'; inner: Dispatcher; fallback: string };

type Segment = { literal: string } | { param: string };

interface Operation {
  operationId: string;
  method: string;
  segments: Segment[];
  paramCount: number;
  dispatcher: Dispatcher;
  examples: Map<string, Example>;
  byCriteria: Map<string, string>;
  defaultName: string | null;
  notFound: Example | null;
}

interface LoadedApi {
  name: ShipyardApi;
  basePath: string;
  operations: Operation[];
}

interface IncomingCall {
  method: string;
  target: string;
  body: string;
}

interface Outcome {
  api: ShipyardApi | null;
  operationId: string | null;
  status: number;
  mediaType: string;
  text: string;
  example: string | null;
  headers?: Record<string, string>;
}

type Json = Record<string, unknown>;

class ShipyardFixtureError extends Error {
  readonly code: string;

  constructor(code: string, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ShipyardFixtureError';
    this.code = code;
  }
}

/**
 * Starts one HTTP server on 127.0.0.1 (free port) serving both Shipyard
 * APIs. Throws `SHIPYARD_REFERENCE_MISSING` when the OpenAPI files are
 * absent and `SHIPYARD_SPEC_UNSUPPORTED` when they use a feature this
 * fixture does not implement, both before anything listens.
 */
export async function startShipyardServer(
  options: StartShipyardServerOptions = {},
): Promise<ShipyardServer> {
  const dir = options.referenceDir ?? DEFAULT_REFERENCE_DIR;
  const apis = [
    loadApi('registry', join(dir, REGISTRY_FILE), dir),
    loadApi('legacy', join(dir, LEGACY_FILE), dir),
  ];
  const requests: RecordedRequest[] = [];

  const server = createServer((req, res) => {
    void handleRequest(apis, requests, req, res);
  });
  const port = await listenOnLoopback(server);

  const origin = `http://127.0.0.1:${port}`;
  return {
    registryUrl: origin + apis[0]!.basePath,
    legacyUrl: origin + apis[1]!.basePath,
    requests,
    clear: () => {
      requests.length = 0;
    },
    close: () => closeServer(server),
  };
}

function listenOnLoopback(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));

    // Keep-alive sockets from fetch would otherwise hold close() open.
    server.closeAllConnections();
  });
}

// ---------------------------------------------------------------------------
// Loading the OpenAPI files
// ---------------------------------------------------------------------------

function loadApi(name: ShipyardApi, file: string, dir: string): LoadedApi {
  if (!existsSync(dir)) {
    throw new ShipyardFixtureError('SHIPYARD_REFERENCE_MISSING',
      `Shipyard fixture: reference directory ${dir} does not exist. It must ` +
      `hold ${REGISTRY_FILE} and ${LEGACY_FILE}; mount the shared reference ` +
      'there or pass referenceDir to startShipyardServer().');
  }
  if (!existsSync(file)) {
    throw new ShipyardFixtureError('SHIPYARD_REFERENCE_MISSING',
      `Shipyard fixture: OpenAPI file ${file} is missing from ${dir}.`);
  }

  const doc = asRecord(parseYaml(readFileSync(file, 'utf8')));
  if (doc === undefined) {
    throw unsupported(file, 'the file is not a YAML mapping');
  }
  return {
    name,
    basePath: readBasePath(doc, file),
    operations: readOperations(doc, file),
  };
}

function readBasePath(doc: Json, file: string): string {
  const servers = doc['servers'];
  const first = Array.isArray(servers) ? asRecord(servers[0]) : undefined;
  const url = first?.['url'];
  if (typeof url !== 'string') {
    throw unsupported(file, 'servers[0].url is needed to derive the base path');
  }
  return new URL(url).pathname.replace(/\/+$/, '');
}

function readOperations(doc: Json, file: string): Operation[] {
  const operations: Operation[] = [];
  const paths = asRecord(doc['paths']) ?? {};

  for (const [template, rawItem] of Object.entries(paths)) {
    const item = asRecord(resolveRef(doc, rawItem, file)) ?? {};
    const shared = asArray(item['parameters']);

    for (const method of HTTP_METHODS) {
      const op = asRecord(item[method]);
      if (op === undefined) continue;
      const where = `${file} ${method.toUpperCase()} ${template}`;
      operations.push(readOperation(doc, template, method, op, shared, where));
    }
  }
  return operations;
}

function readOperation(
  doc: Json,
  template: string,
  method: string,
  op: Json,
  sharedParams: unknown[],
  where: string,
): Operation {
  const segments = compileTemplate(template, where);
  const params = [...sharedParams, ...asArray(op['parameters'])]
    .map((p) => asRecord(resolveRef(doc, p, where)) ?? {});
  const examples = readExamples(doc, op, where);
  const micro = asRecord(op['x-microcks-operation']) ?? {};
  const dispatcher = parseDispatcher(
    micro['dispatcher'], micro['dispatcherRules'], where);

  assertTemplatesSupported(examples, where);
  assertNamedExamplesExist(dispatcher, examples, where);
  return {
    operationId: String(op['operationId'] ?? `${method} ${template}`),
    method: method.toUpperCase(),
    segments,
    paramCount: segments.filter((s) => 'param' in s).length,
    dispatcher,
    examples,
    byCriteria: indexCriteria(doc, dispatcher, params, examples, where),
    defaultName: pickDefaultName(examples),
    notFound: [...examples.values()].find((e) => e.status === 404) ?? null,
  };
}

function compileTemplate(template: string, where: string): Segment[] {
  return template.split('/').slice(1).map((part) => {
    const param = /^\{([^{}]+)\}$/.exec(part);
    if (param) return { param: param[1]! };
    if (part.includes('{')) {
      throw unsupported(where, `path segment "${part}" mixes text and a ` +
        'parameter; only whole-segment parameters are routed');
    }
    return { literal: part };
  });
}

// Examples keyed by name, in declaration order (responses, then media
// types). Microcks ties a name to one response, so the first one wins.
function readExamples(doc: Json, op: Json, where: string): Map<string, Example> {
  const examples = new Map<string, Example>();
  const responses = asRecord(op['responses']) ?? {};

  for (const [code, rawResponse] of Object.entries(responses)) {
    const response = asRecord(resolveRef(doc, rawResponse, where)) ?? {};
    const content = asRecord(response['content']) ?? {};

    for (const [mediaType, rawMedia] of Object.entries(content)) {
      const media = asRecord(rawMedia) ?? {};
      const named = asRecord(media['examples']) ?? {};

      for (const [name, rawExample] of Object.entries(named)) {
        if (examples.has(name)) continue;
        const status = parseStatus(code, where);
        const value = readExampleValue(doc, rawExample, `${where} ${name}`);
        examples.set(name, { name, status, mediaType, value });
      }
    }
  }
  return examples;
}

function parseStatus(code: string, where: string): number {
  const status = Number(code);
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    throw unsupported(where, `response "${code}" has examples but no ` +
      'numeric status code to serve them with');
  }
  return status;
}

function readExampleValue(doc: Json, raw: unknown, where: string): unknown {
  const example = asRecord(resolveRef(doc, raw, where)) ?? {};
  if ('externalValue' in example) {
    throw unsupported(where, 'externalValue examples are not fetched');
  }
  return example['value'];
}

function pickDefaultName(examples: Map<string, Example>): string | null {
  const all = [...examples.values()];
  const success = all.find((e) => e.status >= 200 && e.status < 300);
  return (success ?? all[0])?.name ?? null;
}

function resolveRef(doc: Json, node: unknown, where: string): unknown {
  let current = node;

  for (let depth = 0; depth < MAX_REF_DEPTH; depth += 1) {
    const ref = asRecord(current)?.['$ref'];
    if (typeof ref !== 'string') return current;
    if (!ref.startsWith('#/')) {
      throw unsupported(where, `$ref "${ref}" is not local to the file`);
    }
    current = followPointer(doc, ref.slice(2).split('/'));
    if (current === undefined) {
      throw unsupported(where, `$ref "${ref}" points at nothing`);
    }
  }
  throw unsupported(where, `$ref chain longer than ${MAX_REF_DEPTH} links`);
}

function followPointer(root: unknown, tokens: string[]): unknown {
  let current = root;

  for (const token of tokens) {
    const key = token.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(current)) current = current[Number(key)];
    else current = asRecord(current)?.[key];
    if (current === undefined) return undefined;
  }
  return current;
}

// ---------------------------------------------------------------------------
// Dispatch rules (x-microcks-operation)
// ---------------------------------------------------------------------------

function parseDispatcher(kind: unknown, rules: unknown, where: string): Dispatcher {
  switch (kind) {
    case undefined:
    case null:
      return { kind: 'none' };
    case 'URI_PARAMS':
      return { kind: 'uri-params', params: splitRuleNames(rules, where) };
    case 'URI_PARTS':
      return { kind: 'uri-parts', params: splitRuleNames(rules, where) };
    case 'SCRIPT':
      return { kind: 'script', result: parseTrivialScript(rules, where) };
    case 'FALLBACK':
      return parseFallback(rules, where);
    default:
      throw unsupported(where, `dispatcher ${String(kind)} is not ` +
        'implemented (URI_PARAMS, URI_PARTS, SCRIPT and FALLBACK are)');
  }
}

// A SCRIPT result or FALLBACK name that matches no example would quietly
// turn every call into a 404, so it is rejected at load instead.
function assertNamedExamplesExist(
  dispatcher: Dispatcher,
  examples: Map<string, Example>,
  where: string,
): void {
  const named = dispatcher.kind === 'script' ? dispatcher.result
    : dispatcher.kind === 'fallback' ? dispatcher.fallback : null;
  if (named !== null && !examples.has(named)) {
    throw unsupported(where, `dispatch names example "${named}", which no ` +
      `response defines (known: ${[...examples.keys()].join(', ')})`);
  }
  if (dispatcher.kind === 'fallback') {
    assertNamedExamplesExist(dispatcher.inner, examples, where);
  }
}

// Microcks joins several parameter names with `&&`.
function splitRuleNames(rules: unknown, where: string): string[] {
  const names = String(rules ?? '').split('&&').map((n) => n.trim())
    .filter((n) => n !== '');
  if (names.length === 0) {
    throw unsupported(where, 'dispatcher rules name no parameter');
  }
  return names;
}

// Scripts are Groovy in Microcks. We evaluate only a lone return of a
// string literal, which is all the files hold, and never run code.
function parseTrivialScript(rules: unknown, where: string): string {
  const match = /^\s*return\s+(['"])([^'"\\]*)\1\s*;?\s*$/.exec(String(rules));
  if (!match) {
    throw unsupported(where, `SCRIPT "${String(rules)}" is not a plain ` +
      "`return 'example-name'`");
  }
  return match[2]!;
}

function parseFallback(rules: unknown, where: string): Dispatcher {
  let config: Json | undefined;
  try {
    config = asRecord(JSON.parse(String(rules)));
  } catch (err) {
    throw unsupported(where, 'FALLBACK rules are not JSON', err);
  }
  const fallback = config?.['fallback'];
  if (config === undefined || typeof fallback !== 'string') {
    throw unsupported(where, 'FALLBACK rules need a "fallback" example name');
  }
  const inner = parseDispatcher(
    config['dispatcher'], config['dispatcherRules'], where);
  return { kind: 'fallback', inner, fallback };
}

// Maps each example's dispatch criteria to its name. An example's criteria
// are built from the parameter examples that carry the same name; examples
// with no such parameter value (allShips, notFound) get no entry.
function indexCriteria(
  doc: Json,
  dispatcher: Dispatcher,
  params: Json[],
  examples: Map<string, Example>,
  where: string,
): Map<string, string> {
  const index = new Map<string, string>();
  const rule = findCriteriaRule(dispatcher);
  if (rule === null) return index;

  const location = rule.kind === 'uri-params' ? 'query' : 'path';
  const ruled = params.filter((p) =>
    p['in'] === location && rule.params.includes(String(p['name'])));

  for (const name of examples.keys()) {
    const values = new Map<string, string>();
    for (const param of ruled) {
      const named = asRecord(param['examples'])?.[name];
      if (named === undefined) continue;
      const value = readExampleValue(doc, named, where);
      values.set(String(param['name']), String(value));
    }
    const criteria = formatCriteria(rule, values);
    if (criteria !== null && !index.has(criteria)) index.set(criteria, name);
  }
  return index;
}

type CriteriaRule = Extract<Dispatcher, { kind: 'uri-params' | 'uri-parts' }>;

function findCriteriaRule(dispatcher: Dispatcher): CriteriaRule | null {
  if (dispatcher.kind === 'fallback') return findCriteriaRule(dispatcher.inner);
  if (dispatcher.kind === 'uri-params' || dispatcher.kind === 'uri-parts') {
    return dispatcher;
  }
  return null;
}

// Microcks prints criteria as `?a=1&b=2` for query parameters and as
// `/a=1/b=2` for path parts. Names are sorted so order never matters.
function formatCriteria(
  rule: CriteriaRule,
  values: Map<string, string>,
): string | null {
  const pairs = [...rule.params].sort()
    .filter((name) => values.has(name))
    .map((name) => `${name}=${values.get(name)}`);
  if (pairs.length === 0) return null;

  return rule.kind === 'uri-params'
    ? `?${pairs.join('&')}`
    : pairs.map((pair) => `/${pair}`).join('');
}

interface DispatchInput {
  query: URLSearchParams;
  pathParams: Map<string, string>;
}

// Returns the example name to serve, or null when nothing matches.
// none: the first 2xx example (Microcks serves the first response).
// uri-params / uri-parts: the example whose criteria equal the request's.
// script: the literal the script returns.
// fallback: the inner choice when it names an existing example, else the
// named fallback.
function chooseExampleName(
  op: Operation,
  dispatcher: Dispatcher,
  input: DispatchInput,
): string | null {
  switch (dispatcher.kind) {
    case 'none':
      return op.defaultName;
    case 'script':
      return dispatcher.result;
    case 'fallback': {
      const inner = chooseExampleName(op, dispatcher.inner, input);
      return inner !== null && op.examples.has(inner)
        ? inner
        : dispatcher.fallback;
    }
    default: {
      const criteria = formatCriteria(dispatcher, readCriteriaValues(
        dispatcher, input));
      return criteria === null ? null : op.byCriteria.get(criteria) ?? null;
    }
  }
}

function readCriteriaValues(
  rule: CriteriaRule,
  input: DispatchInput,
): Map<string, string> {
  if (rule.kind === 'uri-parts') return input.pathParams;

  const values = new Map<string, string>();
  for (const name of rule.params) {
    const value = input.query.get(name);
    if (value !== null) values.set(name, value);
  }
  return values;
}

// ---------------------------------------------------------------------------
// Response templates ({{ request.body/... }})
// ---------------------------------------------------------------------------

const TEMPLATE = /\{\{\s*(.*?)\s*\}\}/g;

function assertTemplatesSupported(
  examples: Map<string, Example>,
  where: string,
): void {
  for (const example of examples.values()) {
    visitStrings(example.value, (text) => {
      for (const match of text.matchAll(TEMPLATE)) {
        parseBodyPointer(match[1]!, `${where} ${example.name}`);
      }
    });
  }
}

function visitStrings(value: unknown, visit: (text: string) => void): void {
  if (typeof value === 'string') visit(value);
  else if (Array.isArray(value)) value.forEach((v) => visitStrings(v, visit));
  else if (isRecord(value)) {
    Object.values(value).forEach((v) => visitStrings(v, visit));
  }
}

// `request.body` is the whole body; `request.body/a/b` a JSON pointer in it.
function parseBodyPointer(expression: string, where: string): string[] {
  if (expression === 'request.body') return [];
  if (expression.startsWith('request.body/')) {
    return expression.slice('request.body/'.length).split('/');
  }
  throw unsupported(where, `template expression "${expression}" is not ` +
    'implemented (request.body and request.body/<pointer> are)');
}

function renderTemplates(value: unknown, body: string): unknown {
  let parsed: { json: unknown } | undefined;
  const readJson = (): unknown => {
    parsed ??= { json: parseJsonOrUndefined(body) };
    return parsed.json;
  };
  const renderText = (text: string): string =>
    text.replace(TEMPLATE, (_, expression: string) => {
      const pointer = parseBodyPointer(expression, 'request');
      if (pointer.length === 0) return body;
      return stringifyInserted(followPointer(readJson(), pointer));
    });
  return mapStrings(value, renderText);
}

function mapStrings(value: unknown, map: (text: string) => string): unknown {
  if (typeof value === 'string') return map(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, map));
  if (!isRecord(value)) return value;

  const copy: Json = {};
  for (const [key, v] of Object.entries(value)) copy[key] = mapStrings(v, map);
  return copy;
}

function stringifyInserted(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// Serving
// ---------------------------------------------------------------------------

async function handleRequest(
  apis: LoadedApi[],
  requests: RecordedRequest[],
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const method = req.method ?? 'GET';
  const target = req.url ?? '/';
  let body = '';
  let outcome: Outcome;

  try {
    const read = await readBody(req);
    body = read.text;
    outcome = read.tooLarge
      ? fixtureError(null, 413, 'payload_too_large',
        `request bodies are capped at ${MAX_BODY_BYTES} bytes`)
      : respond(apis, { method, target, body });
  } catch (err) {
    outcome = fixtureError(null, 500, 'fixture_error', String(err));
  }

  requests.push({
    api: outcome.api,
    operationId: outcome.operationId,
    method,
    target,
    rawHeaders: [...req.rawHeaders],
    headers: { ...req.headers },
    body,
    status: outcome.status,
    example: outcome.example,
  });
  sendOutcome(res, outcome);
}

async function readBody(
  req: IncomingMessage,
): Promise<{ text: string; tooLarge: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;

  // Past the cap we keep draining so the client can still read our 413.
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  return {
    text: Buffer.concat(chunks).toString('utf8'),
    tooLarge: size > MAX_BODY_BYTES,
  };
}

function sendOutcome(res: ServerResponse, outcome: Outcome): void {
  res.writeHead(outcome.status, {
    'content-type': outcome.mediaType,
    'content-length': Buffer.byteLength(outcome.text),
    ...outcome.headers,
  });
  res.end(outcome.text);
}

// The target is split by hand rather than through WHATWG URL, which would
// collapse `.` and `..` segments and hide a runtime's path bugs from tests.
function respond(apis: LoadedApi[], call: IncomingCall): Outcome {
  const mark = call.target.indexOf('?');
  const pathname = mark === -1 ? call.target : call.target.slice(0, mark);
  const query = new URLSearchParams(mark === -1 ? '' : call.target.slice(mark + 1));

  const located = locateApi(apis, pathname);
  if (located === null) {
    return fixtureError(null, 404, 'not_found',
      `${pathname} is under neither Shipyard base path ` +
      `(${apis.map((a) => a.basePath).join(', ')})`);
  }

  const segments = decodeSegments(located.rest);
  if (segments === null) {
    return fixtureError(located.api.name, 400, 'bad_request',
      `${pathname} holds a malformed percent-encoding`);
  }
  return respondFromApi(located.api, call, segments, query);
}

function locateApi(
  apis: LoadedApi[],
  pathname: string,
): { api: LoadedApi; rest: string } | null {
  for (const api of apis) {
    if (pathname.startsWith(`${api.basePath}/`)) {
      return { api, rest: pathname.slice(api.basePath.length) };
    }
  }
  return null;
}

function decodeSegments(rest: string): string[] | null {
  try {
    return rest.split('/').slice(1).map((s) => decodeURIComponent(s));
  } catch {
    return null;
  }
}

function respondFromApi(
  api: LoadedApi,
  call: IncomingCall,
  segments: string[],
  query: URLSearchParams,
): Outcome {
  const routes = api.operations
    .map((op) => ({ op, pathParams: matchSegments(op.segments, segments) }))
    .filter((r) => r.pathParams !== null)
    .sort((a, b) => a.op.paramCount - b.op.paramCount);
  const route = routes.find((r) => r.op.method === call.method);

  if (route === undefined) {
    return routes.length === 0
      ? fixtureError(api.name, 404, 'not_found',
        `no ${api.name} operation has the path /${segments.join('/')}`)
      : methodNotAllowed(api.name, call.method, routes.map((r) => r.op));
  }
  const pathParams = route.pathParams ?? new Map<string, string>();
  return serveOperation(api.name, route.op, call.body, { query, pathParams });
}

function matchSegments(
  template: Segment[],
  segments: string[],
): Map<string, string> | null {
  if (template.length !== segments.length) return null;
  const params = new Map<string, string>();

  for (const [i, part] of template.entries()) {
    const actual = segments[i]!;
    if ('param' in part) {
      if (actual === '') return null;
      params.set(part.param, actual);
    } else if (part.literal !== actual) {
      return null;
    }
  }
  return params;
}

function serveOperation(
  api: ShipyardApi,
  op: Operation,
  body: string,
  input: DispatchInput,
): Outcome {
  const name = chooseExampleName(op, op.dispatcher, input);
  const example = name === null ? undefined : op.examples.get(name);
  const chosen = example ?? op.notFound;

  if (chosen === null) {
    return fixtureError(api, 404, 'not_found', `no example of ` +
      `${op.operationId} matches this request and it defines no 404 example`,
    op.operationId);
  }

  const rendered = renderTemplates(chosen.value, body);
  return {
    api,
    operationId: op.operationId,
    status: chosen.status,
    mediaType: chosen.mediaType,
    text: typeof rendered === 'string' ? rendered : JSON.stringify(rendered),
    example: chosen.name,
  };
}

function methodNotAllowed(
  api: ShipyardApi,
  method: string,
  candidates: Operation[],
): Outcome {
  const allow = [...new Set(candidates.map((op) => op.method))].join(', ');
  return {
    ...fixtureError(api, 405, 'method_not_allowed',
      `${method} is not defined here; allowed: ${allow}`),
    headers: { allow },
  };
}

// The fixture's own answers use the files' Error shape: {error, message}.
function fixtureError(
  api: ShipyardApi | null,
  status: number,
  error: string,
  message: string,
  operationId: string | null = null,
): Outcome {
  return {
    api,
    operationId,
    status,
    mediaType: 'application/json',
    text: JSON.stringify({ error, message }),
    example: null,
  };
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

function unsupported(where: string, detail: string, cause?: unknown): Error {
  return new ShipyardFixtureError('SHIPYARD_SPEC_UNSUPPORTED',
    `Shipyard fixture: ${where}: ${detail}.`, cause);
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asRecord(value: unknown): Json | undefined {
  return isRecord(value) ? value : undefined;
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
