import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCapability, validateFile } from '../../../src/spec/loader.js';

const HEAD = 'naftiko: "1.0.0-alpha2"\n';

/** Writes the files (the first is the one validated) and returns its diagnostics. */
async function diagnose(files: Record<string, string>, strict = false) {
  const dir = mkdtempSync(join(tmpdir(), 'naftiko-semantics-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const report = await validateFile(join(dir, Object.keys(files)[0]!), { strict });
  return report.diagnostics.map((d) => ({ ...d, file: d.file.slice(dir.length + 1) }));
}

const codes = (ds: { severity: string; code: string }[], severity = 'error') =>
  ds.filter((d) => d.severity === severity).map((d) => d.code);

const REGISTRY = `  consumes:
    - type: http
      namespace: registry
      baseUri: "https://registry.example.com"
      resources:
        - name: ship
          path: "/ships/{{imo}}"
          operations:
            - name: get-ship
              method: GET
              inputParameters:
                - name: verbose
                  in: query
`;

function mcp(tool: string, namespace = 'fleet'): string {
  return `  exposes:
    - type: mcp
      namespace: ${namespace}
      port: 3001
      tools:
${tool.replace(/^/gm, '        ')}
`;
}

function rest(operation: string, path = '/ships/{imo}', resourceInputs = ''): string {
  return `  exposes:
    - type: rest
      namespace: fleet-rest
      port: 8080
      resources:
        - path: "${path}"
${resourceInputs}          operations:
${operation.replace(/^/gm, '            ')}
`;
}

const TOOL = `- name: get-ship
  description: "One ship"
  inputParameters:
    - {name: imo, type: string, description: "IMO"}
  call: registry.get-ship
  with:
    imo: fleet.imo`;

describe('semantic stage: what a valid file looks like', () => {
  it('accepts a tool whose call, with keys, input references and path parameters all line up', async () => {
    expect(await diagnose({ 'c.yaml': `${HEAD}capability:\n${REGISTRY}${mcp(TOOL)}` })).toEqual([]);
  });

  it('takes a path parameter from an input of the same name, without `with`', async () => {
    const tool = TOOL.replace(/\n {2}with:\n {4}imo: fleet.imo/, '');
    expect(await diagnose({ 'c.yaml': `${HEAD}capability:\n${REGISTRY}${mcp(tool)}` })).toEqual([]);
  });

  it('takes a path parameter from a bind variable of the same name', async () => {
    const binds = 'binds:\n  - namespace: env\n    keys:\n      FLEET_ID: FLEET_ID\n';
    const consumes = REGISTRY.replace('/ships/{{imo}}', '/fleets/{{FLEET_ID}}/ships');
    const tool = '- name: get-ship\n  description: "One ship"\n  inputParameters: []\n  call: registry.get-ship';
    expect(await diagnose({ 'c.yaml': `${HEAD}${binds}capability:\n${consumes}${mcp(tool)}` })).toEqual([]);
    expect(codes(await diagnose({ 'c.yaml': `${HEAD}capability:\n${consumes}${mcp(tool)}` }))).toEqual(['CAP_SPEC_PATH_PARAM']);
  });

  it('lets later steps read earlier answers as {{step}} and {{step.field}}', async () => {
    const tool = `- name: two-ships
  description: "Two ships"
  inputParameters:
    - {name: imo, type: string, description: "IMO"}
  steps:
    - type: call
      name: first
      call: registry.get-ship
      with:
        imo: fleet.imo
    - type: call
      name: second
      call: registry.get-ship
      with:
        imo: "{{first.sisterShip}}"
  mappings:
    - targetName: sister
      value: "$.second.name"
  outputParameters:
    - {name: sister, type: string}`;
    expect(await diagnose({ 'c.yaml': `${HEAD}capability:\n${REGISTRY}${mcp(tool)}` })).toEqual([]);
  });

  it('accepts bind variables as {{KEY}} and {{namespace.KEY}}', async () => {
    const binds = 'binds:\n  - namespace: env\n    keys:\n      TOKEN: TOKEN\n';
    const auth = '      authentication:\n        type: bearer\n        token: "{{env.TOKEN}}"\n      resources:\n';
    const consumes = REGISTRY.replace('      resources:\n', auth);
    const inbound = mcp(TOOL).replace('      port: 3001\n', '      port: 3001\n      authentication:\n        type: bearer\n        token: "{{TOKEN}}"\n');
    expect(await diagnose({ 'c.yaml': `${HEAD}${binds}capability:\n${consumes}${inbound}` })).toEqual([]);
  });

  it('resolves calls through an imported namespace renamed with `as`', async () => {
    const shared = `${HEAD}${REGISTRY.replace('  consumes:\n', 'consumes:\n').replace(/^ {2}/gm, '')}`;
    const main = `${HEAD}capability:\n  consumes:\n    - location: ./shared/registry.yaml\n      import: registry\n      as: reg\n${mcp(TOOL.replace('registry.get-ship', 'reg.get-ship'))}`;
    expect(await diagnose({ 'c.yaml': main, 'shared/registry.yaml': shared })).toEqual([]);
  });
});

describe('semantic stage: the generated dialect and --strict', () => {
  const dialectOperation = '- method: GET\n  call: registry.get-ship\n  with:\n    imo: rest.imo';

  it('accepts rest.X on a REST operation without declared inputs (implicit inputs)', async () => {
    expect(await diagnose({ 'c.yaml': `${HEAD}capability:\n${REGISTRY}${rest(dialectOperation)}` })).toEqual([]);
  });

  it('with --strict, rest.X is literal text: a warning, and the path parameter still comes from `with`', async () => {
    const ds = await diagnose({ 'c.yaml': `${HEAD}capability:\n${REGISTRY}${rest(dialectOperation)}` }, true);
    expect(codes(ds)).toEqual([]);
    expect(codes(ds, 'warning')).toEqual(['CAP_SPEC_INPUT']);
    expect(ds[0]!.message).toContain('literal text');
  });

  it('with --strict, <namespace>.X on a REST operation without declared inputs names nothing', async () => {
    const operation = dialectOperation.replace('rest.imo', 'fleet-rest.imo');
    expect(codes(await diagnose({ 'c.yaml': `${HEAD}capability:\n${REGISTRY}${rest(operation)}` }))).toEqual([]);
    expect(codes(await diagnose({ 'c.yaml': `${HEAD}capability:\n${REGISTRY}${rest(operation)}` }, true))).toEqual(['CAP_SPEC_INPUT']);
  });

  it('warns that tools.X on a REST operation is sent as literal text', async () => {
    const operation = dialectOperation.replace('rest.imo', 'tools.imo');
    const ds = await diagnose({ 'c.yaml': `${HEAD}capability:\n${REGISTRY}${rest(operation)}` });
    expect(codes(ds)).toEqual([]);
    expect(ds.map((d) => d.message)).toEqual([expect.stringContaining('write `rest.imo`')]);
  });

  it('treats a single-brace consumed path variable as a parameter only in the dialect', async () => {
    const consumes = REGISTRY.replace('/ships/{{imo}}', '/ships/{imo}');
    const tool = '- name: get-ship\n  description: "One ship"\n  call: registry.get-ship';
    expect(codes(await diagnose({ 'c.yaml': `${HEAD}capability:\n${consumes}${mcp(tool)}` }))).toEqual(['CAP_SPEC_PATH_PARAM']);
    expect(codes(await diagnose({ 'c.yaml': `${HEAD}capability:\n${consumes}${mcp(tool)}` }, true))).toEqual([]);
  });

  it('in the dialect, a {{X}} with value must still name an input the operation receives', async () => {
    const operation = '- method: GET\n  call: registry.get-ship\n  with:\n    imo: rest.imo\n    verbose: "{{verbose}}"';
    const ds = await diagnose({ 'c.yaml': `${HEAD}capability:\n${REGISTRY}${rest(operation)}` });
    expect(codes(ds)).toEqual(['CAP_SPEC_TEMPLATE']);
  });
});

describe('semantic stage: warnings that do not make a file invalid', () => {
  it('warns about `with` keys of an operation that declares no parameters at all', async () => {
    const consumes = REGISTRY.replace('/ships/{{imo}}', '/ships').replace(/ {14}inputParameters:\n.*\n.*\n/, '');
    const ds = await diagnose({ 'c.yaml': `${HEAD}capability:\n${consumes}${mcp(TOOL)}` });
    expect(codes(ds)).toEqual([]);
    expect(codes(ds, 'warning')).toEqual(['CAP_SPEC_WITH']);
  });

  it('warns about the retired $this.<namespace>.X syntax', async () => {
    const ds = await diagnose({ 'c.yaml': `${HEAD}capability:\n${REGISTRY}${mcp(TOOL.replace('fleet.imo', '$this.fleet.imo'))}` });
    expect(codes(ds)).toEqual([]);
    expect(ds.map((d) => d.message)).toEqual([expect.stringContaining('retired v0.4 syntax')]);
  });

  it('warns about a prompt placeholder that names no argument', async () => {
    const prompts = '      prompts:\n        - name: p\n          label: P\n          description: "A prompt"\n          arguments:\n            - {name: ship, description: "Ship"}\n          template:\n            - {role: user, content: "Tell me about {{ship}} and {{shipp}}"}\n';
    const ds = await diagnose({ 'c.yaml': `${HEAD}capability:\n${REGISTRY}${mcp(TOOL)}${prompts}` });
    expect(codes(ds)).toEqual([]);
    expect(ds.map((d) => d.message)).toEqual([expect.stringContaining('did you mean `ship`?')]);
  });

  it('warns that an adapter-looking or bind-looking with value is literal text', async () => {
    const binds = 'binds:\n  - namespace: env\n    keys:\n      TOKEN: TOKEN\n';
    const tool = TOOL.replace('imo: fleet.imo', 'imo: fleet.imo\n    verbose: env.TOKEN');
    const ds = await diagnose({ 'c.yaml': `${HEAD}${binds}capability:\n${REGISTRY}${mcp(tool)}` });
    expect(codes(ds)).toEqual([]);
    expect(ds.map((d) => d.message)).toEqual([expect.stringContaining('write `{{env.TOKEN}}`')]);
  });
});

describe('semantic stage: consumed parameter values', () => {
  const binds = 'binds:\n  - namespace: env\n    keys:\n      TOKEN: TOKEN\n';
  const header = (value: string) =>
    `      inputParameters:\n        - {name: Authorization, in: header, value: "${value}"}\n      resources:\n`;
  const withHeader = (value: string) => REGISTRY.replace('      resources:\n', header(value));
  const where = (ds: { severity: string; code: string; file: string; line: number; column: number }[]) =>
    ds.map((d) => `${d.severity} ${d.code} ${d.file}:${d.line}:${d.column}`);

  it('warns at the value when a consumes-level value names nothing a call could supply, with a did-you-mean', async () => {
    const ds = await diagnose({ 'c.yaml': `${HEAD}${binds}capability:\n${withHeader('Bearer {{TOKNE}}')}${mcp(TOOL)}` });
    expect(where(ds)).toEqual(['warning CAP_SPEC_TEMPLATE c.yaml:12:52']);
    expect(ds[0]!.message).toContain('consumed parameter `Authorization`');
    expect(ds[0]!.message).toContain('did you mean `{{TOKEN}}`?');
  });

  it('warns about resource-level and operation-level values too', async () => {
    const resource = REGISTRY.replace('          operations:\n', '          inputParameters:\n            - {name: X-Key, in: header, value: "{{TOKNE}}"}\n          operations:\n');
    const operation = REGISTRY.replace('                  in: query\n', '                  in: query\n                - {name: X-Key, in: header, value: "{{env.TOKNE}}"}\n');
    const a = await diagnose({ 'c.yaml': `${HEAD}${binds}capability:\n${resource}${mcp(TOOL)}` });
    const b = await diagnose({ 'c.yaml': `${HEAD}${binds}capability:\n${operation}${mcp(TOOL)}` });
    expect(where(a)).toEqual(['warning CAP_SPEC_TEMPLATE c.yaml:15:48']);
    expect(where(b)).toEqual(['warning CAP_SPEC_TEMPLATE c.yaml:20:52']);
    expect(b[0]!.message).toContain('did you mean `{{env.TOKEN}}`?');
  });

  it('accepts a value that names a bind, a parameter, a `with` key or an exposed input', async () => {
    for (const value of ['Bearer {{TOKEN}}', '{{env.TOKEN}}', '{{verbose}}', '{{imo}}', '{{trace}}', '{{region}}']) {
      // `trace` reaches the operation only through this very value (rule W).
      const tool = value === '{{trace}}' ? TOOL.replace('  with:\n', '  with:\n    trace: "x"\n') : TOOL;
      const other = '        - name: t\n          description: "T"\n          inputParameters:\n' +
        '            - {name: imo, type: string, description: "I"}\n' +
        '            - {name: region, type: string, description: "R"}\n          call: registry.get-ship\n';
      const exposed = `${mcp(tool)}    - type: mcp\n      namespace: other\n      port: 3002\n      tools:\n${other}`;
      const text = `${HEAD}${binds}capability:\n${withHeader(value)}${exposed}`;
      expect(where(await diagnose({ 'c.yaml': text })), value).toEqual([]);
    }
  });

  it('reports an imported value against the importer, in the imported file', async () => {
    const shared = `${HEAD}${withHeader('{{TOKNE}}').replace('  consumes:\n', 'consumes:\n').replace(/^ {2}/gm, '')}`;
    const main = `${HEAD}${binds}capability:\n  consumes:\n    - {location: ./shared.yaml, import: registry}\n${mcp(TOOL)}`;
    expect(where(await diagnose({ 'c.yaml': main, 'shared.yaml': shared }))).toEqual(['warning CAP_SPEC_TEMPLATE shared.yaml:7:50']);
    const twice = main.replace('import: registry}\n', 'import: registry}\n    - {location: ./shared.yaml, import: registry, as: again}\n');
    expect(where(await diagnose({ 'c.yaml': twice, 'shared.yaml': shared }))).toEqual(['warning CAP_SPEC_TEMPLATE shared.yaml:7:50']);
  });
});

describe('semantic stage: duplicate routes', () => {
  const operation = '- {method: GET, call: registry.get-ship, with: {imo: rest.imo}}';

  it('prints both routes as written when two paths match the same requests', async () => {
    const other = `        - path: "/ships/{{id}}"\n          operations:\n            - {method: GET, call: registry.get-ship, with: {imo: rest.id}}\n`;
    const ds = await diagnose({ 'c.yaml': `${HEAD}capability:\n${REGISTRY}${rest(operation)}${other}` });
    expect(ds.map((d) => `${d.code} ${d.line}:${d.column}`)).toEqual(['CAP_SPEC_DUPLICATE 26:24']);
    expect(ds[0]!.message).toBe('route `GET /ships/{{id}}` matches the same requests as `GET /ships/{imo}`, served at ' +
      '`capability.exposes[0].resources[0].operations[0].method`; the second can never be reached');
  });

  it('says "already served" when the route is written the same way twice', async () => {
    const ds = await diagnose({ 'c.yaml': `${HEAD}capability:\n${REGISTRY}${rest(`${operation}\n${operation}`)}` });
    expect(ds.map((d) => `${d.code} ${d.line}:${d.column}`)).toEqual(['CAP_SPEC_DUPLICATE 24:24']);
    expect(ds[0]!.message).toBe('route `GET /ships/{imo}` is already served at ' +
      '`capability.exposes[0].resources[0].operations[0].method`; the second can never be reached');
  });
});

describe('semantic stage: one message per cause', () => {
  it('does not also report calls into a namespace whose import failed', async () => {
    const main = `${HEAD}capability:\n  consumes:\n    - location: ./missing.yaml\n      import: registry\n${mcp(TOOL)}`;
    expect(codes(await diagnose({ 'c.yaml': main }))).toEqual(['CAP_SPEC_IMPORT']);
  });

  it('checks an imported file once, however often it is imported, and reports its problems there', async () => {
    const shared = `${HEAD}consumes:\n  - type: http\n    namespace: registry\n    baseUri: "https://registry.example.com"\n    resources:\n      - name: ship\n        path: /ships\n        operations:\n          - {name: list, method: GOT}\n`;
    const main = `${HEAD}capability:\n  consumes:\n    - {location: ./shared.yaml, import: registry}\n    - {location: ./shared.yaml, import: registry, as: again}\n${mcp(TOOL)}`;
    const ds = await diagnose({ 'c.yaml': main, 'shared.yaml': shared });
    expect(ds.map((d) => `${d.code} ${d.file}:${d.line}`)).toEqual(['CAP_SPEC_INVALID shared.yaml:10']);
  });

  it('reports an imported authentication variable that no bind of the importer declares, in the imported file', async () => {
    const shared = `${HEAD}${REGISTRY.replace('  consumes:\n', 'consumes:\n').replace(/^ {2}/gm, '').replace('    resources:\n', '    authentication: {type: bearer, token: "{{TOKEN}}"}\n    resources:\n')}`;
    const main = `${HEAD}capability:\n  consumes:\n    - {location: ./shared.yaml, import: registry}\n${mcp(TOOL)}`;
    const ds = await diagnose({ 'c.yaml': main, 'shared.yaml': shared });
    expect(ds.map((d) => `${d.code} ${d.file}:${d.line}:${d.column}`)).toEqual(['CAP_SPEC_TEMPLATE shared.yaml:6:43']);
    expect(ds[0]!.message).toContain('importing capability');
  });

  it('accepts an authentication variable that every caller provides as an input', async () => {
    const consumes = REGISTRY.replace('      resources:\n', '      authentication: {type: bearer, token: "{{api_key}}"}\n      resources:\n');
    const tool = TOOL.replace('    - {name: imo', '    - {name: api_key, type: string, description: "Key"}\n    - {name: imo');
    expect(await diagnose({ 'c.yaml': `${HEAD}capability:\n${consumes}${mcp(tool)}` })).toEqual([]);
  });
});

describe('consumes-only documents', () => {
  const shared = `${HEAD}${REGISTRY.replace('  consumes:\n', 'consumes:\n').replace(/^ {2}/gm, '')}`;

  it('validate as such', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'naftiko-consumes-'));
    writeFileSync(join(dir, 'shared.yaml'), shared);
    const report = await validateFile(join(dir, 'shared.yaml'));
    expect(report).toMatchObject({ kind: 'consumes', valid: true, diagnostics: [] });
  });

  it('cannot be served', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'naftiko-consumes-'));
    writeFileSync(join(dir, 'shared.yaml'), shared);
    await expect(loadCapability(join(dir, 'shared.yaml'))).rejects.toMatchObject({ code: 'CAP_SPEC_CONSUMES_ONLY' });
  });

  it('report a duplicated operation name', async () => {
    const doubled = `${shared}      - name: ships\n        path: /ships\n        operations:\n          - {name: get-ship, method: GET}\n`;
    const ds = await diagnose({ 'shared.yaml': doubled });
    expect(ds.map((d) => `${d.code} ${d.line}:${d.column}`)).toEqual(['CAP_SPEC_DUPLICATE 18:20']);
  });
});

