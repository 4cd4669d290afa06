// A loopback HTTP proxy in front of the real Prefect server that makes it
// look like Prefect Cloud to the runtime under test:
// - it records every request exactly as it arrived (method, raw target, raw
//   headers, body), so tests can assert what the runtime sent upstream;
// - it can demand `Authorization: Bearer <token>` like Cloud does;
// - it serves the two Cloud-only log routes the OSS server lacks
//   (prefect-logs-api.md sections 3 and 4), built from the server's data;
// - everything else goes to the real server unchanged.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGzip, gzipSync } from 'node:zlib';
import { stringify } from 'csv-stringify/sync';
import { request } from 'undici';

/** One request as the proxy received it. */
export interface RecordedRequest {
  method: string;
  /** Path and query exactly as on the request line, nothing decoded. */
  target: string;
  /** Header name/value pairs in arrival order, names in their sent case. */
  rawHeaders: Array<[string, string]>;
  /** Request body; complete once the response has been sent. */
  body: Buffer;
  /** Status the proxy answered with; set when the exchange is over. */
  status?: number;
}

/** Options of startRecordingProxy. */
export interface RecordingProxyOptions {
  /** Origin of the real Prefect server, e.g. `http://127.0.0.1:4321`. */
  target: string;
  /** When set, requests without `Authorization: Bearer <token>` get 401. */
  expectedToken?: string;
  /** Largest page the server accepts (PREFECT_SERVER_API_DEFAULT_LIMIT); 200. */
  maxLimit?: number;
}

/** A running proxy. */
export interface RecordingProxy {
  /** `http://127.0.0.1:<port>`; append the Prefect base path to it. */
  url: string;
  /** Live list of recorded requests, oldest first. */
  readonly requests: readonly RecordedRequest[];
  /** Forgets the recorded requests. */
  clear(): void;
  /** Turns the bearer check on (a token) or off (undefined). */
  setExpectedToken(token: string | undefined): void;
  close(): Promise<void>;
}

/** Cloud's 401 body; the only public sighting had content-length 25. */
export const UNAUTHORIZED_BODY = { detail: 'Unauthorized' };

