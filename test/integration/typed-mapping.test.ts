import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { serveForTest, type ServeForTest } from '../support/serve.js';

let upstream: FakeUpstream;
let served: ServeForTest;
const XML = '<vessels><vessel><code>V1</code><tons>100</tons><active>true</active></vessel><vessel><code>V2</code><tons>2.5e2</tons><active>no</active></vessel></vessels>';

beforeAll(async () => {
  upstream = await startFakeUpstream((_req, res) => void res.writeHead(200, { 'content-type': 'application/xml' }).end(XML));
  served = await serveForTest('test/fixtures/defects/typed-xml.yaml', { dock: upstream.url }, { env: {} });
});
afterAll(async () => {
  await served?.running.close();
  await upstream?.close();
});

describe('typed mappings over text formats', () => {
  it('give the declared types on REST and MCP alike, where the text converts without loss', async () => {
    const rest = await (await fetch(`${served.restUrl}/vessels`)).json();
    expect(rest).toEqual([
      { code: 'V1', tons: 100, active: true },
      { code: 'V2', tons: 250, active: 'no' },
    ]);
    const client = new Client({ name: 'c', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(served.mcpUrl)));
    const result = await client.callTool({ name: 'list-vessels', arguments: {} });
    await client.close();
    // MCP must match its output schema, so the one value that does not convert is null there.
    expect(result.structuredContent).toEqual({ result: [{ code: 'V1', tons: 100, active: true }, { code: 'V2', tons: 250, active: null }] });
  });
});