describe('loadCapability', () => {
  it('throws one error listing every diagnostic in the `validate` format', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'naftiko-load-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(file, `${HEAD}capability:\n${REGISTRY}${mcp(`${TOOL.replace('get-ship\n', 'get-shipp\n').replace('registry.get-ship', 'registry.get-shipp')}\n${TOOL}`)}`);
    const error = await loadCapability(file).catch((err: unknown) => err as Error & { code: string });
    expect(error.code).toBe('CAP_SPEC_CALL');
    expect(error.message.split('\n')).toEqual([
      `${file}: 1 error`,
      `${file}:25:17: error CAP_SPEC_CALL \`call: registry.get-shipp\`: consumed namespace \`registry\` has no operation \`get-shipp\`; did you mean \`get-ship\`? (at /capability/exposes/0/tools/0/call)`,
    ]);
  });

  it('names each distinct code in the summary line when the errors differ in kind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'naftiko-load-'));
    const file = join(dir, 'c.yaml');
    // The first tool's call is misspelled; the second repeats its name.
    writeFileSync(file, `${HEAD}capability:\n${REGISTRY}${mcp(`${TOOL.replace('registry.get-ship', 'registry.get-shipp')}\n${TOOL}`)}`);
    const error = await loadCapability(file).catch((err: unknown) => err as Error & { code: string });
    expect(error.code).toBe('CAP_SPEC_CALL');
    const lines = error.message.split('\n');
    expect(lines[0]).toBe(`${file}: 2 errors (CAP_SPEC_CALL, CAP_SPEC_DUPLICATE)`);
    expect(lines.slice(1).map((l) => l.slice(file.length).split(' ').slice(0, 3).join(' '))).toEqual([
      ':25:17: error CAP_SPEC_CALL',
      ':28:17: error CAP_SPEC_DUPLICATE',
    ]);
  });

  it('keeps the summary line to a count when every error has the same code', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'naftiko-load-'));
    const file = join(dir, 'c.yaml');
    const bad = TOOL.replace('registry.get-ship', 'registry.get-shipp');
    writeFileSync(file, `${HEAD}capability:\n${REGISTRY}${mcp(`${bad}\n${bad.replace('name: get-ship', 'name: other')}`)}`);
    const error = await loadCapability(file).catch((err: unknown) => err as Error);
    expect(error.message.split('\n')[0]).toBe(`${file}: 2 errors`);
  });

  it('freezes the loaded document', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'naftiko-load-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(file, `${HEAD}capability:\n${REGISTRY}${mcp(TOOL)}`);
    const loaded = await loadCapability(file);
    expect(Object.isFrozen(loaded.document.capability.exposes![0])).toBe(true);
    expect([...loaded.consumes.keys()]).toEqual(['registry']);
  });
});