/** Starts the proxy on a free port of 127.0.0.1. */
export async function startRecordingProxy(
  options: RecordingProxyOptions,
): Promise<RecordingProxy> {
  const requests: RecordedRequest[] = [];
  const state = { token: options.expectedToken };
  const agent = new http.Agent({ keepAlive: true });
  const upstream: Upstream = {
    origin: new URL(options.target),
    agent,
    maxLimit: options.maxLimit ?? 200,
  };

  const server = http.createServer((req, res) => {
    const { record, bodyRead } = recordRequest(req, res);
    requests.push(record);
    handle(req, res, { upstream, token: state.token, bodyRead })
      .catch((err: unknown) => fail(res, err));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    clear: () => void requests.splice(0),
    setExpectedToken: (token) => void (state.token = token),
    close: () => (closing ??= closeProxy(server, agent)),
  };
}

/** Values of one header in a recorded request, matched case-insensitively. */
export function headerValues(record: RecordedRequest, name: string): string[] {
  const wanted = name.toLowerCase();
  return record.rawHeaders.filter(([n]) => n.toLowerCase() === wanted).map(([, v]) => v);
}

interface Upstream {
  origin: URL;
  agent: http.Agent;
  maxLimit: number;
}

async function closeProxy(server: http.Server, agent: http.Agent): Promise<void> {
  const closed = once(server, 'close');
  server.close();
  server.closeAllConnections();
  agent.destroy();
  await closed;
}

function recordRequest(
  req: http.IncomingMessage,
  res: http.ServerResponse,
): { record: RecordedRequest; bodyRead: Promise<void> } {
  const record: RecordedRequest = {
    method: req.method ?? '',
    target: req.url ?? '',
    rawHeaders: pairHeaders(req.rawHeaders),
    body: Buffer.alloc(0),
  };

  // This listener also drains bodies the proxy answers without forwarding.
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  const bodyRead = new Promise<void>((resolve) => {
    req.on('end', () => {
      record.body = Buffer.concat(chunks);
      resolve();
    });
    req.on('close', () => resolve());
  });
  res.on('finish', () => void (record.status = res.statusCode));
  res.on('close', () => void (record.status = res.statusCode));
  return { record, bodyRead };
}

interface Exchange {
  upstream: Upstream;
  token: string | undefined;
  /** Settles once the request body is in the record (or the client left). */
  bodyRead: Promise<void>;
}

async function handle(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  { upstream, token, bodyRead }: Exchange,
): Promise<void> {
  const route = matchCloudRoute(req.url ?? '');
  const authorized = token === undefined || hasBearer(req.rawHeaders, token);
  if (authorized && route === undefined) return forward(req, res, upstream);

  // Answered here: read the whole body first, so the record is complete
  // by the time the client sees the response.
  await bodyRead;
  if (!authorized) return sendJson(req, res, 401, UNAUTHORIZED_BODY);
  if (route === undefined) return;
  if (req.method !== 'GET') {
    return sendJson(req, res, 405, { detail: 'Method Not Allowed' }, { allow: 'GET' });
  }
  return route.kind === 'logs'
    ? serveLogsPage(req, res, upstream, route)
    : serveLogsCsv(req, res, upstream, route);
}

// Exactly one Authorization header, byte-equal to "Bearer <token>".
function hasBearer(rawHeaders: string[], token: string): boolean {
  const values = pairHeaders(rawHeaders)
    .filter(([name]) => name.toLowerCase() === 'authorization')
    .map(([, value]) => value);
  return values.length === 1 && values[0] === `Bearer ${token}`;
}

function fail(res: http.ServerResponse, err: unknown): void {
  if (res.headersSent) {
    // Like a server failing mid-stream: the client sees a cut-off body.
    res.destroy(err instanceof Error ? err : new Error(String(err)));
    return;
  }
  const detail = `Bad Gateway: ${err instanceof Error ? err.message : String(err)}`;
  const body = JSON.stringify({ detail });
  res.writeHead(502, { 'content-type': 'application/json' }).end(body);
}

// ---------------------------------------------------------------------------
// Forwarding

// RFC 9110 section 7.6.1: connection-specific fields are not forwarded.
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate',
  'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

function forward(req: http.IncomingMessage, res: http.ServerResponse, upstream: Upstream): void {
  const outgoing = http.request({
    host: upstream.origin.hostname,
    port: upstream.origin.port,
    method: req.method,
    path: req.url,
    headers: flattenHeaders(withoutHopByHop(req.rawHeaders)),
    // The client's Host goes through as sent, so the server's redirects
    // (FastAPI's 307 for a missing slash) point back at the proxy.
    setHost: false,
    agent: upstream.agent,
  });

  outgoing.on('response', (incoming) => {
    res.sendDate = false;
    const headers = flattenHeaders(withoutHopByHop(incoming.rawHeaders));
    res.writeHead(incoming.statusCode ?? 502, incoming.statusMessage, headers);
    incoming.on('error', (err) => res.destroy(err));
    incoming.pipe(res);
  });
  outgoing.on('error', (err) => fail(res, err));
  res.on('close', () => {
    if (!res.writableFinished) outgoing.destroy();
  });
  req.pipe(outgoing);
}

function withoutHopByHop(rawHeaders: string[]): Array<[string, string]> {
  const pairs = pairHeaders(rawHeaders);
  const listed = pairs
    .filter(([name]) => name.toLowerCase() === 'connection')
    .flatMap(([, value]) => value.split(',').map((v) => v.trim().toLowerCase()));
  const drop = new Set([...HOP_BY_HOP, ...listed]);
  return pairs.filter(([name]) => !drop.has(name.toLowerCase()));
}

function pairHeaders(rawHeaders: string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    pairs.push([rawHeaders[i] as string, rawHeaders[i + 1] as string]);
  }
  return pairs;
}

function flattenHeaders(pairs: Array<[string, string]>): string[] {
  return pairs.flat();
}

// ---------------------------------------------------------------------------
// Cloud-only routes

interface CloudRoute {
  kind: 'logs' | 'csv';
  /** Everything before `/flow_runs`, e.g. `/api/accounts/A/workspaces/W`. */
  base: string;
  /** The id path segment, still percent-encoded. */
  rawId: string;
  query: URLSearchParams;
}

