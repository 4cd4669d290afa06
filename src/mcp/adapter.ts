import { createMcpHandler } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import Fastify, { type FastifyInstance } from 'fastify';
import { createMcpService, type McpService, type McpServiceOptions } from './service.js';
import type { ToolDefinition } from './tools.js';

export interface McpAdapterOptions extends McpServiceOptions {
  /** Host names accepted besides loopback ones and the listen address (DNS-rebinding protection). */
  readonly allowedHosts?: readonly string[];
  /** The address the adapter listens on. */
  readonly listenHost: string;
  /** Answer 2025-era tools/list and tools/call without the SDK (default on; tests compare both). */
  readonly directPath?: boolean;
}

export interface McpAdapter {
  readonly namespace: string;
  readonly app: FastifyInstance;
  /** The tools being served now. */
  tools(): readonly ToolDefinition[];
  /**
   * Binds the tools of a reloaded capability; `commit` swaps them in and
   * tells the clients that have a channel for it (2026-07-28
   * `subscriptions/listen` streams) that the tool list changed.
   */
  prepare(options: McpServiceOptions): { commit(): void };
}

const JSONRPC_PARSE_ERROR = -32700;
const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * The MCP adapter over Streamable HTTP at `/mcp`, stateless, so that any
 * replica answers any request.
 */
export function createMcpAdapter(options: McpAdapterOptions): McpAdapter {
  let service = createMcpService(options);
  const handler = createMcpHandler(() => service.createServer(), {
    maxRequestBodySize: MAX_BODY_BYTES,
    onerror: (err) => options.logger.debug({ err }, 'mcp request rejected'),
  });
  const nodeHandler = toNodeHandler(handler, { maxRequestBodySize: MAX_BODY_BYTES });

  const app = Fastify({ logger: false, forceCloseConnections: 'idle', bodyLimit: MAX_BODY_BYTES });
  // Read the body as text ourselves: Fastify's JSON parser would answer a
  // malformed body with its own 400 instead of JSON-RPC -32700.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  const allowed = allowedHostnames(options.listenHost, options.allowedHosts ?? []);
  app.addHook('onRequest', async (request, reply) => {
    const reason = rebindingReason(request.headers.host, request.headers.origin, allowed);
    if (reason === undefined) return;
    options.logger.warn({ host: request.headers.host, origin: request.headers.origin }, 'mcp request refused: ' + reason);
    await reply.code(403).send({ jsonrpc: '2.0', id: null, error: { code: -32000, message: `Forbidden: ${reason}` } });
  });

  app.route({
    method: ['GET', 'POST', 'DELETE'],
    url: '/mcp',
    handler: async (request, reply) => {
      let parsed: unknown;
      if (request.method === 'POST') {
        try {
          parsed = JSON.parse(String(request.body ?? ''));
        } catch {
          return reply.code(400).send({
            jsonrpc: '2.0',
            id: null,
            error: { code: JSONRPC_PARSE_ERROR, message: 'Parse error: the request body is not valid JSON' },
          });
        }
      }
      const direct = options.directPath === false ? undefined : directAnswer(service, request.headers, parsed, reply.raw);
      if (direct !== undefined) {
        return reply.header('content-type', 'application/json').send(JSON.stringify(await direct));
      }
      reply.hijack();
      await nodeHandler(request.raw, reply.raw, parsed);
    },
  });
  return {
    namespace: service.namespace,
    app,
    tools: () => service.tools,
    prepare: (next) => {
      const built = createMcpService(next);
      return {
        commit: () => {
          const changed = JSON.stringify(built.tools) !== JSON.stringify(service.tools);
          service = built;
          if (changed) handler.notify.toolsChanged();
        },
      };
    },
  };
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]', '::1'];

function allowedHostnames(listenHost: string, extra: readonly string[]): Set<string> {
  const names = new Set([...LOOPBACK_NAMES, ...extra.map((h) => h.toLowerCase())]);
  if (listenHost !== '0.0.0.0' && listenHost !== '::') names.add(listenHost.toLowerCase());
  return names;
}

/**
 * DNS-rebinding protection (MCP Streamable HTTP, security warning): a web
 * page can make a browser reach a loopback server under a name it
 * controls, so the Host must be one of ours, and a browser Origin too.
 */
function rebindingReason(host: string | undefined, origin: string | undefined, allowed: ReadonlySet<string>): string | undefined {
  const hostname = hostnameOf(host);
  if (hostname === undefined || !allowed.has(hostname)) {
    return `Host ${JSON.stringify(host ?? '')} is not allowed; start with --allowed-host <name> to accept it`;
  }
  if (origin === undefined) return undefined;
  let originHost: string;
  try {
    originHost = new URL(origin).hostname.toLowerCase();
  } catch {
    return `Origin ${JSON.stringify(origin)} is not a URL`;
  }
  const bracketed = originHost.includes(':') ? `[${originHost}]` : originHost;
  return allowed.has(originHost) || allowed.has(bracketed) ? undefined : `Origin ${origin} is not allowed`;
}

function hostnameOf(host: string | undefined): string | undefined {
  if (host === undefined || host === '') return undefined;
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1).toLowerCase();
  return host.split(':')[0]!.toLowerCase();
}

/** Protocol revisions of the 2025 era, answered statelessly per request. */
const LEGACY_VERSIONS = new Set(['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05', '2024-10-07']);

/**
 * The hot path: a 2025-era client's tools/list or tools/call is answered
 * from the prebuilt tools without building an SDK server, transport and
 * web Request per call, which is most of the SDK's per-request cost. Only
 * a request that is unambiguous qualifies (one JSON-RPC request, a legacy
 * MCP-Protocol-Version header, an Accept that allows JSON, no 2026 envelope);
 * anything else goes to the SDK, which owns every other rule.
 */
function directAnswer(
  service: McpService,
  headers: Record<string, string | string[] | undefined>,
  parsed: unknown,
  raw: { once(event: 'close', listener: () => void): unknown; writableFinished: boolean },
): Promise<Record<string, unknown>> | undefined {
  const version = headers['mcp-protocol-version'];
  const accept = String(headers.accept ?? '');
  if (typeof version !== 'string' || !LEGACY_VERSIONS.has(version)) return undefined;
  if (!accept.includes('application/json') || !accept.includes('text/event-stream')) return undefined;
  if (!String(headers['content-type'] ?? '').includes('application/json')) return undefined;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const message = parsed as Record<string, unknown>;
  if (message.jsonrpc !== '2.0' || !(typeof message.id === 'string' || typeof message.id === 'number')) return undefined;
  const meta = (message.params as { _meta?: Record<string, unknown> } | undefined)?._meta;
  if (meta !== undefined && Object.keys(meta).some((k) => k.startsWith('io.modelcontextprotocol/'))) return undefined;

  const abort = new AbortController();
  raw.once('close', () => {
    if (!raw.writableFinished) abort.abort();
  });
  return service.answerDirect(message, abort.signal);
}
