import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateDocument, type SchemaFinding } from '../../../src/spec/schema.js';
import { parseSource } from '../../../src/spec/source.js';

const FIXTURES = new URL('../../fixtures/specs/schema/', import.meta.url);
const GENERATED_FIXTURE = new URL('prefect-download.generated.yaml', FIXTURES);
const GENERATED_REFERENCE = new URL(
  '../../../../shared/reference/capabilities/generated/prefect-download.yaml',
  import.meta.url,
);

function load(url: URL): unknown {
  return parseSource(url.pathname, readFileSync(url)).value;
}

/** A fresh copy of the minimal valid capability, to break on purpose. */
function minimal(): Record<string, any> {
  return load(new URL('minimal-capability.yaml', FIXTURES)) as Record<string, any>;
}

/**
 * The five causes spec notes §6.1 lists for the generated Prefect file. One
 * finding per cause occurrence: consumed parameters count once per offending
 * parameter (its `type`, `required` and `description` keys are one cause),
 * located at the first offending key.
 */
const CAUSE_LOCATIONS: ReadonlyArray<readonly [string, RegExp]> = [
  ['empty-base-uri', /^\/capability\/consumes\/0\/baseUri$/],
  ['underscore-resource-name', /^\/capability\/consumes\/0\/resources\/\d+\/name$/],
  [
    'typed-consumed-parameter',
    /^\/capability\/consumes\/0\/resources\/\d+\/operations\/0\/inputParameters\/\d+\/type$/,
  ],
  ['rest-adapter-description', /^\/capability\/exposes\/0\/description$/],
  [
    'pass-through-output',
    /^\/capability\/exposes\/0\/resources\/\d+\/operations\/0\/outputParameters\/0$/,
  ],
  ['pass-through-output', /^\/capability\/exposes\/1\/tools\/\d+\/outputParameters\/0$/],
];

function classify(finding: SchemaFinding): string {
  const match = CAUSE_LOCATIONS.find(([, pattern]) => pattern.test(finding.pointer));
  return match?.[0] ?? `unexpected ${finding.pointer}`;
}

function countBy(findings: SchemaFinding[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const finding of findings) counts[classify(finding)] = (counts[classify(finding)] ?? 0) + 1;
  return counts;
}

const EXPECTED_CAUSES = {
  'empty-base-uri': 1,
  'underscore-resource-name': 3,
  'typed-consumed-parameter': 21,
  'rest-adapter-description': 1,
  'pass-through-output': 6,
};

describe('validateDocument on the generated Prefect capability', () => {
  const doc = load(GENERATED_FIXTURE);

  it('uses a verbatim copy of the reference file', () => {
    if (!existsSync(GENERATED_REFERENCE)) return;
    expect(readFileSync(GENERATED_FIXTURE, 'utf8')).toBe(readFileSync(GENERATED_REFERENCE, 'utf8'));
  });

  it('reports exactly the five known causes in strict mode, 1 + 3 + 21 + 1 + 6 findings', () => {
    const findings = validateDocument(doc, 'strict');

    expect(countBy(findings)).toEqual(EXPECTED_CAUSES);
    expect(findings).toHaveLength(32);
    for (const finding of findings) {
      expect(finding).toMatchObject({ severity: 'error', code: 'CAP_SPEC_INVALID' });
    }
  });

  it('names the offending field and the official form in strict messages', () => {
    const findings = validateDocument(doc, 'strict');
    const limit = findings.find((f) => f.pointer.endsWith('/inputParameters/13/type'));

    expect(limit?.message).toContain('consumed parameter `limit` declares `type`, `description`');
    expect(limit?.message).toContain('the official form is {name, in, value}');
    const baseUri = findings.find((f) => f.pointer === '/capability/consumes/0/baseUri');
    expect(baseUri?.message).toContain('`prefect-download` has an empty `baseUri`');
  });

  it('accepts the file in default mode with one dialect warning per construct', () => {
    const findings = validateDocument(doc, 'default');

    expect(findings.filter((f) => f.severity === 'error')).toEqual([]);
    for (const finding of findings) {
      expect(finding).toMatchObject({ severity: 'warning', code: 'CAP_SPEC_DIALECT' });
    }
    expect(countBy(findings)).toEqual(EXPECTED_CAUSES);
  });

  it('says in each warning what the official form would be', () => {
    const findings = validateDocument(doc, 'default');
    const limit = findings.find((f) =>
      f.pointer.endsWith('/resources/1/operations/0/inputParameters/13/type'),
    );

    expect(limit?.message).toBe(
      'consumed parameter `limit` declares `type`, `description`; the official form is ' +
        '{name, in, value}; move typing to the exposed parameter',
    );
    for (const finding of findings) expect(finding.message).toContain('the official form is');
  });
});

