import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendJson, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { serveForTest, type ServeForTest } from '../support/serve.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

const dir = mkdtempSync(join(tmpdir(), 'reload-'));
const file = join(dir, 'prefect.yaml');
let upstream: FakeUpstream;
let served: ServeForTest;

beforeAll(async () => {
  copyFileSync('capabilities/prefect-download.yaml', file);
  upstream = await startFakeUpstream((_req, res) => sendJson(res, 200, []));
  served = await serveForTest(file, { 'prefect-download': upstream.url });
});
afterAll(async () => {
  await served?.running.close();
  await upstream?.close();
});

describe('reloading the capability while serving', () => {
  it('swaps routes and tools in place and sends tools/list_changed to 2026-07-28 listeners', async () => {
    const changes: string[][] = [];
    const client = new Client({ name: 'reload', version: '1.0.0' }, {
      versionNegotiation: { mode: 'auto' },
      listChanged: { tools: { onChanged: (_err, tools) => changes.push((tools ?? []).map((t) => t.name)) } },
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(served.mcpUrl)));
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('download-flow-run-logs-2');
    await new Promise((r) => setTimeout(r, 300));

    writeFileSync(file, readFileSync(file, 'utf8')
      .replace('- name: download-flow-run-logs-2', '- name: download-all-logs')
      .replace('/v1/api/accounts/{account-id}/workspaces/{workspace-id}/flow-runs/{id}/logs/download', '/v2/api/accounts/{account-id}/workspaces/{workspace-id}/flow-runs/{id}/logs/download'));
    await served.running.reload();

    for (let i = 0; i < 50 && changes.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(changes.at(-1)).toEqual(['download-flow-run-logs', 'get-flow-run-logs', 'download-all-logs']);
    await client.close();

    expect((await fetch(`${served.restUrl}/v2/api/accounts/a/workspaces/w/flow-runs/f/logs/download`)).status).toBe(200);
    expect((await fetch(`${served.restUrl}/v1/api/accounts/a/workspaces/w/flow-runs/f/logs/download`)).status).toBe(404);
  });

  it('refuses a broken file and keeps serving the previous version', async () => {
    writeFileSync(file, 'naftiko: 1.0.0-alpha2\ncapability: [');
    await expect(served.running.reload()).rejects.toMatchObject({ code: 'CAP_SPEC_YAML' });
    expect((await fetch(`${served.restUrl}/v2/api/accounts/a/workspaces/w/flow-runs/f/logs/download`)).status).toBe(200);
  });

  it('refuses a reload that moves an adapter', async () => {
    writeFileSync(file, readFileSync('capabilities/prefect-download.yaml', 'utf8').replace('port: 9090', 'port: 9091'));
    await expect(served.running.reload()).rejects.toMatchObject({ code: 'CAP_SPEC_UNSUPPORTED', message: expect.stringContaining('restart') });
  });
});
