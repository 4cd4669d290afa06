import { request } from 'node:http';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendJson, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { serveForTest, type ServeForTest } from '../support/serve.js';

let upstream: FakeUpstream;
let served: ServeForTest;
const url = (type: string) => served.running.adapters.find((a) => a.type === type)!.url;

beforeAll(async () => {
  upstream = await startFakeUpstream((_req, res) => sendJson(res, 200, [{ imo: 'IMO-1' }]));
  served = await serveForTest('test/fixtures/skills/skill-control.yaml', { registry: upstream.url }, { env: {} });
});
afterAll(async () => {
  await served?.running.close();
  await upstream?.close();
});

describe('skill adapter (spec 1.8)', () => {
  it('lists the catalogue', async () => {
    expect(await (await fetch(`${url('skill')}/skills`)).json()).toEqual({
      count: 2,
      skills: [
        { name: 'fleet-ops', description: 'Fleet operations', license: 'Apache-2.0', tools: ['list-ships', 'list-ships-rest', 'inspect'] },
        { name: 'no-files', description: 'A skill without a location', tools: ['list-ships'] },
      ],
    });
  });

  it('details derived tools with their invocation mode, and instruction tools', async () => {
    const skill = (await (await fetch(`${url('skill')}/skills/fleet-ops`)).json()) as { tools: unknown[] };
    expect(skill.tools).toEqual([
      { name: 'list-ships', description: 'List ships over MCP', type: 'derived', invocationRef: { targetNamespace: 'fleet-tools', action: 'list-ships', mode: 'mcp' } },
      { name: 'list-ships-rest', description: 'List ships over REST', type: 'derived', invocationRef: { targetNamespace: 'fleet-api', action: 'list-ships', mode: 'rest' } },
      { name: 'inspect', description: 'How to inspect a ship', type: 'instruction', instruction: 'Read SKILL.md, then call list-ships.' },
    ]);
  });

  it('lists, serves and zips the location files, and 404s what is not there', async () => {
    const contents = await (await fetch(`${url('skill')}/skills/fleet-ops/contents`)).json();
    expect(contents).toEqual({ name: 'fleet-ops', files: [{ path: 'SKILL.md', size: 35, type: 'file' }, { path: 'checklist.yaml', size: 26, type: 'file' }] });
    expect(await (await fetch(`${url('skill')}/skills/fleet-ops/contents/SKILL.md`)).text()).toBe('# Fleet ops\n\nUse list-ships first.\n');
    const zip = unzipSync(new Uint8Array(await (await fetch(`${url('skill')}/skills/fleet-ops/download`)).arrayBuffer()));
    expect(Object.keys(zip).sort()).toEqual(['SKILL.md', 'checklist.yaml']);
    expect(Buffer.from(zip['checklist.yaml']!).toString()).toBe('checklist: [inspect, log]\n');
    expect((await fetch(`${url('skill')}/skills/nope`)).status).toBe(404);
    expect((await fetch(`${url('skill')}/skills/no-files/contents`)).status).toBe(404);
    expect((await fetch(`${url('skill')}/skills/fleet-ops/contents/missing.md`)).status).toBe(404);
  });

  it('refuses a path that climbs out of the location', async () => {
    const u = new URL(url('skill'));
    const status = await new Promise<number>((resolve, reject) => {
      request({ host: u.hostname, port: u.port, path: '/skills/fleet-ops/contents/..%2F..%2Fskill-control.yaml' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject).end();
    });
    expect([400, 404]).toContain(status);
  });
});

describe('control adapter (spec 1.9)', () => {
  it('answers liveness and readiness with every adapter started', async () => {
    expect(await (await fetch(`${url('control')}/health/live`)).json()).toEqual({ status: 'UP' });
    const ready = await fetch(`${url('control')}/health/ready`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { status: string; adapters: { type: string; state: string }[] };
    expect(body.status).toBe('UP');
    expect(body.adapters.map((a) => `${a.type}:${a.state}`)).toEqual(['mcp:started', 'rest:started', 'skill:started']);
  });

  it('reports status when info is on', async () => {
    const status = (await (await fetch(`${url('control')}/status`)).json()) as Record<string, unknown>;
    expect(status).toMatchObject({ naftiko: '1.0.0-alpha2', label: 'Skill and control fixture', runtime: 'naftiko-ts 0.0.0-test' });
  });

  it('counts requests in Prometheus text and keeps the last traces, without query strings', async () => {
    await (await fetch(`${url('rest')}/ships?token=secret-value`)).arrayBuffer();
    await (await fetch(`${url('rest')}/ships`)).arrayBuffer();
    await (await fetch(`${url('rest')}/nowhere`)).arrayBuffer();
    const metrics = await (await fetch(`${url('control')}/metrics`)).text();
    expect(metrics).toContain('naftiko_requests_total{adapter="fleet-api",method="GET",status="2xx"} 2');
    expect(metrics).toContain('naftiko_requests_total{adapter="fleet-api",method="GET",status="4xx"} 1');
    const traces = ((await (await fetch(`${url('control')}/traces`)).json()) as { traces: { path: string; status: number; traceId: string }[] }).traces;
    expect(traces.map((t) => [t.path, t.status])).toEqual([['/nowhere', 404], ['/ships', 200], ['/ships', 200]]);
    expect(JSON.stringify(traces)).not.toContain('secret-value');
    expect(await (await fetch(`${url('control')}/traces/${traces[0]!.traceId}`)).json()).toMatchObject({ path: '/nowhere' });
  });
});