describe('validateDocument messages', () => {
  it('accepts the minimal fixture in both profiles', () => {
    expect(validateDocument(minimal(), 'strict')).toEqual([]);
    expect(validateDocument(minimal(), 'default')).toEqual([]);
  });

  it('suggests the right name for a misspelled property and points at that property', () => {
    const doc = minimal();
    doc.info.lable = doc.info.label;
    delete doc.info.label;

    const findings = validateDocument(doc, 'strict');

    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      severity: 'error',
      code: 'CAP_SPEC_INVALID',
      pointer: '/info/lable',
    });
    expect(findings[0]?.message).toContain('did you mean `label`?');
  });

  it('does not also report a required property that a did-you-mean already names', () => {
    const doc = minimal();
    const tool = doc.capability.exposes[1].tools[0];
    tool.descripton = tool.description;
    delete tool.description;

    const findings = validateDocument(doc, 'strict');

    expect(findings).toHaveLength(1);
    expect(findings[0]?.pointer).toBe('/capability/exposes/1/tools/0/descripton');
    expect(findings[0]?.message).toContain('did you mean `description`?');
  });

  it('suggests the closest value for a misspelled enum value', () => {
    const doc = minimal();
    doc.capability.consumes[0].resources[0].operations[0].method = 'GTE';

    const findings = validateDocument(doc, 'default');

    expect(findings).toHaveLength(1);
    expect(findings[0]?.pointer).toBe('/capability/consumes/0/resources/0/operations/0/method');
    expect(findings[0]?.message).toContain('did you mean `GET`?');
  });

  it('suggests the adapter type and reports nothing else about that adapter', () => {
    const doc = minimal();
    doc.capability.exposes[1].type = 'mpc';

    const findings = validateDocument(doc, 'strict');

    expect(findings).toHaveLength(1);
    expect(findings[0]?.pointer).toBe('/capability/exposes/1/type');
    expect(findings[0]?.message).toContain('did you mean `mcp`?');
  });

  it('reports a wrong spec version with CAP_SPEC_VERSION', () => {
    const doc = minimal();
    doc.naftiko = '1.0.0-alpha1';

    const findings = validateDocument(doc, 'default');

    expect(findings).toEqual([
      expect.objectContaining({ code: 'CAP_SPEC_VERSION', pointer: '/naftiko', severity: 'error' }),
    ]);
    expect(findings[0]?.message).toContain('1.0.0-alpha2');
  });

  it('reports a missing spec version with CAP_SPEC_VERSION at the root', () => {
    const doc = minimal();
    delete doc.naftiko;

    expect(validateDocument(doc, 'strict')).toEqual([
      expect.objectContaining({ code: 'CAP_SPEC_VERSION', pointer: '' }),
    ]);
  });

  it('reports one cause for an invalid tool output, not every alternative of the tool', () => {
    const doc = minimal();
    const output = { type: 'string', mapping: '$.a', value: 'x' };
    doc.capability.exposes[1].tools[0].outputParameters = [output];

    const findings = validateDocument(doc, 'strict');

    expect(findings).toHaveLength(1);
    expect(findings[0]?.pointer).toBe('/capability/exposes/1/tools/0/outputParameters/0');
    expect(findings[0]?.message).toContain('exactly one of `mapping`');
  });

  it('explains an MCP tool that has no way to produce a result', () => {
    const doc = minimal();
    delete doc.capability.exposes[1].tools[0].call;
    delete doc.capability.exposes[1].tools[0].outputParameters;

    const findings = validateDocument(doc, 'strict');

    expect(findings).toHaveLength(1);
    expect(findings[0]?.pointer).toBe('/capability/exposes/1/tools/0');
    expect(findings[0]?.message).toContain('one of `call`, `steps`, `ref`');
  });

  it('follows the steps alternative of a REST operation when steps are present', () => {
    const doc = minimal();
    const operation = doc.capability.exposes[0].resources[0].operations[0];
    delete operation.call;
    operation.steps = [{ type: 'call', name: 'fetch', call: 'harbour.get-berth' }];
    operation.outputParameters = [{ name: 'id', type: 'string' }];

    const findings = validateDocument(doc, 'strict');

    expect(findings).toHaveLength(1);
    expect(findings[0]?.pointer).toBe('/capability/exposes/0/resources/0/operations/0');
    expect(findings[0]?.message).toContain('`name`');
  });

  it('rejects a stdio MCP adapter that declares a port', () => {
    const doc = minimal();
    doc.capability.exposes[1].transport = 'stdio';

    const findings = validateDocument(doc, 'strict');

    expect(findings).toHaveLength(1);
    expect(findings[0]?.pointer).toBe('/capability/exposes/1');
    expect(findings[0]?.message).toContain('stdio');
  });

  it('reports a real error and a dialect warning side by side in default mode', () => {
    const doc = minimal();
    doc.capability.consumes[0].baseUri = '';
    doc.capability.exposes[0].port = 'eighty';

    const findings = validateDocument(doc, 'default');

    expect(findings).toEqual([
      expect.objectContaining({
        severity: 'error',
        code: 'CAP_SPEC_INVALID',
        pointer: '/capability/exposes/0/port',
      }),
      expect.objectContaining({
        severity: 'warning',
        code: 'CAP_SPEC_DIALECT',
        pointer: '/capability/consumes/0/baseUri',
      }),
    ]);
    expect(findings[0]?.message).toContain('must be an integer');
  });

  it('keeps a dialect-shaped key that still breaks the dialect as an error', () => {
    const doc = minimal();
    doc.capability.consumes[0].resources[0].operations[0].inputParameters[0].type = 'text';

    const strict = validateDocument(doc, 'strict');
    const lenient = validateDocument(doc, 'default');

    const pointer = '/capability/consumes/0/resources/0/operations/0/inputParameters/0/type';
    expect(strict).toEqual([expect.objectContaining({ severity: 'error', pointer })]);
    expect(strict[0]?.message).toContain('unknown property `type`');
    expect(lenient).toEqual([expect.objectContaining({ severity: 'error', pointer })]);
    expect(lenient[0]?.message).toContain('`text`');
  });

  it('accepts an array pass-through output only in default mode', () => {
    const doc = minimal();
    doc.capability.exposes[1].tools[0].outputParameters = [{ type: 'array', mapping: '$.rows' }];
    const pointer = '/capability/exposes/1/tools/0/outputParameters/0';

    expect(validateDocument(doc, 'strict')).toEqual([
      expect.objectContaining({ severity: 'error', code: 'CAP_SPEC_INVALID', pointer }),
    ]);
    const warnings = validateDocument(doc, 'default');
    expect(warnings).toEqual([
      expect.objectContaining({ severity: 'warning', code: 'CAP_SPEC_DIALECT', pointer }),
    ]);
    expect(warnings[0]?.message).toContain('with no `items`');
  });

  it('reports a non-object document as one error at the root', () => {
    expect(validateDocument('naftiko', 'strict')).toEqual([
      expect.objectContaining({ code: 'CAP_SPEC_INVALID', pointer: '' }),
    ]);
  });
});
