import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { serveCapability, type RunningCapability } from '../../src/cli/serve.js';
import { createLogger } from '../../src/logging/logger.js';
import { sendJson, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';

/** Where we deliberately differ from the reference engine (docs/conformance.md), one test each. */
let upstream: FakeUpstream;
let running: RunningCapability;
const warnings: string[] = [];
let mcpUrl = '';

beforeAll(async () => {
  upstream = await startFakeUpstream();
  const logger = createLogger({ level: 'warn' });
  logger.warn = ((obj: unknown, msg?: string) => warnings.push(String(msg ?? obj))) as never;
  running = await serveCapability(
    {
      file: 'test/fixtures/defects/differences.yaml',
      strict: true,
      baseUris: new Map([['up', `${upstream.url}/base`]]),
      ports: new Map([['diff-mcp', 0]]),
      // No --host: the declared 0.0.0.0 without authentication must not be honoured.
      host: undefined,
      logLevel: 'warn',
      stdio: false,
      allowedHosts: [],
      mcpResultCapBytes: undefined,
    } as never,
    logger,
    {},
    '0.0.0-test',
  );
  mcpUrl = `${running.adapters[0]!.url}/mcp`;
});
afterAll(async () => {
  await running?.close();
  await upstream?.close();
});
beforeEach(() => {
  upstream.seen.length = 0;
});

async function call(name: string, args: Record<string, unknown>) {
  const client = new Client({ name: 'c', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl)));
  try {
    return await client.callTool({ name, arguments: args });
  } finally {
    await client.close();
  }
}

describe('documented differences from the reference engine', () => {
  it('listens on 127.0.0.1, not a declared 0.0.0.0, without authentication or --host, and says why', () => {
    expect(running.adapters[0]!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(warnings.some((w) => w.includes('declares address 0.0.0.0 without authentication'))).toBe(true);
  });

  it('joins a consumed path without a leading slash with one, and sends an apikey in a header by default', async () => {
    upstream.handle((_req, res) => res.writeHead(204).end());
    await call('delete-thing', { id: 't-1' });
    expect(upstream.seen[0]!.target).toBe('/base/things/t-1');
    expect(upstream.seen[0]!.headers['x-key']).toBe('key-1');
  });

  it('reports an upstream 204 as a success, not as an error', async () => {
    upstream.handle((_req, res) => res.writeHead(204).end());
    const result = await call('delete-thing', { id: 't-1' });
    expect(result.isError).toBeFalsy();
    expect(result.content).toEqual([{ type: 'text', text: 'done: the upstream answered 204 with no content' }]);
  });

  it('stops an orchestration at the first upstream error instead of running later steps on nothing', async () => {
    upstream.handle((req, res) => (req.target.startsWith('/base/things') ? sendJson(res, 404, { detail: 'no thing' }) : sendJson(res, 200, [])));
    const result = await call('thing-and-others', { id: 'gone' });
    expect(result.isError).toBe(true);
    expect((result.content as { text: string }[])[0]!.text).toBe('upstream returned HTTP 404: {"detail":"no thing"}');
    expect(upstream.seen.map((r) => r.target)).toEqual(['/base/things/gone']);
  });

  it('runs the steps and maps their answers when all succeed', async () => {
    upstream.handle((req, res) => (req.target.startsWith('/base/things') ? sendJson(res, 200, { id: 'x' }) : sendJson(res, 200, [{ n: 1 }])));
    const result = await call('thing-and-others', { id: 'x' });
    expect(result.structuredContent).toEqual({ thing: { id: 'x' }, others: [{ n: 1 }] });
  });
});