// The base is taken from the request, so a wrong account or workspace id
// reaches the server's missing mount and comes back 404, as on Cloud.
const CLOUD_ROUTE = /^(\/.*)\/flow_runs\/([^/]+)\/(logs|download-logs-csv)$/;

function matchCloudRoute(target: string): CloudRoute | undefined {
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  const match = CLOUD_ROUTE.exec(path);
  if (match === null) return undefined;

  return {
    kind: match[3] === 'logs' ? 'logs' : 'csv',
    base: match[1] as string,
    rawId: match[2] as string,
    query: new URLSearchParams(queryAt === -1 ? '' : target.slice(queryAt + 1)),
  };
}

/** Cloud operation B: one page of logs as JSON (prefect-logs-api.md 4). */
async function serveLogsPage(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  upstream: Upstream,
  route: CloudRoute,
): Promise<void> {
  const parsed = parseLogsQuery(route, upstream.maxLimit);
  if (parsed.issues.length > 0) return sendValidationError(req, res, parsed.issues);
  const limitError = checkLimit(parsed.query.limit, upstream.maxLimit);
  if (limitError !== undefined) return sendJson(req, res, 422, { detail: limitError });

  const runId = parsed.query.runId;
  const run = await readFlowRun(upstream, route.base, runId);
  if (run.status !== 200) return sendRaw(req, res, run.status, run.body);

  const body = Buffer.from(await readLogsPage(upstream, route.base, parsed.query));
  const etag = `"${createHash('sha256').update(body).digest('base64url')}"`;
  if (matchesEtag(req.headers['if-none-match'], etag)) {
    res.writeHead(304, { etag }).end();
    return;
  }
  sendBody(req, res, 200, { 'content-type': 'application/json', etag }, body);
}

/** Cloud operation A: the deprecated alias of the CSV download (section 3). */
async function serveLogsCsv(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  upstream: Upstream,
  route: CloudRoute,
): Promise<void> {
  const id = parseUuid(['path', 'id'], safeDecode(route.rawId));
  if (!id.ok) return sendValidationError(req, res, [id.issue]);
  const run = await readFlowRun(upstream, route.base, id.value);
  if (run.status !== 200) return sendRaw(req, res, run.status, run.body);

  const runName = (JSON.parse(run.body.toString('utf8')) as { name: string }).name;
  const gzip = acceptsGzip(req);
  res.writeHead(200, {
    'content-disposition': contentDisposition(runName),
    'content-type': 'text/csv; charset=utf-8',
    vary: 'Accept-Encoding',
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
  });
  const sink = gzip ? pipeThroughGzip(res) : res;

  await writeChunk(res, sink, encodeCsv([CSV_HEADER]));
  for await (const page of allLogPages(upstream, route.base, id.value)) {
    if (res.destroyed) return;
    await writeChunk(res, sink, encodeCsv(page.map(toCsvRow)));
  }
  sink.end();
}

// ---------------------------------------------------------------------------
// Talking to the real server

interface UpstreamAnswer {
  status: number;
  body: Buffer;
}

async function callUpstream(
  upstream: Upstream,
  path: string,
  jsonBody?: unknown,
): Promise<UpstreamAnswer> {
  const res = await request(new URL(path, upstream.origin), {
    method: jsonBody === undefined ? 'GET' : 'POST',
    headers: jsonBody === undefined ? {} : { 'content-type': 'application/json' },
    body: jsonBody === undefined ? undefined : JSON.stringify(jsonBody),
  });
  return { status: res.statusCode, body: Buffer.from(await res.body.arrayBuffer()) };
}

// 404 {"detail":"Flow run not found"} for an unknown run: the OSS filter
// route would answer 200 [] instead (prefect-logs-api.md 8.1).
function readFlowRun(upstream: Upstream, base: string, runId: string): Promise<UpstreamAnswer> {
  return callUpstream(upstream, `${base}/flow_runs/${runId}`);
}

