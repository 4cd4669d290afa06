import { ProtocolError, Server } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import type { CapabilityBinding } from '../binding/capability-binding.js';
import { isCapabilityError } from '../errors/capability-error.js';
import type { McpExposeSpec } from '../spec/types.js';
import { DEFAULT_RESULT_CAP_BYTES, toToolResult, type ToolResult } from './results.js';
import { bindPrompts } from './prompts.js';
import { bindResources } from './resources.js';
import { bindTools, describeArgumentErrors, type BoundTool, type ToolDefinition } from './tools.js';

export interface McpServiceOptions {
  readonly binding: CapabilityBinding;
  readonly expose: McpExposeSpec;
  readonly exposeIndex: number;
  readonly logger: Logger;
  readonly version: string;
  readonly resultCapBytes?: number;
}

/**
 * The transport-independent part of an MCP adapter: tools bound once at
 * start-up, and a factory that wires a fresh low-level SDK server to them.
 * The SDK builds a server per HTTP request (or per stdio connection), so
 * nothing expensive may happen in the factory.
 */
export interface McpService {
  readonly namespace: string;
  readonly tools: readonly ToolDefinition[];
  createServer(): Server;
  /**
   * Answers a 2025-era `tools/list` or `tools/call` request directly, with
   * the same result the SDK server would give, or returns undefined for
   * anything it does not handle (the SDK then answers).
   */
  answerDirect(message: Record<string, unknown>, signal: AbortSignal): Promise<Record<string, unknown>> | undefined;
}

const JSONRPC_INVALID_PARAMS = -32602;

export function createMcpService(options: McpServiceOptions): McpService {
  const tools = bindTools(options.binding, options.expose, options.exposeIndex);
  const definitions = [...tools.values()].map((t) => t.definition);
  const cap = options.resultCapBytes ?? DEFAULT_RESULT_CAP_BYTES;
  const listResult = { tools: definitions as ToolDefinition[] };
  const resources = bindResources(options.binding, options.expose, options.exposeIndex);
  const prompts = bindPrompts(options.binding.capability.file, options.expose, options.exposeIndex);
  // Spec 2.10: resources and prompts are advertised only when declared.
  const capabilities = {
    tools: { listChanged: true },
    ...(resources.isEmpty ? {} : { resources: {} }),
    ...(prompts.isEmpty ? {} : { prompts: {} }),
  };

  const createServer = (): Server => {
    const server = new Server(
      { name: options.expose.namespace, version: options.version },
      {
        capabilities,
        ...(options.expose.description === undefined ? {} : { instructions: options.expose.description }),
      },
    );
    server.setRequestHandler('tools/list', () => listResult as never);
    server.setRequestHandler('tools/call', async (request, ctx) => {
      const { name, arguments: args = {} } = request.params;
      const tool = tools.get(name);
      if (tool === undefined) {
        throw new ProtocolError(JSONRPC_INVALID_PARAMS, `Unknown tool: ${name}; available: ${[...tools.keys()].join(', ')}`);
      }
      const result = redactError(await callTool(tool, args, ctx.mcpReq.signal, cap, options.logger), options.binding.redact);
      return server.projectCallToolResult(result as never, tool.definition.outputSchema) as never;
    });
    if (!resources.isEmpty) {
      server.setRequestHandler('resources/list', () => resources.list() as never);
      server.setRequestHandler('resources/templates/list', () => resources.listTemplates() as never);
      server.setRequestHandler('resources/read', (request, ctx) =>
        resources.read(request.params.uri, ctx.mcpReq.signal, cap) as never);
    }
    if (!prompts.isEmpty) {
      server.setRequestHandler('prompts/list', () => prompts.list() as never);
      server.setRequestHandler('prompts/get', (request) =>
        prompts.get(request.params.name, (request.params.arguments ?? {}) as Record<string, string>) as never);
    }
    return server;
  };
  // Never connected: used only for its 2025-era result projection.
  const projector = createServer();
  const answerDirect = (message: Record<string, unknown>, signal: AbortSignal) => {
    const { id, method, params } = message;
    if (method === 'tools/list' && (params === undefined || isPlainObject(params))) {
      return Promise.resolve({ jsonrpc: '2.0', id, result: listResult });
    }
    if (method !== 'tools/call' || !isPlainObject(params) || typeof params.name !== 'string') return undefined;
    if (params.arguments !== undefined && !isPlainObject(params.arguments)) return undefined;
    const tool = tools.get(params.name);
    if (tool === undefined) {
      const error = { code: JSONRPC_INVALID_PARAMS, message: `Unknown tool: ${params.name}; available: ${[...tools.keys()].join(', ')}` };
      return Promise.resolve({ jsonrpc: '2.0', id, error });
    }
    return callTool(tool, (params.arguments ?? {}) as Record<string, unknown>, signal, cap, options.logger).then((raw) => redactError(raw, options.binding.redact)).then((result) => ({
      jsonrpc: '2.0',
      id,
      result: projector.projectCallToolResult(result as never, tool.definition.outputSchema),
    }));
  };
  return { namespace: options.expose.namespace, tools: definitions, createServer, answerDirect };
}

async function callTool(
  tool: BoundTool,
  args: Record<string, unknown>,
  signal: AbortSignal,
  cap: number,
  logger: Logger,
): Promise<ToolResult> {
  const started = performance.now();
  if (!tool.validate(args) || !numbersInRange(tool, args)) {
    const message = describeArgumentErrors(tool, args);
    logger.info({ tool: tool.definition.name, durationMs: elapsed(started) }, 'tool arguments rejected');
    return { content: [{ type: 'text', text: message }], isError: true };
  }
  try {
    const inputs = new Map(Object.entries(args).filter(([, v]) => v !== undefined && v !== null));
    const result = await tool.call.invoke(inputs, { mode: 'value', signal });
    const shaped = await toToolResult(result, cap, tool);
    logger.info(
      {
        tool: tool.definition.name,
        upstreamStatus: result.status,
        upstreamMs: Math.round(result.upstreamMs * 10) / 10,
        durationMs: elapsed(started),
      },
      'tool call completed',
    );
    return shaped;
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

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * ajv's `integer` check lets Infinity (JSON `1e400`) and integers past
 * 2^53 through; either would reach the upstream as another value.
 */
function numbersInRange(tool: BoundTool, args: Record<string, unknown>): boolean {
  for (const field of tool.fields) {
    const value = args[field.name];
    if (typeof value !== 'number') continue;
    const ok = field.type === 'integer' ? Number.isSafeInteger(value) : Number.isFinite(value);
    if (!ok) {
      tool.validate.errors = [{ keyword: 'type', instancePath: `/${field.name}`, schemaPath: '', params: { type: field.type }, message: `must be a finite ${field.type} within ±2^53` }];
      return false;
    }
  }
  return true;
}

/** An error result quotes upstream text, which may echo our credentials. */
function redactError(result: ToolResult, redact: (text: string) => string): ToolResult {
  if (result.isError !== true) return result;
  return { ...result, content: result.content.map((c) => ({ ...c, text: redact(c.text) })) };
}
