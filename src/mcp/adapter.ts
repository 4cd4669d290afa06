import { createMcpHandler, Server, ProtocolError } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { CapabilityBinding } from '../binding/capability-binding.js';
import { isCapabilityError } from '../errors/capability-error.js';
import type { McpExposeSpec } from '../spec/types.js';
import { bindTools, describeArgumentErrors, type BoundTool, type ToolDefinition } from './tools.js';
import { DEFAULT_RESULT_CAP_BYTES, toToolResult, type ToolResult } from './results.js';

export interface McpAdapterOptions {
  readonly binding: CapabilityBinding;
  readonly expose: McpExposeSpec;
  readonly exposeIndex: number;
  readonly logger: Logger;
  readonly version: string;
  readonly resultCapBytes?: number;
}

export interface McpAdapter {
  readonly namespace: string;
  readonly app: FastifyInstance;
  readonly tools: readonly ToolDefinition[];
}

const JSONRPC_PARSE_ERROR = -32700;
const JSONRPC_INVALID_PARAMS = -32602;
const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * Builds the MCP adapter: Streamable HTTP at `/mcp`, stateless, so any
 * replica answers any request. Tool definitions and argument validators
 * are built here once; the per-request server the SDK asks for only wires
 * two handlers to them.
 */
export function createMcpAdapter(options: McpAdapterOptions): McpAdapter {
  const { expose, logger } = options;
  const tools = bindTools(options.binding, expose, options.exposeIndex);
  const definitions = [...tools.values()].map((t) => t.definition);
  const cap = options.resultCapBytes ?? DEFAULT_RESULT_CAP_BYTES;

  const factory = () => createServer(options, tools, definitions, cap);
  const handler = createMcpHandler(factory, {
    maxRequestBodySize: MAX_BODY_BYTES,
    onerror: (err) => logger.debug({ err }, 'mcp request rejected'),
  });
  const nodeHandler = toNodeHandler(handler, { maxRequestBodySize: MAX_BODY_BYTES });

  const app = Fastify({ logger: false, forceCloseConnections: 'idle', bodyLimit: MAX_BODY_BYTES });
  // Read the body as text ourselves: Fastify's JSON parser would answer a
  // malformed body with its own 400 instead of JSON-RPC -32700.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.route({
    method: ['GET', 'POST', 'DELETE'],
    url: '/mcp',
    handler: async (request, reply) => {
      let parsed: unknown;
      if (request.method === 'POST') {
        try {
          parsed = JSON.parse(String(request.body ?? ''));
        } catch {
          return reply.code(400).send({ jsonrpc: '2.0', id: null, error: { code: JSONRPC_PARSE_ERROR, message: 'Parse error: body is not valid JSON' } });
        }
      }
      reply.hijack();
      await nodeHandler(request.raw, reply.raw, parsed);
    },
  });
  return { namespace: expose.namespace, app, tools: definitions };
}

function createServer(
  options: McpAdapterOptions,
  tools: ReadonlyMap<string, BoundTool>,
  definitions: readonly ToolDefinition[],
  cap: number,
): Server {
  const { expose, logger } = options;
  const server = new Server(
    { name: expose.namespace, version: options.version },
    {
      capabilities: { tools: { listChanged: true } },
      ...(expose.description === undefined ? {} : { instructions: expose.description }),
    },
  );
  server.setRequestHandler('tools/list', () => ({ tools: definitions as ToolDefinition[] }) as never);
  server.setRequestHandler('tools/call', async (request, ctx) => {
    const { name, arguments: args = {} } = request.params;
    const tool = tools.get(name);
    if (tool === undefined) {
      throw new ProtocolError(JSONRPC_INVALID_PARAMS, `Unknown tool: ${name}; available: ${[...tools.keys()].join(', ')}`);
    }
    const result = await callTool(tool, args, ctx.mcpReq.signal, cap, logger);
    return server.projectCallToolResult(result as never, tool.definition.outputSchema) as never;
  });
  return server;
}

async function callTool(
  tool: BoundTool,
  args: Record<string, unknown>,
  signal: AbortSignal,
  cap: number,
  logger: Logger,
): Promise<ToolResult> {
  const started = performance.now();
  if (!tool.validate(args)) {
    const message = describeArgumentErrors(tool, args);
    logger.info({ tool: tool.definition.name, durationMs: elapsed(started) }, 'tool arguments rejected');
    return { content: [{ type: 'text', text: `invalid arguments: ${message}` }], isError: true };
  }
  try {
    const inputs = new Map(Object.entries(args).filter(([, v]) => v !== undefined && v !== null));
    const result = await tool.call.invoke(inputs, { mode: 'value', signal });
    logger.info(
      { tool: tool.definition.name, upstreamStatus: result.status, upstreamMs: Math.round(result.upstreamMs * 10) / 10, durationMs: elapsed(started) },
      'tool call completed',
    );
    return await toToolResult(result, cap);
  } catch (err) {
    const ours = isCapabilityError(err);
    const entry = { tool: tool.definition.name, durationMs: elapsed(started), err };
    if (ours) logger.warn(entry, 'tool call failed');
    else logger.error(entry, 'tool call crashed');
    const text = ours ? `${err.code}: ${err.message}` : 'internal error; see the server log';
    return { content: [{ type: 'text', text }], isError: true };
  }
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}