async function filterLogs(
  upstream: Upstream,
  base: string,
  body: Record<string, unknown>,
): Promise<Array<Record<string, unknown>>> {
  const answer = await callUpstream(upstream, `${base}/logs/filter`, body);
  if (answer.status !== 200) {
    throw new Error(`logs/filter answered ${answer.status}: ${answer.body.toString('utf8')}`);
  }
  return JSON.parse(answer.body.toString('utf8')) as Array<Record<string, unknown>>;
}

// Bounds every paging loop: 10 000 pages of 200 is two million logs.
const MAX_PAGES = 10_000;

async function* allLogPages(
  upstream: Upstream,
  base: string,
  runId: string,
  filter: Record<string, unknown> = {},
  sort: LogSort = 'TIMESTAMP_ASC',
): AsyncGenerator<Array<Record<string, unknown>>> {
  const limit = upstream.maxLimit;
  const logs = { ...filter, flow_run_id: { any_: [runId] } };
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const body = { logs, sort, offset: page * limit, limit };
    const rows = await filterLogs(upstream, base, body);
    if (rows.length > 0) yield rows;
    if (rows.length < limit) return;
  }
  throw new Error(`flow run ${runId} has more than ${MAX_PAGES} pages of logs`);
}

async function readLogsPage(upstream: Upstream, base: string, query: LogsQuery): Promise<string> {
  const filter = buildLogFilter(query);

  // The OSS LogFilter has no logger field (a 422 if sent), so with `loggers`
  // the proxy reads every matching log and pages the name-filtered result.
  if (query.loggers !== undefined) {
    const wanted = new Set(query.loggers);
    const kept: Array<Record<string, unknown>> = [];
    for await (const rows of allLogPages(upstream, base, query.runId, filter, query.sort)) {
      kept.push(...rows.filter((row) => wanted.has(String(row.name))));
    }
    return JSON.stringify(kept.slice(query.offset, query.offset + query.limit));
  }

  const body = {
    logs: { ...filter, flow_run_id: { any_: [query.runId] } },
    sort: query.sort,
    offset: query.offset,
    limit: query.limit,
  };
  const answer = await callUpstream(upstream, `${base}/logs/filter`, body);
  if (answer.status !== 200) {
    throw new Error(`logs/filter answered ${answer.status}: ${answer.body.toString('utf8')}`);
  }
  return answer.body.toString('utf8');
}

// Mapping of prefect-logs-api.md 4.4; since/until are inclusive (after_/before_).
function buildLogFilter(query: LogsQuery): Record<string, unknown> {
  const filter: Record<string, unknown> = {};
  const level = dropUndefined({ ge_: query.levelGe, le_: query.levelLe });
  if (level !== undefined) filter.level = level;
  const timestamp = dropUndefined({ after_: query.since, before_: query.until });
  if (timestamp !== undefined) filter.timestamp = timestamp;
  const taskRun = dropUndefined({ any_: query.taskRuns, is_null_: query.taskRunsIsNull });
  if (taskRun !== undefined) filter.task_run_id = taskRun;
  if (query.textQuery !== undefined) filter.text = { query: query.textQuery };
  return filter;
}

function dropUndefined(fields: Record<string, unknown>): Record<string, unknown> | undefined {
  const kept = Object.entries(fields).filter(([, value]) => value !== undefined);
  return kept.length === 0 ? undefined : Object.fromEntries(kept);
}

// ---------------------------------------------------------------------------
// Query validation, in the shape of Prefect's 422 handler (section 2.4)

type LogSort = 'TIMESTAMP_ASC' | 'TIMESTAMP_DESC';

interface LogsQuery {
  runId: string;
  levelGe?: number;
  levelLe?: number;
  offset: number;
  sort: LogSort;
  since?: string;
  until?: string;
  taskRuns?: string[];
  taskRunsIsNull?: boolean;
  loggers?: string[];
  textQuery?: string;
  limit: number;
}

/** One entry of `exception_detail`, as pydantic reports it. */
interface ValidationIssue {
  type: string;
  loc: Array<string | number>;
  msg: string;
  input: unknown;
  ctx?: Record<string, unknown>;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; issue: ValidationIssue };
type Parser<T> = (loc: string[], raw: string) => Parsed<T>;

