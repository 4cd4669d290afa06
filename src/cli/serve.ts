import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createCapabilityBinding, type CapabilityBinding } from '../binding/capability-binding.js';
import { createUpstreamPool } from '../binding/client.js';
import { resolvePolicy, type PolicyLayer } from '../binding/policy.js';
import type { UpstreamPolicy } from '../binding/client.js';
import { createInboundCheck } from '../binding/inbound-auth.js';
import { CapabilityError } from '../errors/capability-error.js';
import { createControlAdapter } from '../control/adapter.js';
import { allowedHostnames, rebindingReason } from '../http/host-guard.js';
import { DEFAULT_TRACE_BUFFER, Telemetry } from '../control/telemetry.js';
import { createMcpAdapter } from '../mcp/adapter.js';
import { createSkillAdapter } from '../skill/adapter.js';
import { startStdioAdapter } from '../mcp/stdio.js';
import { createRestAdapter } from '../rest/adapter.js';
import { sendProblem, toProblem } from '../rest/problem.js';
import { formatDiagnostic, loadCapability, type Diagnostic, type LoadedCapability } from '../spec/loader.js';
import type { AuthenticationSpec, ExposeSpec, McpExposeSpec, RestExposeSpec } from '../spec/types.js';
import { lookupByNamespace, type ServeOptions } from './options.js';

/** One listening adapter. */
export interface RunningAdapter {
  readonly type: 'rest' | 'mcp' | 'skill' | 'control';
  readonly namespace: string;
  readonly port?: number;
  /** `http://host:port`, or `stdio:` for an MCP adapter on standard input and output. */
  readonly url: string;
  /** Stops accepting connections and resolves once in-flight requests are done. */
  close(): Promise<void>;
  /** Closes connections with no request in flight (keep-alive sockets). */
  closeIdle(): void;
  /** Cuts every connection, in-flight requests included. */
  cut(): void;
  /** Binds what a reloaded capability declares for this adapter; `commit` swaps it in. */
  prepare?(binding: CapabilityBinding, expose: ExposeSpec, index: number): { commit(): void };
}

