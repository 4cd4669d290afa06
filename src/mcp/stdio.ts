import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { createMcpService, type McpServiceOptions } from './service.js';
import type { ToolDefinition } from './tools.js';

export interface StdioAdapter {
  readonly namespace: string;
  readonly tools: readonly ToolDefinition[];
  close(): Promise<void>;
}

/**
 * Serves the same tools over standard input and output. Standard output
 * then belongs to the protocol: the caller must send every log line to
 * standard error.
 */
export function startStdioAdapter(options: McpServiceOptions): StdioAdapter {
  const service = createMcpService(options);
  const handle = serveStdio(() => service.createServer(), {
    onerror: (err) => options.logger.warn({ err }, 'stdio message rejected'),
  });
  return {
    namespace: service.namespace,
    tools: service.tools,
    close: async () => {
      await handle.close();
    },
  };
}
