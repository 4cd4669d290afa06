import { parseArgs } from 'node:util';
import {
  parseDuration,
  parseRetryList,
  parseSize as parseSizeText,
  parseTimeoutList,
  type PolicyLayer,
} from '../binding/policy.js';
import { CapabilityError } from '../errors/capability-error.js';

/** Settings of `serve`, merged from command line, environment and defaults. */
export interface ServeOptions {
  readonly file: string;
  readonly strict: boolean;
  /** Consumed namespace to base URI. */
  readonly baseUris: ReadonlyMap<string, string>;
  /** Exposed namespace to port. */
  readonly ports: ReadonlyMap<string, number>;
  /** Listen address; undefined means 127.0.0.1 unless the file says otherwise. */
  readonly host: string | undefined;
  readonly logLevel: string;
  /** Serve the MCP adapter over standard input and output (`--stdio`). */
  readonly stdio: boolean;
  /** Extra Host names the MCP endpoint accepts (DNS-rebinding protection). */
  readonly allowedHosts: readonly string[];
  /** Cap on one MCP tool result (bytes). */
  readonly mcpResultCapBytes: number | undefined;
  /** Upstream timeouts and retries, weakest layer first (`--timeout`, `--retry`). */
  readonly upstreamPolicies?: readonly PolicyLayer[];
  /** Cap on an upstream body held in memory for output mapping (bytes). */
  readonly bufferCapBytes?: number;
  /** How long SIGTERM waits for in-flight requests before cutting them (ms). */
  readonly shutdownTimeoutMs?: number;
}

