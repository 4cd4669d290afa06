import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveForTest, type ServeForTest } from '../support/serve.js';
import { startShipyardServer, type RecordedRequest, type ShipyardServer } from '../support/shipyard-server.js';
import { adapterFor, jqHolds, loadCases, referenceAvailable, runCase, TUTORIAL, type TutorialCase } from '../support/tutorial.js';

/**
 * The reference tutorial's data-driven suite (33 cases), run against our
 * runtime with the Shipyard fixture upstream: every jq check of the file,
 * plus exact values from the OpenAPI examples and what the upstream got.
 */
if (!referenceAvailable()) {
  console.error('\n!!! tutorial conformance DID NOT RUN: ../shared/reference is missing !!!\n');
  if (process.env.CI === 'true') throw new Error('../shared/reference is required on CI');
}

const NORTHERN = { imo: 'IMO-9321483', name: 'Northern Star', type: 'cargo', flag: 'NO', status: 'active' };
const PACIFIC = { imo: 'IMO-9456781', name: 'Pacific Dawn', type: 'tanker', flag: 'SG', status: 'maintenance' };
const SPECS = { yearBuilt: 2015, tonnage: 42000, length: 229 };
const CREW = [{ fullName: 'Erik Lindström', role: 'captain' }, { fullName: 'Aiko Tanaka', role: 'cook' }];
const LEGACY = [
  { vesselCode: 'LEGACY-4012', name: 'Old Faithful', type: 'cargo', flag: 'GB', status: 'active' },
  { vesselCode: 'LEGACY-2087', name: 'Iron Maiden', type: 'bulk_carrier', flag: 'PA', status: 'laid_up' },
];
const VOYAGE_ARGS = {
  shipImo: 'IMO-9321483',
  departurePort: 'Oslo',
  arrivalPort: 'Singapore',
  departureDate: '2026-04-10',
  arrivalDate: '2026-05-02',
  crewIds: ['CREW-001', 'CREW-003'],
  cargoIds: ['CARGO-2024-0451'],
};
const VOYAGE = {
  voyageId: 'VOY-2026-042',
  shipImo: 'IMO-9321483',
  route: { from: 'Oslo', to: 'Singapore' },
  dates: { departure: '2026-04-10', arrival: '2026-05-02' },
  crewIds: ['CREW-001', 'CREW-003'],
  cargoIds: ['CARGO-2024-0451'],
  status: 'planned',
};
const SHIP_WITH_CREW = { ...NORTHERN, ...SPECS, crew: CREW };

type Check = (value: unknown, seen: readonly RecordedRequest[]) => void;

/** Upstream headers each tutorial step's consumes blocks render. */
function registryAuth(step: number): Record<string, string> | undefined {
  if (step <= 2) return undefined;
  // Step 11's shared consumes file writes the words without braces, so they
  // are literal values, not bind variables.
  if (step === 11) return { authorization: 'Bearer REGISTRY_TOKEN', 'registry-version': 'REGISTRY_VERSION' };
  return { authorization: 'Bearer dummy-token', 'registry-version': '1.0.0-alpha2' };
}

function upstreamSaw(step: number, expected: { method: string; target: string; body?: unknown }[]): (seen: readonly RecordedRequest[]) => void {
  return (seen) => {
    expect(seen.map((r) => `${r.method} ${r.target}`)).toEqual(expected.map((e) => `${e.method} ${e.target}`));
    seen.forEach((r, i) => {
      if (r.api === 'registry') {
        const auth = registryAuth(step);
        if (auth === undefined) expect(r.headers.authorization).toBeUndefined();
        else expect({ authorization: r.headers.authorization, 'registry-version': r.headers['registry-version'] }).toEqual(auth);
      } else {
        expect(r.headers['x-dock-key']).toBe('dummy-dockyard-key');
      }
      const body = expected[i]!.body;
      if (body !== undefined) {
        expect(r.headers['content-type']).toBe('application/json');
        expect(JSON.parse(r.body)).toEqual(body);
      }
    });
  };
}

const REG = (path: string) => `/rest/naftiko-shipyard-maritime-registry-api/1.0.0-alpha2${path}`;
const LEG = (path: string) => `/rest/naftiko-shipyard-legacy-dockyard-api/1.0.0-alpha2${path}`;
const GET = (target: string) => ({ method: 'GET', target });
const POST_VOYAGE = { method: 'POST', target: REG('/voyages'), body: VOYAGE_ARGS };
const WITH_CREW_CALLS = [GET(REG('/ships/IMO-9321483')), GET(REG('/crew'))];