// Parameters are checked in the order Cloud's OpenAPI declares them, which
// is the order FastAPI lists its errors in: the path first, then the query.
function parseLogsQuery(
  route: CloudRoute,
  maxLimit: number,
): { query: LogsQuery; issues: ValidationIssue[] } {
  const issues: ValidationIssue[] = [];
  const take = <T>(name: string, parse: Parser<T>): T | undefined => {
    // FastAPI keeps the last value of a repeated scalar parameter.
    const raw = route.query.getAll(name).at(-1);
    if (raw === undefined) return undefined;
    const parsed = parse(['query', name], raw);
    if (parsed.ok) return parsed.value;
    issues.push(parsed.issue);
    return undefined;
  };

  const runId = parseUuid(['path', 'id'], safeDecode(route.rawId));
  if (!runId.ok) issues.push(runId.issue);
  const query: LogsQuery = {
    runId: runId.ok ? runId.value : '',
    levelGe: take('level_ge', (loc, raw) => parseInteger(loc, raw, 0)),
    levelLe: take('level_le', (loc, raw) => parseInteger(loc, raw, 0)),
    offset: take('offset', (loc, raw) => parseInteger(loc, raw, 0)) ?? 0,
    sort: take('sort', parseSort) ?? 'TIMESTAMP_ASC',
    since: take('since', parseDateTime),
    until: take('until', parseDateTime),
    taskRuns: take('task_runs', parseUuidList),
    taskRunsIsNull: take('task_runs_is_null', parseBoolean),
    loggers: take('loggers', (_loc, raw) => ok(splitList(raw))),
    textQuery: take('text_query', (loc, raw) => parseText(loc, raw, 200)),
    limit: take('limit', (loc, raw) => parseInteger(loc, raw)) ?? maxLimit,
  };
  return { query, issues };
}

// Prefect checks the page size outside pydantic, with a plain `detail`.
function checkLimit(limit: number, maxLimit: number): string | undefined {
  if (limit > maxLimit) return `Invalid limit: must be less than or equal to ${maxLimit}.`;
  if (limit < 0) return 'Invalid limit: must be greater than or equal to 0.';
  return undefined;
}

function ok<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

function issue(
  type: string,
  loc: string[],
  msg: string,
  input: unknown,
  ctx?: Record<string, unknown>,
): Parsed<never> {
  return { ok: false, issue: { type, loc, msg, input, ...(ctx ? { ctx } : {}) } };
}

// pydantic's lax int: surrounding spaces, a sign, `_` between digits and a
// zero fraction ("5.0") are accepted; "5.5" and "1e1" are not.
function parseInteger(loc: string[], raw: string, min?: number): Parsed<number> {
  const text = raw.trim();
  if (!/^[+-]?\d+(?:_\d+)*(?:\.0*)?$/.test(text)) {
    const msg = 'Input should be a valid integer, unable to parse string as an integer';
    return issue('int_parsing', loc, msg, raw);
  }
  const value = Number.parseInt(text.replaceAll('_', ''), 10);
  if (min !== undefined && value < min) {
    const msg = `Input should be greater than or equal to ${min}`;
    return issue('greater_than_equal', loc, msg, raw, { ge: min });
  }
  return ok(value);
}

function parseSort(loc: string[], raw: string): Parsed<LogSort> {
  if (raw === 'TIMESTAMP_ASC' || raw === 'TIMESTAMP_DESC') return ok(raw);
  const expected = "'TIMESTAMP_ASC' or 'TIMESTAMP_DESC'";
  return issue('enum', loc, `Input should be ${expected}`, raw, { expected });
}

const BOOLEAN_WORDS = new Map<string, boolean>([
  ['1', true], ['on', true], ['t', true], ['true', true], ['y', true], ['yes', true],
  ['0', false], ['off', false], ['f', false], ['false', false], ['n', false], ['no', false],
]);

function parseBoolean(loc: string[], raw: string): Parsed<boolean> {
  const value = BOOLEAN_WORDS.get(raw.toLowerCase());
  if (value !== undefined) return ok(value);
  const msg = 'Input should be a valid boolean, unable to interpret input';
  return issue('bool_parsing', loc, msg, raw);
}

