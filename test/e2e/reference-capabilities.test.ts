import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { sendJson, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { serveForTest } from '../support/serve.js';
import { REFERENCE, referenceAvailable } from '../support/tutorial.js';

/**
 * Every whole capability the reference engine ships (not the consumes-only
 * imports) loads in strict mode and serves; the ones the engine's own tests
 * use as invalid examples, and those using a feature we refuse, fail with
 * our code. docs/conformance.md lists the refusals with their reasons.
 */
const ROOT = join(REFERENCE, 'capabilities/reference-engine');

/** Files expected to be refused, with the code and the reason. */
const REFUSED: Record<string, { code: string; reason: RegExp }> = {
  'test/resources/aggregates/aggregate-invalid-ref.yaml': { code: 'CAP_SPEC_REF', reason: /unknown\.nonexistent/ },
  'main/resources/schemas/examples/script-step.yml': { code: 'CAP_SPEC_UNSUPPORTED', reason: /script step "filter-active" cannot run/ },
  'test/resources/formats/avro-capability.yaml': { code: 'CAP_SPEC_UNSUPPORTED', reason: /returns avro, which this runtime cannot decode/ },
  'test/resources/formats/proto-capability.yaml': { code: 'CAP_SPEC_UNSUPPORTED', reason: /returns protobuf, which this runtime cannot decode/ },
};

function walk(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : /\.ya?ml$/.test(f) ? [p] : [];
  });
}

const files = referenceAvailable()
  ? walk(ROOT).filter((f) => (parse(readFileSync(f, 'utf8')) as { capability?: unknown } | null)?.capability !== undefined)
  : [];
if (files.length === 0) {
  console.error('\n!!! reference capabilities DID NOT RUN: ../shared/reference is missing !!!\n');
  if (process.env.CI === 'true') throw new Error('../shared/reference is required on CI');
}

let upstream: FakeUpstream;
beforeAll(async () => {
  upstream = await startFakeUpstream((_req, res) => sendJson(res, 200, { ok: true }));
});
afterAll(async () => upstream?.close());

function namespaces(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/namespace:\s*["']?([A-Za-z0-9-]+)/g)].map((m) => m[1]!);
}

describe.runIf(files.length > 0)('reference-engine capabilities in strict mode', () => {
  it('finds the 45 whole capabilities the engine ships', () => {
    expect(files).toHaveLength(45);
  });

  it.each(files.map((f) => [relative(ROOT, f), f]))('%s', async (name, file) => {
    const baseUris = Object.fromEntries(namespaces(file).map((ns) => [ns, upstream.url]));
    const env = { ...process.env, API_TOKEN: 'token', MY_TOKEN: 'token', NOTION_TOKEN: 'token', GITHUB_TOKEN: 'token' };
    const refused = REFUSED[name];
    if (refused !== undefined) {
      await expect(serveForTest(file, baseUris, { strict: true, env })).rejects.toMatchObject({ code: refused.code, message: expect.stringMatching(refused.reason) });
      return;
    }
    const served = await serveForTest(file, baseUris, { strict: true, env });
    try {
      expect(served.running.adapters.length).toBeGreaterThan(0);
      for (const adapter of served.running.adapters.filter((a) => a.url.startsWith('http'))) {
        const res = await fetch(`${adapter.url}/`, { headers: { accept: 'application/json' } });
        expect(res.status, `${adapter.type} ${adapter.url}`).toBeLessThan(500);
        await res.arrayBuffer();
      }
      if (name.endsWith('control-scripting-capability.yaml')) {
        // Script steps are refused, so the scripting endpoint is not served.
        const control = served.running.adapters.find((a) => a.type === 'control')!;
        const scripting = await fetch(`${control.url}/scripting`);
        expect(scripting.status).toBe(404);
        expect(((await scripting.json()) as { code: string }).code).toBe('CAP_ROUTE_NOT_FOUND');
      }
    } finally {
      await served.running.close();
    }
  });
});
