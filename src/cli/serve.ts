import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createCapabilityBinding, type CapabilityBinding } from '../binding/capability-binding.js';
import { createUpstreamAgent } from '../binding/client.js';
import { createInboundCheck } from '../binding/inbound-auth.js';
import { CapabilityError } from '../errors/capability-error.js';
import { createMcpAdapter } from '../mcp/adapter.js';
import { startStdioAdapter } from '../mcp/stdio.js';
import { createRestAdapter } from '../rest/adapter.js';
import { sendProblem, toProblem } from '../rest/problem.js';
import { formatDiagnostic, loadCapability } from '../spec/loader.js';
import type { AuthenticationSpec, ExposeSpec, McpExposeSpec, RestExposeSpec } from '../spec/types.js';
import { lookupByNamespace, type ServeOptions } from './options.js';

/** One listening adapter. */
export interface RunningAdapter {
  readonly type: 'rest' | 'mcp';
  readonly namespace: string;
  /** `http://host:port`, or `stdio:` for an MCP adapter on standard input and output. */
  readonly url: string;
  close(): Promise<void>;
}

/** A serving capability; `close()` stops every adapter and the upstream pool. */
export interface RunningCapability {
  readonly adapters: readonly RunningAdapter[];
  close(): Promise<void>;
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
  for (const warning of capability.warnings) logger.warn({ code: warning.code }, formatDiagnostic(warning));

  const dispatcher = createUpstreamAgent();
  const baseUris = new Map<string, string>();
  for (const ns of capability.consumes.keys()) {
    const url = lookupByNamespace(options.baseUris, ns);
    if (url !== undefined) baseUris.set(ns, url);
  }
  const binding = await createCapabilityBinding(capability, { baseUris, env, dispatcher });

  const adapters: RunningAdapter[] = [];
  try {
    const exposes = capability.document.capability.exposes ?? [];
    for (const [index, expose] of exposes.entries()) {
      adapters.push(await startAdapter(expose, index, { options, binding, logger, version }));
    }
  } catch (err) {
    await Promise.allSettled(adapters.map((a) => a.close()));
    await dispatcher.close();
    throw err;
  }
  return {
    adapters,
    close: async () => {
      await Promise.allSettled(adapters.map((a) => a.close()));
      await dispatcher.destroy();
    },
  };
}

interface StartContext {
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
    protect(adapter.app, expose, binding);
    const url = await listen(adapter.app, expose, listenHost(expose, ctx), ctx);
    for (const route of adapter.routes) {
      logger.info({ adapter: expose.namespace, method: route.method, operation: route.name }, `route ${route.method} ${url}${route.path}`);
    }
    return { type: 'rest', namespace: expose.namespace, url, close: () => adapter.app.close() };
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
      return { type: 'mcp', namespace: expose.namespace, url: 'stdio:', close: () => adapter.close() };
    }
    const host = listenHost(expose, ctx);
    const adapter = createMcpAdapter({ ...common, listenHost: host, allowedHosts: ctx.options.allowedHosts });
    protect(adapter.app, expose, binding);
    const url = await listen(adapter.app, expose, host, ctx);
    for (const tool of adapter.tools) {
      logger.info({ adapter: expose.namespace, tool: tool.name }, `tool ${tool.name} at ${url}/mcp`);
    }
    return { type: 'mcp', namespace: expose.namespace, url, close: () => adapter.app.close() };
  }
  // TODO(#7): skill and control adapters are not built yet.
  throw new CapabilityError('CAP_SPEC_UNSUPPORTED', `${file}: ${expose.type} adapter is not supported yet`, {
    location: { file, pointer: `/capability/exposes/${index}` },
  });
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
    reply.header('www-authenticate', auth.type === 'basic' ? 'Basic realm="naftiko"' : 'Bearer');
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