function parseText(loc: string[], raw: string, maxLength: number): Parsed<string> {
  // Python counts code points, not UTF-16 units.
  if ([...raw].length <= maxLength) return ok(raw);
  const msg = `String should have at most ${maxLength} characters`;
  return issue('string_too_long', loc, msg, raw, { max_length: maxLength });
}

const HYPHENATED_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// Canonical or 32-digit forms, returned lowercase and hyphenated because the
// server's `{id:uuid}` routes only match that form.
function parseUuid(loc: string[], raw: string): Parsed<string> {
  if (HYPHENATED_UUID.test(raw) || /^[0-9a-f]{32}$/i.test(raw)) {
    const h = raw.replaceAll('-', '').toLowerCase();
    const groups = [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)];
    return ok(groups.join('-'));
  }
  const reason = describeBadUuid(raw);
  const msg = `Input should be a valid UUID, ${reason}`;
  return issue('uuid_parsing', loc, msg, raw, { error: reason });
}

// Approximates pydantic's wording; only the two common cases are covered.
function describeBadUuid(raw: string): string {
  const chars = [...raw];
  const bad = chars.findIndex((c) => !/[0-9a-fA-F-]/.test(c));
  if (bad === -1) return `invalid group count: expected 5, found ${raw.split('-').length}`;
  const prefix = 'invalid character: expected an optional prefix of `urn:uuid:`';
  return `${prefix} followed by [0-9a-fA-F-], found \`${chars[bad]}\` at ${bad + 1}`;
}

function parseUuidList(loc: string[], raw: string): Parsed<string[] | undefined> {
  const ids: string[] = [];
  for (const item of splitList(raw) ?? []) {
    const id = parseUuid(loc, item);
    if (!id.ok) return id;
    ids.push(id.value);
  }
  return ok(ids.length === 0 ? undefined : ids);
}

// An empty list means "no filter", not "match nothing".
function splitList(raw: string): string[] | undefined {
  const items = raw.split(',').map((item) => item.trim()).filter((item) => item !== '');
  return items.length === 0 ? undefined : items;
}

const DATE_PART = String.raw`(\d{4})-(\d{2})-(\d{2})`;
const TIME_PART = String.raw`[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?`;
const ZONE_PART = String.raw`(Z|z|[+-]\d{2}:?\d{2})`;
const DATE_TIME = new RegExp(`^${DATE_PART}(?:${TIME_PART}${ZONE_PART}?)?$`);

// RFC 3339 and the looser forms pydantic accepts. A value without offset is
// read as UTC. The result keeps microseconds, which a JS Date would lose.
function parseDateTime(loc: string[], raw: string): Parsed<string> {
  if (/^\d+(?:\.\d+)?$/.test(raw)) return ok(fromUnixTime(Number(raw)));
  const m = DATE_TIME.exec(raw);
  const error = m === null ? describeBadDateTime(raw) : checkDateRange(m);
  if (m === null || error !== undefined) {
    const msg = `Input should be a valid datetime or date, ${error}`;
    return issue('datetime_from_date_parsing', loc, msg, raw, { error });
  }

  const [, year, month, day, hour = '00', minute = '00', second = '00', fraction = '', zone] = m;
  const micros = fraction.slice(0, 6).padEnd(6, '0');
  const offset = zone === undefined || /^z$/i.test(zone)
    ? '+00:00'
    : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  return ok(`${year}-${month}-${day}T${hour}:${minute}:${second}.${micros}${offset}`);
}

function describeBadDateTime(raw: string): string {
  return raw.length < 10
    ? 'input is too short'
    : 'unexpected extra characters at the end of the input';
}

// Messages as pydantic's date parser words them.
function checkDateRange(m: RegExpExecArray): string | undefined {
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = m
    .slice(1, 7)
    .map((part) => Number(part ?? 0));
  const lastDay = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const checks: Array<[string, number, number, number]> = [
    ['month', month, 1, 12],
    ['day', day, 1, month >= 1 && month <= 12 ? lastDay : 31],
    ['hour', hour, 0, 23],
    ['minute', minute, 0, 59],
    ['second', second, 0, 59],
  ];
  const broken = checks.find(([, value, min, max]) => value < min || value > max);
  if (broken === undefined) return undefined;
  const [field, , min, max] = broken;
  return field === 'day'
    ? 'day value is outside expected range'
    : `${field} value is outside expected range of ${min}-${max}`;
}

