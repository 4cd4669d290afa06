// Baseline for the MCP scenario: the SDK's documented simple stateless
// pattern. A factory builds a fresh McpServer and registers its tool with a
// zod schema on every request; createMcpHandler serves it (both protocol
// eras) and toNodeHandler mounts it on node:http. The tool calls the same
// upstream as the runtime and answers in the same shape.
//
// Environment: UPSTREAM (base URL), PORT. Listens on 127.0.0.1.
import { createServer } from 'node:http';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { Agent, request } from 'undici';
import * as z from 'zod/v4';

const upstream = process.env.UPSTREAM;
const dispatcher = new Agent({ connections: 128 });

const logsInput = z.object({
  account_id: z.string(),
  workspace_id: z.string(),
  id: z.string(),
  limit: z.number().int().optional(),
});

function buildServer() {
  const server = new McpServer({ name: 'baseline', version: '1.0.0' });
  server.registerTool(
    'get-flow-run-logs',
    { description: 'Get Flow Run Logs', inputSchema: logsInput },
    async ({ account_id, workspace_id, id, limit }) => {
      const query = limit === undefined ? '' : `?limit=${limit}`;
      const run = `/api/accounts/${account_id}/workspaces/${workspace_id}/flow_runs/${id}`;
      const path = `${run}/logs${query}`;
      const res = await request(`${upstream}${path}`, { dispatcher });
      const text = await res.body.text();
      if (res.statusCode >= 300) {
        return { content: [{ type: 'text', text: `upstream ${res.statusCode}` }], isError: true };
      }
      return { content: [{ type: 'text', text }], structuredContent: { result: JSON.parse(text) } };
    },
  );
  return server;
}

const handle = toNodeHandler(createMcpHandler(buildServer));
const http = createServer((req, res) => {
  if (req.url !== '/mcp') return void res.writeHead(404).end();
  handle(req, res);
});
http.keepAliveTimeout = 60_000;
http.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: http.address().port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