/** Default grace for in-flight requests on SIGTERM (ms), under Kubernetes' 30 s. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 25_000;

export type Command =
  | { readonly kind: 'serve'; readonly options: ServeOptions }
  | { readonly kind: 'validate'; readonly files: readonly string[]; readonly strict: boolean; readonly format: 'text' | 'json' }
  | { readonly kind: 'help' }
  | { readonly kind: 'version' };

export const USAGE = `Usage:
  naftiko-ts [serve] <capability.yaml> [options]
  naftiko-ts validate [--strict] [--format text|json] <file|dir>...

Serve options (each has an environment variable; the command line wins):
  --base-uri <ns>=<url>   base URI of a consumed namespace (repeatable)
                          env NAFTIKO_BASE_URI_<NS>, NS upper case with - as _
  --port <ns>=<port>      port of an exposed adapter, 0 for a free one (repeatable)
                          env NAFTIKO_PORT_<NS>
  --host <address>        listen address (default 127.0.0.1)        env NAFTIKO_HOST
  --strict                run the official schema only, no generated-dialect rules
                                                                    env NAFTIKO_STRICT=1
  --log-level <level>     fatal, error, warn, info, debug, trace    env NAFTIKO_LOG_LEVEL
  --stdio                 serve the MCP adapter over stdin/stdout; logs go to stderr
                                                                    env NAFTIKO_STDIO=1
  --allowed-host <name>   extra Host name the MCP endpoint accepts, such as a
                          Kubernetes Service name (repeatable)      env NAFTIKO_ALLOWED_HOSTS=a,b
  --mcp-result-cap <n>    largest MCP tool result in bytes (default 262144)
                                                                    env NAFTIKO_MCP_RESULT_CAP
  --timeout [<ns>=]<name>:<duration>,...
                          upstream timeouts, of one consumed namespace or of all
                          (repeatable); durations such as 500ms, 10s, 2m:
                            connect   open the connection              (default 10s)
                            headers   one try, until response headers  (default 30s)
                            deadline  every try and wait, until the final
                                      response headers                 (default 60s)
                            idle      longest pause between body chunks (default 60s)
                          env NAFTIKO_TIMEOUT (all), NAFTIKO_TIMEOUT_<NS>
  --retry [<ns>=]<name>:<value>,...
                          retries of safe calls (GET, HEAD, OPTIONS, idempotent hint)
                          on connection errors, 429, 502, 503, 504 (repeatable):
                            attempts  tries in all, 1 for none          (default 3)
                            backoff   first wait, doubled each time     (default 250ms)
                            max-wait  longest Retry-After honoured      (default 30s)
                          env NAFTIKO_RETRY (all), NAFTIKO_RETRY_<NS>
  --buffer-cap <size>     largest upstream body held in memory for output mapping,
                          such as 16MiB (default); streamed bodies are never cut
                                                                    env NAFTIKO_BUFFER_CAP
  --shutdown-timeout <duration>
                          on SIGTERM, how long in-flight requests may finish
                          before they are cut (default 25s)        env NAFTIKO_SHUTDOWN_TIMEOUT
  --help, --version

Upstream calls honour HTTP_PROXY, HTTPS_PROXY and NO_PROXY; extra CA
certificates for TLS upstreams come from NODE_EXTRA_CA_CERTS (a PEM file).
`;

/** Parses argv (without node and script). Throws CAP_CONFIG_USAGE on bad usage. */
export function parseCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Command {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (cause) {
    throw usage((cause as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };

  const [first, ...rest] = positionals;
  if (first === 'validate') {
    if (rest.length === 0) throw usage('validate needs at least one file or directory');
    const format = values.format ?? 'text';
    if (format !== 'text' && format !== 'json') throw usage(`--format must be text or json, not ${format}`);
    return { kind: 'validate', files: rest, strict: values.strict ?? isTrue(env.NAFTIKO_STRICT), format };
  }
  const files = first === 'serve' ? rest : positionals;
  if (files.length !== 1) throw usage(files.length === 0 ? 'no capability file given' : 'serve takes one capability file');
  return { kind: 'serve', options: serveOptions(files[0]!, values, env) };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      'base-uri': { type: 'string', multiple: true },
      port: { type: 'string', multiple: true },
      host: { type: 'string' },
      strict: { type: 'boolean' },
      'log-level': { type: 'string' },
      stdio: { type: 'boolean' },
      'allowed-host': { type: 'string', multiple: true },
      'mcp-result-cap': { type: 'string' },
      timeout: { type: 'string', multiple: true },
      retry: { type: 'string', multiple: true },
      'buffer-cap': { type: 'string' },
      'shutdown-timeout': { type: 'string' },
      format: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
}

function serveOptions(
  file: string,
  values: ReturnType<typeof parse>['values'],
  env: NodeJS.ProcessEnv,
): ServeOptions {
  const baseUris = new Map(fromEnv(env, 'NAFTIKO_BASE_URI_'));
  for (const [ns, url] of pairs(values['base-uri'], '--base-uri')) baseUris.set(ns, url);

  const ports = new Map<string, number>();
  for (const [ns, raw] of [...fromEnv(env, 'NAFTIKO_PORT_'), ...pairs(values.port, '--port')]) {
    ports.set(ns, parsePort(ns, raw));
  }
  return {
    file,
    strict: values.strict ?? isTrue(env.NAFTIKO_STRICT),
    baseUris,
    ports,
    host: values.host ?? (env.NAFTIKO_HOST || undefined),
    logLevel: parseLevel(values['log-level'] ?? env.NAFTIKO_LOG_LEVEL ?? 'info'),
    stdio: values.stdio ?? isTrue(env.NAFTIKO_STDIO),
    allowedHosts: values['allowed-host'] ?? splitList(env.NAFTIKO_ALLOWED_HOSTS),
    mcpResultCapBytes: parseSize('--mcp-result-cap', values['mcp-result-cap'] ?? env.NAFTIKO_MCP_RESULT_CAP),
    upstreamPolicies: policyLayers(values, env),
    bufferCapBytes: optional('--buffer-cap', values['buffer-cap'] ?? env.NAFTIKO_BUFFER_CAP, parseSizeText),
    shutdownTimeoutMs: optional('--shutdown-timeout', values['shutdown-timeout'] ?? env.NAFTIKO_SHUTDOWN_TIMEOUT, parseDuration),
  };
}

/**
 * Timeout and retry layers from weakest to strongest: environment for all
 * namespaces, environment for one, command line for all, command line for
 * one. `--timeout ns=headers:5s` names a namespace; `--timeout headers:5s`
 * applies to every one.
 */
function policyLayers(values: ReturnType<typeof parse>['values'], env: NodeJS.ProcessEnv): PolicyLayer[] {
  const layers: PolicyLayer[] = [];
  const add = (flag: '--timeout' | '--retry', scope: string | undefined, text: string) => {
    layers.push(flag === '--timeout'
      ? { scope, timeouts: guard(flag, () => parseTimeoutList(text)) }
      : { scope, retry: guard(flag, () => parseRetryList(text)) });
  };
  const fromCli = (list: string[] | undefined) => (list ?? []).map((item) => {
    const at = item.indexOf('=');
    return at > 0 ? ([item.slice(0, at), item.slice(at + 1)] as const) : ([undefined, item] as const);
  });

  for (const flag of ['--timeout', '--retry'] as const) {
    const name = flag === '--timeout' ? 'NAFTIKO_TIMEOUT' : 'NAFTIKO_RETRY';
    if (env[name]) add(flag, undefined, env[name]!);
    for (const [scope, text] of fromEnv(env, `${name}_`)) add(flag, scope, text);
    const cli = fromCli(flag === '--timeout' ? values.timeout : values.retry);
    for (const [scope, text] of cli) if (scope === undefined) add(flag, scope, text);
    for (const [scope, text] of cli) if (scope !== undefined) add(flag, scope, text);
  }
  return layers;
}

function optional<T>(flag: string, raw: string | undefined, read: (text: string, what: string) => T): T | undefined {
  if (raw === undefined || raw === '') return undefined;
  return guard(flag, () => read(raw, flag));
}

function guard<T>(flag: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw usage(`${flag}: ${(err as Error).message}`);
  }
}

/**
 * Environment entries `PREFIX<NS>`; the key is kept in its environment
 * spelling and matched to namespaces later (upper case, `-` as `_`).
 */
function fromEnv(env: NodeJS.ProcessEnv, prefix: string): [string, string][] {
  return Object.entries(env)
    .filter(([k, v]) => k.startsWith(prefix) && v !== undefined && v !== '')
    .map(([k, v]) => [`env:${k.slice(prefix.length)}`, v!]);
}

function pairs(list: string[] | undefined, flag: string): [string, string][] {
  return (list ?? []).map((item) => {
    const at = item.indexOf('=');
    if (at <= 0) throw usage(`${flag} expects <namespace>=<value>, got ${JSON.stringify(item)}`);
    return [item.slice(0, at), item.slice(at + 1)];
  });
}

function parsePort(ns: string, raw: string): number {
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw usage(`port of ${ns.replace(/^env:/, '')} must be an integer from 0 to 65535, got ${JSON.stringify(raw)}`);
  }
  return port;
}

/**
 * Looks up a per-namespace setting: an exact `--flag ns=` entry first, then
 * the environment spelling of the namespace.
 */
export function lookupByNamespace<T>(map: ReadonlyMap<string, T>, namespace: string): T | undefined {
  return map.get(namespace) ?? map.get(`env:${namespace.toUpperCase().replace(/-/g, '_')}`);
}

function splitList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((v) => v.trim()).filter((v) => v !== '');
}

function parseSize(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1024) throw usage(`${flag} must be a whole number of bytes, at least 1024; got ${JSON.stringify(raw)}`);
  return n;
}

function isTrue(value: string | undefined): boolean {
  return value === '1' || value === 'true' || value === 'yes';
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function parseLevel(raw: string): string {
  const level = raw.toLowerCase();
  if (!LEVELS.includes(level)) throw usage(`--log-level must be one of ${LEVELS.join(', ')}; got ${JSON.stringify(raw)}`);
  return level;
}

function usage(message: string): CapabilityError {
  return new CapabilityError('CAP_CONFIG_USAGE', `${message} (naftiko-ts --help lists every option)`);
}