function expectCase(name: string): Check {
  const step = Number(/^step(\d+)/.exec(name)![1]);
  const equal = (expected: unknown, calls: Parameters<typeof upstreamSaw>[1]): Check => (value, seen) => {
    expect(value).toEqual(expected);
    upstreamSaw(step, calls)(seen);
  };
  if (/list-ships-filter$/.test(name)) return equal([NORTHERN], [GET(REG('/ships?status=active'))]);
  if (/(mcp|rest)?-?list-ships$/.test(name)) return equal([NORTHERN, PACIFIC], [GET(REG('/ships'))]);
  if (/list-legacy-vessels$/.test(name)) return equal(LEGACY, [GET(LEG('/vessels'))]);
  if (name === 'step1-get-ship') return equal(NORTHERN, []);
  if (/step[23]-get-ship$/.test(name)) return equal(NORTHERN, [GET(REG('/ships/IMO-9321483'))]);
  if (/get-ship(-shaped)?$/.test(name)) return equal({ ...NORTHERN, specs: SPECS }, [GET(REG('/ships/IMO-9321483'))]);
  if (/get-ship-with-crew$/.test(name)) return equal(SHIP_WITH_CREW, WITH_CREW_CALLS);
  if (/create-voyage$/.test(name)) return equal(VOYAGE, [POST_VOYAGE]);
  if (name === 'step8-skill-fleet-ops') {
    return (value, seen) => {
      expect(value).toMatchObject({ name: 'fleet-ops', description: 'Fleet management — list, search, and inspect ships across all registries' });
      const tools = (value as { tools: { name: string; type: string; invocationRef: unknown }[] }).tools;
      expect(tools.map((t) => t.name)).toEqual(['list-ships', 'get-ship', 'list-legacy-vessels', 'get-ship-with-crew']);
      expect(tools[0]).toEqual({
        name: 'list-ships',
        description: 'List ships in the shipyard, optionally filtered by status',
        type: 'derived',
        invocationRef: { targetNamespace: 'shipyard-tools', action: 'list-ships', mode: 'mcp' },
      });
      expect(seen).toEqual([]);
    };
  }
  if (/voyage-manifest$/.test(name)) {
    return (value, seen) => {
      const manifest = value as Record<string, unknown>;
      expect(manifest.voyageId).toBe('VOY-2026-042');
      expect(manifest.status).toBe('planned');
      expect(manifest.crew).toEqual(CREW);
      expect((manifest.cargo as { type: string }[])[0]).toMatchObject({ type: 'container' });
      if (name.includes('mcp')) expect(manifest.ship).toEqual({ name: 'Northern Star', type: 'cargo', flag: 'NO' });
      else expect(manifest).toMatchObject({ departurePort: 'Oslo', arrivalPort: 'Singapore', shipName: 'Northern Star', shipType: 'cargo', shipFlag: 'NO' });
      expect(seen.map((r) => r.target)).toEqual([REG('/voyages/VOY-2026-042'), REG('/ships'), REG('/crew'), REG('/cargo')]);
      upstreamSaw(step, seen.map((r) => GET(r.target)))(seen);
    };
  }
  throw new Error(`no exact expectation written for ${name}`);
}

const cases = referenceAvailable() ? loadCases() : [];
let shipyard: ShipyardServer;

beforeAll(async () => {
  if (cases.length > 0) shipyard = await startShipyardServer();
});
afterAll(async () => {
  await shipyard?.close();
});

describe.runIf(cases.length > 0)('the reference tutorial suite', () => {
  it('has the 33 cases this test was written for', () => {
    expect(cases).toHaveLength(33);
  });

  it.each(cases.map((c) => [c.name, c] as [string, TutorialCase]))('%s', async (_name, c) => {
    const served: ServeForTest = await serveForTest(join(TUTORIAL, c.file), { registry: shipyard.registryUrl, legacy: shipyard.legacyUrl }, { env: {} });
    try {
      const expose = adapterFor(c.file, c.port);
      const adapter = served.running.adapters.find((a) => a.namespace === (expose.namespace ?? expose.type))!;
      shipyard.clear();
      const value = await runCase(c, served, adapter.url);
      for (const v of c.validations) expect(jqHolds(v.jq, value), v.jq).toBe(true);
      expectCase(c.name)(value, shipyard.requests);
    } finally {
      await served.running.close();
    }
  });
});