describe('semantic stage: aggregate functions', () => {
  const aggregate = `  aggregates:
    - label: Ships
      namespace: ships
      functions:
        - name: find
          description: "One ship"
          inputParameters:
            - {name: imo, type: string, description: "IMO"}
          call: registry.get-ship
          with:
            imo: WITH_VALUE
`;
  const referrer = mcp('- name: find\n  description: "One ship"\n  ref: ships.find');

  it('accepts input references through the aggregate namespace', async () => {
    const text = `${HEAD}capability:\n${REGISTRY}${aggregate.replace('WITH_VALUE', 'ships.imo')}${referrer}`;
    expect(await diagnose({ 'c.yaml': text })).toEqual([]);
  });

  it('accepts input references through the prefix of an adapter that refers to the function', async () => {
    const text = `${HEAD}capability:\n${REGISTRY}${aggregate.replace('WITH_VALUE', 'fleet.imo')}${referrer}`;
    expect(await diagnose({ 'c.yaml': text })).toEqual([]);
  });

  it('warns when the prefix is an adapter that does not refer to the function', async () => {
    const other = referrer.replace('ref: ships.find', 'call: registry.get-ship\n          with: {imo: "1"}');
    const text = `${HEAD}capability:\n${REGISTRY}${aggregate.replace('WITH_VALUE', 'fleet.imo')}${other}`;
    const ds = await diagnose({ 'c.yaml': text });
    expect(codes(ds)).toEqual([]);
    expect(codes(ds, 'warning')).toEqual(['CAP_SPEC_INPUT']);
  });
});
