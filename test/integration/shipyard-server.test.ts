import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  startShipyardServer,
  type ShipyardServer,
} from '../support/shipyard-server.js';

// Expected values are copied from the examples in the two Microcks OpenAPI
// files under /work/shared/reference, so a drift in either file shows here.

const NORTHERN_STAR_SUMMARY = {
  imo_number: 'IMO-9321483',
  vessel_name: 'Northern Star',
  vessel_type: 'cargo',
  flag_code: 'NO',
  operational_status: 'active',
};

const PACIFIC_DAWN_SUMMARY = {
  imo_number: 'IMO-9456781',
  vessel_name: 'Pacific Dawn',
  vessel_type: 'tanker',
  flag_code: 'SG',
  operational_status: 'maintenance',
};

const REFERENCE_DIR = '/work/shared/reference';
const REGISTRY_FILE =
  'naftiko-shipyard-maritime-registry-api.microcks-openapi.yaml';
const LEGACY_FILE = 'naftiko-shipyard-legacy-dockyard-api.microcks-openapi.yaml';

const VOYAGE_REQUEST = {
  shipImo: 'IMO-9321483',
  departurePort: 'Oslo',
  arrivalPort: 'Singapore',
  departureDate: '2026-04-10',
  arrivalDate: '2026-05-02',
  crewIds: ['CREW-001', 'CREW-003'],
  cargoIds: ['CARGO-2024-0451'],
};

let shipyard: ShipyardServer;

beforeAll(async () => {
  shipyard = await startShipyardServer();
});

afterAll(async () => {
  await shipyard?.close();
});

beforeEach(() => {
  shipyard.clear();
});

async function getJson(url: string, init?: RequestInit) {
  const res = await fetch(url, init);
  return { res, json: (await res.json()) as unknown };
}

