import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIN } from '../support/cli.js';
import { sendJson, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';

let upstream: FakeUpstream;
const args = () => [MAIN, 'capabilities/prefect-download.yaml', '--stdio', '--base-uri', `prefect-download=${upstream.url}`, '--port', 'prefect-download-rest=0'];
const env = () => ({ PATH: process.env.PATH ?? '', PREFECT_API_KEY: 'pnu_stdio' });

beforeAll(async () => {
  upstream = await startFakeUpstream((_req, res) => sendJson(res, 200, [{ id: 'stdio-log' }]));
});
afterAll(async () => {
  await upstream?.close();
});

describe('MCP over stdio (--stdio)', () => {
  it('lists and calls the tools through the SDK stdio client', async () => {
    const transport = new StdioClientTransport({ command: process.execPath, args: args(), env: env(), stderr: 'pipe' });
    const client = new Client({ name: 'stdio-test', version: '1.0.0' });
    await client.connect(transport);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['download-flow-run-logs', 'get-flow-run-logs', 'download-flow-run-logs-2']);
    const result = await client.callTool({ name: 'get-flow-run-logs', arguments: { account_id: 'a', workspace_id: 'w', id: 'f' } });
    expect(result.structuredContent).toEqual({ result: [{ id: 'stdio-log' }] });
    await client.close();
  });

  it('writes nothing but protocol messages on standard output, and logs on standard error', async () => {
    const child = spawn(process.execPath, args(), { env: env(), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: string[] = [];
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    const lines = createInterface({ input: child.stdout });
    const answered = new Promise<void>((resolve) => {
      lines.on('line', (line) => {
        out.push(line);
        if (out.length === 2) resolve();
      });
    });
    const send = (m: unknown) => child.stdin.write(`${JSON.stringify(m)}\n`);
    send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'get-flow-run-logs', arguments: { account_id: 'a', workspace_id: 'w', id: 'f' } } });
    await answered;
    child.stdin.end();
    await new Promise((r) => child.once('exit', r));
    expect(out.map((l) => (JSON.parse(l) as { id: number }).id)).toEqual([1, 2]);
    for (const line of out) expect(JSON.parse(line)).toHaveProperty('jsonrpc', '2.0');
    expect(err).toContain('"msg":"tool get-flow-run-logs on stdio"');
    expect(err).toContain('tool call completed');
  });
});