/** A serving capability; `close()` stops every adapter and the upstream pool. */
export interface RunningCapability {
  readonly adapters: readonly RunningAdapter[];
  /**
   * Graceful stop: no new connections, in-flight requests finish for up to
   * `graceMs` (then they are cut), then the upstream pool is destroyed.
   * Resolves with whether any request had to be cut.
   */
  close(graceMs?: number): Promise<{ cut: boolean }>;
  /**
   * Reads the capability file again and swaps in its routes and tools
   * without dropping a connection. Adapters, ports and namespaces must stay
   * as they are; a file that changes them, or fails to load, is refused and
   * the running version keeps serving.
   */
  reload(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** Loads, binds and starts every adapter of a capability. */
export async function serveCapability(
  options: ServeOptions,
  logger: Logger,
  env: NodeJS.ProcessEnv,
  version: string,
): Promise<RunningCapability> {
  const capability = await loadCapability(options.file, { strict: options.strict });
  logWarnings(logger, options.file, capability.warnings);

  const pool = createUpstreamPool(env);
  const baseUrisOf = (loaded: typeof capability) => {
    const out = new Map<string, string>();
    for (const ns of loaded.consumes.keys()) {
      const url = lookupByNamespace(options.baseUris, ns);
      if (url !== undefined) out.set(ns, url);
    }
    return out;
  };
  const baseUris = baseUrisOf(capability);
  const layers = options.upstreamPolicies ?? [];
  refuseUnknownNamespaces(layers, [...capability.consumes.keys()]);
  refuseUnknownTargets(options, capability, logger);
  const policyFor = (ns: string) => resolvePolicy(layers, ns);
  for (const ns of capability.consumes.keys()) logger.debug({ namespace: ns, ...policyFor(ns) }, 'upstream policy');
  const bindingOptions = {
    baseUris,
    env,
    dispatcher: (ns: string, policy: UpstreamPolicy) => pool.dispatcherFor(ns, policy.timeouts),
    policyFor,
    maxBufferBytes: options.bufferCapBytes,
    logger,
  };
  const binding = await createCapabilityBinding(capability, bindingOptions);

  const adapters: RunningAdapter[] = [];
  const exposesList = capability.document.capability.exposes ?? [];
  const telemetry = exposesList.some((e) => e.type === 'control') ? new Telemetry(traceBufferSize(exposesList)) : undefined;
  try {
    const exposes = capability.document.capability.exposes ?? [];
    for (const [index, expose] of exposes.entries()) {
      adapters.push(await startAdapter(expose, index, { options, binding, logger, version, telemetry, adapters }));
    }
  } catch (err) {
    await Promise.allSettled(adapters.map((a) => a.close()));
    await pool.destroy();
    throw err;
  }
  const reload = async () => {
    const next = await loadCapability(options.file, { strict: options.strict });
    const nextExposes = next.document.capability.exposes ?? [];
    refuseAdapterChanges(options.file, capability.document.capability.exposes ?? [], nextExposes);
    const nextBinding = await createCapabilityBinding(next, { ...bindingOptions, baseUris: baseUrisOf(next) });
    // Bind everything first: a file that fails anywhere changes nothing.
    const prepared = adapters.map((a, i) => a.prepare?.(nextBinding, nextExposes[i]!, i));
    prepared.forEach((p) => p?.commit());
    logger.info({ file: options.file }, 'capability reloaded');
  };
  return {
    adapters,
    reload,
    close: async (graceMs = Number.POSITIVE_INFINITY) => {
      const result = await drain(adapters, graceMs);
      await pool.destroy();
      return result;
    },
  };
}

/**
 * Stops every adapter: the listening sockets close at once, so new
 * connections are refused; idle keep-alive sockets are closed as they
 * appear (Fastify's `close()` would otherwise wait for their 72 s timeout);
 * requests still running after `graceMs` are cut.
 */
async function drain(adapters: readonly RunningAdapter[], graceMs: number): Promise<{ cut: boolean }> {
  const closed = Promise.allSettled(adapters.map((a) => a.close()));
  const sweep = setInterval(() => adapters.forEach((a) => a.closeIdle()), 100);
  let timer: NodeJS.Timeout | undefined;
  const overrun = new Promise<true>((resolve) => {
    if (Number.isFinite(graceMs)) timer = setTimeout(() => resolve(true), graceMs);
  });
  try {
    const cut = await Promise.race([closed.then(() => false), overrun]);
    if (cut) {
      adapters.forEach((a) => a.cut());
      await closed;
    }
    return { cut };
  } finally {
    clearInterval(sweep);
    clearTimeout(timer);
  }
}

/** A `--timeout`/`--retry` for a namespace the file does not consume is a typo. */
function refuseUnknownNamespaces(layers: readonly PolicyLayer[], known: readonly string[]): void {
  for (const { scope } of layers) {
    if (scope === undefined || scope.startsWith('env:') || known.includes(scope)) continue;
    throw new CapabilityError(
      'CAP_CONFIG_USAGE',
      `--timeout/--retry name "${scope}", which is not a consumed namespace; known: ${known.join(', ')}`,
    );
  }
}

/**
 * `--base-uri` and `--port` naming a namespace the file does not have are
 * typos that would otherwise look as if they took effect. Environment
 * entries may be meant for another capability in the same environment,
 * so those only warn.
 */
function refuseUnknownTargets(options: ServeOptions, capability: LoadedCapability, logger: Logger): void {
  const consumed = [...capability.consumes.keys()];
  const exposed = (capability.document.capability.exposes ?? []).map((e) => e.namespace ?? e.type);
  const check = (map: ReadonlyMap<string, unknown>, known: string[], flag: string) => {
    for (const key of map.keys()) {
      const fromEnv = key.startsWith('env:');
      const matches = fromEnv
        ? known.some((k) => `env:${k.toUpperCase().replace(/-/g, '_')}` === key)
        : known.includes(key);
      if (matches) continue;
      const message = `${flag} names "${key.replace(/^env:/, '')}", which is not a namespace of ${options.file}; known: ${known.join(', ') || 'none'}`;
      if (!fromEnv) throw new CapabilityError('CAP_CONFIG_USAGE', message);
      logger.warn({ key }, `${message} (ignored)`);
    }
  };
  check(options.baseUris, consumed, '--base-uri');
  check(options.ports, exposed, '--port');
}

/** Close hooks of a Fastify adapter. */
function httpControls(app: FastifyInstance) {
  return {
    close: () => app.close(),
    closeIdle: () => app.server.closeIdleConnections(),
    cut: () => app.server.closeAllConnections(),
  };
}

interface StartContext {
  readonly telemetry: Telemetry | undefined;
  /** Adapters started so far, for the control adapter's readiness probe. */
  readonly adapters: readonly RunningAdapter[];
  readonly options: ServeOptions;
  readonly binding: CapabilityBinding;
  readonly logger: Logger;
  readonly version: string;
}

async function startAdapter(expose: ExposeSpec, index: number, ctx: StartContext): Promise<RunningAdapter> {
  const { binding, logger } = ctx;
  const file = binding.capability.file;
  if (expose.type === 'rest') {
    const adapter = createRestAdapter({ binding, expose, exposeIndex: index, logger: logger.child({ adapter: expose.namespace }) });
    const host = listenHost(expose, ctx);
    guardHost(adapter.app, host, ctx.options.allowedHosts);
    protect(adapter.app, expose, binding);
    instrument(adapter.app, expose.namespace, ctx.telemetry);
    const url = await listen(adapter.app, expose, host, ctx);
    const logRoutes = () => {
      for (const route of adapter.routes()) {
        logger.info({ adapter: expose.namespace, method: route.method, operation: route.name }, `route ${route.method} ${url}${route.path}`);
      }
    };
    logRoutes();
    return {
      type: 'rest',
      namespace: expose.namespace,
      url,
      port: portOf(url),
      ...httpControls(adapter.app),
      prepare: (next, nextExpose, i) => {
        const prepared = adapter.prepare({ binding: next, expose: nextExpose as RestExposeSpec, exposeIndex: i, logger: logger.child({ adapter: expose.namespace }) });
        return { commit: () => (prepared.commit(), logRoutes()) };
      },
    };
  }
  if (expose.type === 'mcp') {
    const common = {
      binding,
      expose,
      exposeIndex: index,
      logger: logger.child({ adapter: expose.namespace }),
      version: ctx.version,
      resultCapBytes: ctx.options.mcpResultCapBytes,
    };
    if (ctx.options.stdio || expose.transport === 'stdio') {
      const adapter = startStdioAdapter(common);
      for (const tool of adapter.tools) logger.info({ adapter: expose.namespace, tool: tool.name }, `tool ${tool.name} on stdio`);
      return { type: 'mcp', namespace: expose.namespace, url: 'stdio:', close: () => adapter.close(), closeIdle: () => {}, cut: () => {} };
    }
    const host = listenHost(expose, ctx);
    const adapter = createMcpAdapter({ ...common, listenHost: host, allowedHosts: ctx.options.allowedHosts });
    protect(adapter.app, expose, binding);
    instrument(adapter.app, expose.namespace, ctx.telemetry);
    const url = await listen(adapter.app, expose, host, ctx);
    const logTools = () => {
      for (const tool of adapter.tools()) {
        logger.info({ adapter: expose.namespace, tool: tool.name }, `tool ${tool.name} at ${url}/mcp`);
      }
    };
    logTools();
    return {
      type: 'mcp',
      namespace: expose.namespace,
      url,
      port: portOf(url),
      ...httpControls(adapter.app),
      prepare: (next, nextExpose, i) => {
        const prepared = adapter.prepare({ ...common, binding: next, expose: nextExpose as McpExposeSpec, exposeIndex: i });
        return { commit: () => (prepared.commit(), logTools()) };
      },
    };
  }
  if (expose.type === 'skill') {
    const exposes = binding.capability.document.capability.exposes ?? [];
    const adapter = createSkillAdapter({ file, expose, exposeIndex: index, exposes });
    const host = listenHost(expose as never, ctx);
    guardHost(adapter.app, host, ctx.options.allowedHosts);
    protect(adapter.app, expose as never, binding);
    const namespace = expose.namespace ?? 'skills';
    const url = await listen(adapter.app, { ...expose, namespace } as never, host, ctx);
    for (const skill of adapter.skills) logger.info({ adapter: namespace, skill }, `skill ${skill} at ${url}/skills/${skill}`);
    return { type: 'skill', namespace, url, port: portOf(url), ...httpControls(adapter.app) };
  }
  const namespace = expose.namespace ?? 'control';
  const adapter = createControlAdapter({
    expose: expose as Parameters<typeof createControlAdapter>[0]['expose'],
    telemetry: ctx.telemetry!,
    states: () => ctx.adapters.filter((a) => a.type !== 'control').map((a) => ({
      type: a.type,
      namespace: a.namespace,
      port: a.port,
      state: a.url === 'stdio:' ? 'stopped' as const : 'started' as const,
    })),
    info: () => ({
      naftiko: binding.capability.document.naftiko,
      label: binding.capability.document.info?.label,
      runtime: `naftiko-ts ${ctx.version}`,
      adapters: ctx.adapters.map((a) => ({ type: a.type, namespace: a.namespace, url: a.url })),
    }),
  });
  const host = listenHost(expose as never, ctx);
  guardHost(adapter.app, host, ctx.options.allowedHosts);
  protect(adapter.app, expose as never, binding);
  const url = await listen(adapter.app, { ...expose, namespace } as never, host, ctx);
  for (const route of adapter.routes) logger.info({ adapter: namespace }, `control GET ${url}${route}`);
  return { type: 'control', namespace, url, port: portOf(url), ...httpControls(adapter.app) };
}

/** DNS-rebinding protection for REST, skill and control adapters (MCP has its own, in JSON-RPC). */
function guardHost(app: FastifyInstance, host: string, extra: readonly string[]): void {
  const allowed = allowedHostnames(host, extra);
  app.addHook('onRequest', async (request, reply) => {
    const reason = rebindingReason(request.headers.host, request.headers.origin, allowed);
    if (reason !== undefined) await sendProblem(reply, toProblem(new CapabilityError('CAP_HOST_NOT_ALLOWED', reason)));
  });
}

/**
 * Records every finished request for the control adapter. Hooks on the raw
 * response, since the MCP route hands the response to the SDK (hijack) and
 * Fastify's own response hooks do not run for it.
 */
function instrument(app: FastifyInstance, adapter: string, telemetry: Telemetry | undefined): void {
  // Only a control adapter reads the figures; without one, record nothing.
  if (telemetry === undefined) return;
  app.addHook('onRequest', async (request, reply) => {
    const started = performance.now();
    reply.raw.once('finish', () => telemetry.record({
      adapter,
      method: request.method,
      path: request.url.split('?')[0]!,
      status: reply.raw.statusCode,
      durationMs: performance.now() - started,
    }));
  });
}

/**
 * One warn line per warning code, the first few spelled out: a generated
 * file can carry thousands of dialect constructs, and `validate` lists them
 * all. Every warning is still logged at debug level.
 */
function logWarnings(logger: Logger, file: string, warnings: readonly Diagnostic[]): void {
  const byCode = new Map<string, Diagnostic[]>();
  for (const w of warnings) {
    byCode.set(w.code, [...(byCode.get(w.code) ?? []), w]);
    logger.debug({ code: w.code }, formatDiagnostic(w));
  }
  for (const [code, list] of byCode) {
    const shown = list.slice(0, 3).map(formatDiagnostic).join('; ');
    const more = list.length > 3 ? `; and ${list.length - 3} more (naftiko-ts validate ${file} lists them)` : '';
    logger.warn({ code, count: list.length }, `${list.length} warning(s) ${code}: ${shown}${more}`);
  }
}

/** A reload may change what adapters do, not which adapters there are. */
function refuseAdapterChanges(file: string, before: readonly ExposeSpec[], after: readonly ExposeSpec[]): void {
  const shape = (list: readonly ExposeSpec[]) => list.map((e) => `${e.type}:${e.namespace ?? ''}:${e.port ?? ''}:${(e as McpExposeSpec).transport ?? ''}`).join(',');
  if (shape(before) !== shape(after)) {
    throw new CapabilityError(
      'CAP_SPEC_UNSUPPORTED',
      `${file}: a reload cannot add, remove or move adapters (type, namespace, port, transport); restart to apply that change`,
    );
  }
}

function portOf(url: string): number | undefined {
  const port = Number(new URL(url).port);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

/** Size of the control adapter's trace buffer (spec: traces.local.buffer-size). */
function traceBufferSize(exposes: readonly ExposeSpec[]): number {
  const control = exposes.find((e) => e.type === 'control') as { observability?: { traces?: { local?: Record<string, unknown> } } } | undefined;
  const size = control?.observability?.traces?.local?.['buffer-size'];
  return typeof size === 'number' ? size : DEFAULT_TRACE_BUFFER;
}

/** Enforces an adapter's declared inbound authentication on every request. */
function protect(app: FastifyInstance, expose: RestExposeSpec | McpExposeSpec, binding: CapabilityBinding): void {
  const auth = expose.authentication as AuthenticationSpec | undefined;
  if (auth === undefined) return;
  const check = createInboundCheck(auth, binding.binds);
  if (check === undefined) {
    throw new CapabilityError(
      'CAP_SPEC_UNSUPPORTED',
      `${binding.capability.file}: inbound ${auth.type} authentication on "${expose.namespace}" is not supported yet`,
    );
  }
  const problem = toProblem(new CapabilityError('CAP_AUTH_REQUIRED', `adapter "${expose.namespace}" requires ${auth.type} credentials`));
  app.addHook('onRequest', async (request, reply) => {
    const query = new URLSearchParams(request.url.split('?')[1] ?? '');
    if (check(request.headers, query)) return;
    // A challenge names the scheme to use; an API key has none (RFC 9110 11.6.1).
    if (auth.type === 'basic') reply.header('www-authenticate', 'Basic realm="naftiko"');
    else if (auth.type === 'bearer') reply.header('www-authenticate', 'Bearer');
    await sendProblem(reply, problem);
  });
}

async function listen(app: FastifyInstance, expose: RestExposeSpec | McpExposeSpec, host: string, ctx: StartContext): Promise<string> {
  const port = lookupByNamespace(ctx.options.ports, expose.namespace) ?? expose.port ?? 0;
  try {
    await app.listen({ host, port });
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
    throw new CapabilityError(
      'CAP_CONFIG_PORT',
      `adapter "${expose.namespace}" cannot listen on ${host}:${port} (${reason}); ` +
        `choose another with --port ${expose.namespace}=<port>`,
      { cause, data: { namespace: expose.namespace, port } },
    );
  }
  const address = app.server.address();
  const realPort = typeof address === 'object' && address !== null ? address.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return `http://${shownHost}:${realPort}`;
}

/**
 * Adapters listen on loopback unless told otherwise. A declared non-loopback
 * `address` is honoured only with `--host` or declared authentication: an
 * unauthenticated runtime reachable from the network would let anyone spend
 * the capability's upstream credentials.
 */
function listenHost(expose: RestExposeSpec | McpExposeSpec, ctx: StartContext): string {
  if (ctx.options.host !== undefined) return ctx.options.host;
  const declared = expose.address;
  if (declared === undefined || LOOPBACK.has(declared)) return '127.0.0.1';
  if (expose.authentication !== undefined) return declared;
  ctx.logger.warn(
    { adapter: expose.namespace, address: declared },
    `adapter "${expose.namespace}" declares address ${declared} without authentication; ` +
      'listening on 127.0.0.1 instead (pass --host to choose)',
  );
  return '127.0.0.1';
}