describe('shipyard fixture layout', () => {
  it('exposes the Microcks-style base paths on loopback', () => {
    expect(shipyard.registryUrl).toMatch(new RegExp(
      '^http://127\\.0\\.0\\.1:\\d+/rest/' +
      'naftiko-shipyard-maritime-registry-api/1\\.0\\.0-alpha2$'));
    expect(shipyard.legacyUrl).toMatch(new RegExp(
      '^http://127\\.0\\.0\\.1:\\d+/rest/' +
      'naftiko-shipyard-legacy-dockyard-api/1\\.0\\.0-alpha2$'));
  });

  it('fails loudly, naming the path, when the reference folder is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shipyard-missing-'));
    rmSync(dir, { recursive: true });

    const failure = startShipyardServer({ referenceDir: dir });

    await expect(failure).rejects.toMatchObject({
      code: 'SHIPYARD_REFERENCE_MISSING',
    });
    await expect(failure).rejects.toThrow(dir);
  });

  it.each([
    ['a non-trivial SCRIPT', "return 'created'", 'return pick(request)'],
    ['an unknown dispatcher', '"dispatcher": "SCRIPT"', '"dispatcher": "JSON_BODY"'],
    ['an unknown template', 'request.body/shipImo', 'request.params[imo]'],
  ])('refuses to start on %s', async (_, from, to) => {
    const dir = copyReferenceWith((text) => text.replace(from, to));
    try {
      await expect(startShipyardServer({ referenceDir: dir }))
        .rejects.toMatchObject({ code: 'SHIPYARD_SPEC_UNSUPPORTED' });
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

// A scratch reference folder whose registry file went through `edit`.
function copyReferenceWith(edit: (text: string) => string): string {
  const dir = mkdtempSync(join(tmpdir(), 'shipyard-edited-'));
  const original = readFileSync(join(REFERENCE_DIR, REGISTRY_FILE), 'utf8');
  const edited = edit(original);

  expect(edited).not.toBe(original);
  writeFileSync(join(dir, REGISTRY_FILE), edited);
  copyFileSync(join(REFERENCE_DIR, LEGACY_FILE), join(dir, LEGACY_FILE));
  return dir;
}

describe('maritime registry API', () => {
  it('lists every ship through the allShips fallback without a filter', async () => {
    const { res, json } = await getJson(`${shipyard.registryUrl}/ships`);

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(json).toEqual([NORTHERN_STAR_SUMMARY, PACIFIC_DAWN_SUMMARY]);
    expect(shipyard.requests[0]).toMatchObject({
      operationId: 'list-ships',
      example: 'allShips',
    });
  });

  it('returns only active ships for status=active', async () => {
    const { json } = await getJson(`${shipyard.registryUrl}/ships?status=active`);

    expect(json).toEqual([NORTHERN_STAR_SUMMARY]);
    const ships = json as Array<{ operational_status: string }>;
    expect(ships.every((s) => s.operational_status === 'active')).toBe(true);
  });

  it('returns only ships in maintenance for status=maintenance', async () => {
    const { json } = await getJson(
      `${shipyard.registryUrl}/ships?status=maintenance`);

    expect(json).toEqual([PACIFIC_DAWN_SUMMARY]);
  });

  it('falls back to allShips for a status value with no example', async () => {
    const { json } = await getJson(
      `${shipyard.registryUrl}/ships?status=decommissioned`);

    expect(json).toEqual([NORTHERN_STAR_SUMMARY, PACIFIC_DAWN_SUMMARY]);
  });

  it('returns the full detail of a ship by IMO number', async () => {
    const { res, json } = await getJson(
      `${shipyard.registryUrl}/ships/IMO-9321483`);

    expect(res.status).toBe(200);
    expect(json).toEqual({
      ...NORTHERN_STAR_SUMMARY,
      year_built: 2015,
      gross_tonnage: 42000,
      dimensions: { length_overall: 229, beam: 32, draft: 12.5 },
      assignedCrew: ['CREW-001', 'CREW-003'],
    });
  });

  it('dispatches the second ship on its own path part', async () => {
    const { json } = await getJson(`${shipyard.registryUrl}/ships/IMO-9456781`);

    expect(json).toMatchObject({
      ...PACIFIC_DAWN_SUMMARY,
      year_built: 2018,
      gross_tonnage: 55000,
      assignedCrew: ['CREW-002', 'CREW-004'],
    });
  });

  it('answers an unknown IMO number with the notFound example', async () => {
    const { res, json } = await getJson(
      `${shipyard.registryUrl}/ships/IMO-0000000`);

    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(json).toEqual({
      error: 'not_found',
      message: 'Ship with IMO number IMO-0000000 not found',
    });
  });

  it('creates a voyage, echoing the request body into the template', async () => {
    const { res, json } = await getJson(`${shipyard.registryUrl}/voyages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(VOYAGE_REQUEST),
    });

    expect(res.status).toBe(201);
    expect(json).toEqual({
      voyageId: 'VOY-2026-042',
      shipImo: 'IMO-9321483',
      departurePort: 'Oslo',
      arrivalPort: 'Singapore',
      departureDate: '2026-04-10',
      arrivalDate: '2026-05-02',
      crewIds: ['CREW-001', 'CREW-003'],
      cargoIds: ['CARGO-2024-0451'],
      status: 'planned',
    });
    expect(shipyard.requests[0]).toMatchObject({
      operationId: 'create-voyage',
      example: 'created',
      status: 201,
    });
  });

  it('renders missing template values as empty strings', async () => {
    const { res, json } = await getJson(`${shipyard.registryUrl}/voyages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"shipImo": ',
    });

    expect(res.status).toBe(201);
    expect(json).toMatchObject({ shipImo: '', departurePort: '' });
  });

  it('serves a voyage by id and 404s an unknown one', async () => {
    const known = await getJson(`${shipyard.registryUrl}/voyages/VOY-2026-042`);
    const unknown = await getJson(
      `${shipyard.registryUrl}/voyages/VOY-1999-001`);

    expect(known.json).toMatchObject({
      voyageId: 'VOY-2026-042',
      shipImo: 'IMO-9321483',
      departureDate: '2026-04-10T08:00:00Z',
      cargoIds: ['CARGO-2024-0451'],
      status: 'planned',
    });
    expect(unknown.res.status).toBe(404);
    expect(unknown.json).toEqual({
      error: 'not_found',
      message: 'Voyage VOY-0000-000 not found',
    });
  });

  it('serves crew and cargo lists, which have no dispatcher', async () => {
    const crew = await getJson(`${shipyard.registryUrl}/crew`);
    const cargo = await getJson(`${shipyard.registryUrl}/cargo`);

    expect(crew.json).toHaveLength(4);
    expect((crew.json as unknown[])[0]).toEqual({
      crewId: 'CREW-001',
      fullName: 'Erik Lindström',
      role: 'captain',
      certifications: ['STCW-II/2', 'GMDSS'],
    });
    expect((cargo.json as Array<{ cargoId: string }>).map((c) => c.cargoId))
      .toEqual(['CARGO-2024-0451', 'CARGO-2024-0452', 'CARGO-2024-0453']);
  });
});

describe('legacy dockyard API', () => {
  it('lists vessels as XML', async () => {
    const res = await fetch(`${shipyard.legacyUrl}/vessels`);
    const text = await res.text();

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/xml');
    expect(text.startsWith('<vessels>')).toBe(true);
    expect(text).toContain('<vesselCode>LEGACY-4012</vesselCode>');
    expect(text).toContain('<vesselCode>LEGACY-2087</vesselCode>');
  });

  it('filters vessels on status through URI_PARAMS', async () => {
    const active = await fetch(`${shipyard.legacyUrl}/vessels?status=active`);
    const laidUp = await fetch(`${shipyard.legacyUrl}/vessels?status=laid_up`);
    const activeText = await active.text();
    const laidUpText = await laidUp.text();

    expect(activeText).toContain('LEGACY-4012');
    expect(activeText).not.toContain('LEGACY-2087');
    expect(laidUpText).toContain('<vesselName>Iron Maiden</vesselName>');
    expect(laidUpText).not.toContain('LEGACY-4012');
  });

  it('returns a vessel by code and the XML 404 for an unknown one', async () => {
    const known = await fetch(`${shipyard.legacyUrl}/vessels/LEGACY-4012`);
    const unknown = await fetch(`${shipyard.legacyUrl}/vessels/LEGACY-9999`);

    expect(await known.text()).toContain('<homePort>Liverpool</homePort>');
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toBe('application/xml');
    expect(await unknown.text()).toContain(
      '<message>Vessel LEGACY-0000 not found</message>');
  });

  it('lists personnel as XML', async () => {
    const res = await fetch(`${shipyard.legacyUrl}/personnel`);

    expect(await res.text()).toContain('<emp_id>EMP-302</emp_id>');
  });
});

describe('request recording', () => {
  it('records method, raw target, raw headers and body text', async () => {
    await fetch(`${shipyard.registryUrl}/voyages?trace=1`, {
      method: 'POST',
      headers: {
        Authorization: 'Bearer dummy-token',
        'Registry-Version': '1.0.0-alpha2',
        'content-type': 'application/json',
      },
      body: JSON.stringify(VOYAGE_REQUEST),
    });
    await fetch(`${shipyard.legacyUrl}/vessels?status=active`, {
      headers: { 'X-Dock-Key': 'dummy-dockyard-key' },
    });

    const [voyage, vessels] = shipyard.requests;
    expect(shipyard.requests).toHaveLength(2);
    expect(voyage).toMatchObject({
      api: 'registry',
      method: 'POST',
      target:
        '/rest/naftiko-shipyard-maritime-registry-api/1.0.0-alpha2/voyages?trace=1',
      body: JSON.stringify(VOYAGE_REQUEST),
    });
    expect(voyage!.headers['authorization']).toBe('Bearer dummy-token');
    expect(voyage!.rawHeaders).toContain('Registry-Version');
    expect(JSON.parse(voyage!.body)).toEqual(VOYAGE_REQUEST);
    expect(vessels).toMatchObject({
      api: 'legacy',
      method: 'GET',
      operationId: 'list-vessels',
      example: '?status=active',
      body: '',
    });
    expect(vessels!.headers['x-dock-key']).toBe('dummy-dockyard-key');
  });

  it('clear() empties the same array the caller holds', async () => {
    const held = shipyard.requests;
    await fetch(`${shipyard.registryUrl}/crew`);

    shipyard.clear();

    expect(held).toBe(shipyard.requests);
    expect(held).toHaveLength(0);
  });

  it('records and 404s a path under neither API', async () => {
    const res = await fetch(`${shipyard.registryUrl.replace(/\/rest\/.*/, '')}/nowhere`);

    expect(res.status).toBe(404);
    expect(shipyard.requests[0]).toMatchObject({
      api: null,
      operationId: null,
      target: '/nowhere',
    });
  });

  it('answers 405 for a known path with an undeclared method', async () => {
    const res = await fetch(`${shipyard.registryUrl}/ships`, { method: 'DELETE' });

    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
  });
});
