import { createMcpHandler } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { allowedHostnames, rebindingReason } from '../http/host-guard.js';
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

  const app = Fastify({ logger: false, forceCloseConnections: 'idle', bodyLimit: MAX_BODY_BYTES, frameworkErrors: jsonRpcFrameworkError });
  // Anything but /mcp, or a method the endpoint does not take.
  app.setNotFoundHandler((request, reply) => {
    const onMcp = request.url.split('?')[0] === '/mcp';
    if (onMcp) reply.header('allow', 'GET, POST, DELETE');
    return reply.code(onMcp ? 405 : 404).send(jsonRpcError(-32000, onMcp ? `Method ${request.method} not allowed on /mcp` : `Not found: the MCP endpoint is /mcp`));
  });
  app.setErrorHandler((error: { statusCode?: number; code?: string; message: string }, _request, reply) => {
    const status = error.statusCode ?? 500;
    const message = error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? `Request body over ${MAX_BODY_BYTES} bytes` : status < 500 ? error.message : 'Internal error';
    return reply.code(status).send(jsonRpcError(status < 500 ? -32600 : -32603, message));
  });
  // Read the body as text ourselves: Fastify's JSON parser would answer a
  // malformed body with its own 400 instead of JSON-RPC -32700.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  const allowed = allowedHostnames(options.listenHost, options.allowedHosts ?? []);
  // DNS-rebinding protection (MCP Streamable HTTP, security warning).
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

function jsonRpcError(code: number, message: string): Record<string, unknown> {
  return { jsonrpc: '2.0', id: null, error: { code, message } };
}

function jsonRpcFrameworkError(error: { message: string }, _request: unknown, reply: FastifyReply): void {
  void reply.code(400).send(jsonRpcError(-32600, `Invalid request: ${error.message}`));
}