// pydantic reads numbers above 2e10 as milliseconds, others as seconds.
function fromUnixTime(value: number): string {
  const ms = value > 2e10 ? value : value * 1000;
  return new Date(ms).toISOString();
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

// ---------------------------------------------------------------------------
// CSV, as the OSS `/logs/download` writes it (prefect-logs-api.md 5.1)

const CSV_HEADER = ['timestamp', 'level', 'flow_run_id', 'task_run_id', 'message'];

// Python's excel dialect with QUOTE_MINIMAL: a field is quoted when it
// holds `,` `"` CR or LF, and `"` is doubled. csv-stringify stops quoting a
// lone CR or LF once record_delimiter is set, unless told otherwise.
function encodeCsv(rows: unknown[][]): string {
  return stringify(rows, { record_delimiter: '\r\n', quote_record_delimiter: true });
}

function toCsvRow(log: Record<string, unknown>): unknown[] {
  return [
    toPythonUtc(String(log.timestamp)),
    log.level,
    log.flow_run_id ?? '',
    log.task_run_id ?? '',
    log.message,
  ];
}

// Python's str(datetime): a space instead of `T`, microseconds only when
// non-zero (always six digits then), and `+00:00` rather than `Z`.
function toPythonUtc(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d+))?(?:Z|\+00:00)$/.exec(iso);
  if (m === null) throw new Error(`unexpected log timestamp from the server: ${iso}`);
  const micros = (m[3] ?? '').slice(0, 6).padEnd(6, '0');
  return `${m[1]} ${m[2]}${/^0+$/.test(micros) ? '' : `.${micros}`}+00:00`;
}

// The RFC 6266 / 5987 form that OSS sends since 3.7.1, with the run name
// percent-encoded as Python's `quote(..., safe="")` does it.
function contentDisposition(runName: string): string {
  const encoded = encodeURIComponent(`${runName}-logs.csv`).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="flow-run-logs.csv"; filename*=UTF-8''${encoded}`;
}

// ---------------------------------------------------------------------------
// Responses

type Sink = NodeJS.WritableStream & { destroyed?: boolean };

function pipeThroughGzip(res: http.ServerResponse): Sink {
  const gzip = createGzip();
  gzip.pipe(res);
  gzip.on('error', (err) => res.destroy(err));
  return gzip;
}

// Waits out back-pressure, but never past the client going away.
async function writeChunk(res: http.ServerResponse, sink: Sink, chunk: string): Promise<void> {
  if (sink.write(chunk) || res.destroyed) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      sink.off('drain', done);
      res.off('close', done);
      resolve();
    };
    sink.once('drain', done);
    res.once('close', done);
  });
}

function acceptsGzip(req: http.IncomingMessage): boolean {
  return /\bgzip\b/i.test(String(req.headers['accept-encoding'] ?? ''));
}

// RFC 9110 section 13.1.2: If-None-Match uses the weak comparison.
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

function sendJson(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const bytes = Buffer.from(JSON.stringify(body));
  sendBody(req, res, status, { 'content-type': 'application/json', ...headers }, bytes);
}

function sendValidationError(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  issues: ValidationIssue[],
): void {
  const body = {
    exception_message: 'Invalid request received.',
    exception_detail: issues,
    request_body: null,
  };
  sendJson(req, res, 422, body);
}

function sendRaw(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  status: number,
  body: Buffer,
): void {
  sendBody(req, res, status, { 'content-type': 'application/json' }, body);
}

// Like the server's GZipMiddleware: bodies of 500 bytes or more are
// compressed when the client asks, and then vary on Accept-Encoding.
function sendBody(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: Buffer,
): void {
  if (body.length < 500) {
    res.writeHead(status, { ...headers, 'content-length': String(body.length) }).end(body);
    return;
  }
  const gzip = acceptsGzip(req);
  const bytes = gzip ? gzipSync(body) : body;
  res.writeHead(status, {
    ...headers,
    vary: 'Accept-Encoding',
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    'content-length': String(bytes.length),
  }).end(bytes);
}
