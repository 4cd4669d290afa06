// Hostile capability files are refused with a specific code, quickly, and
// never with a stack overflow, a hang or an exhausted heap. The big inputs
// are generated here rather than committed. Each case runs the whole
// loading pipeline (source, schema, semantic stage) under a time bound.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateFile } from '../../../src/spec/loader.js';
import { MAX_NESTING_DEPTH, MAX_SOURCE_BYTES } from '../../../src/spec/source.js';

const BOUND_MS = 5_000;
const DIR = mkdtempSync(join(tmpdir(), 'naftiko-hostile-'));
const HEAD = 'naftiko: "1.0.0-alpha2"\n';
const timings: string[] = [];

async function check(name: string, content: string | Buffer) {
  const file = join(DIR, `${name}.yaml`);
  writeFileSync(file, content);
  const started = performance.now();
  const report = await validateFile(file);
  const ms = performance.now() - started;
  timings.push(`${name}: ${(Buffer.byteLength(content) / 1024).toFixed(0)} KiB in ${ms.toFixed(0)} ms`);
  expect(ms, `${name} took ${ms.toFixed(0)} ms`).toBeLessThan(BOUND_MS);
  return report;
}

function firstError(report: Awaited<ReturnType<typeof validateFile>>) {
  const error = report.diagnostics.find((d) => d.severity === 'error');
  return error === undefined ? undefined : { code: error.code, line: error.line, column: error.column, message: error.message };
}

const deep = 100_000;

/** A valid capability of `tools` MCP tools, for size and speed. */
function manyTools(tools: number): string {
  const lines = [HEAD, 'capability:\n  consumes:\n    - type: http\n      namespace: up\n      baseUri: "https://up.example.com"\n',
    '      resources:\n        - name: item\n          path: "/items/{{id}}"\n          operations:\n            - name: get-item\n              method: GET\n',
    '  exposes:\n    - type: mcp\n      namespace: many\n      port: 3000\n      tools:\n'];
  for (let i = 0; i < tools; i++) {
    lines.push(`        - name: t${i}\n          description: "Tool ${i}"\n          inputParameters:\n            - {name: id, type: string, description: "Id"}\n          call: up.get-item\n          with: {id: many.id}\n`);
  }
  return lines.join('');
}

describe('hostile capability files', () => {
  it(`refuses ${deep} nested flow lists with CAP_SPEC_LIMIT`, async () => {
    const report = await check('flow-lists', `${HEAD}x: ${'['.repeat(deep)}${']'.repeat(deep)}\n`);
    expect(firstError(report)).toMatchObject({ code: 'CAP_SPEC_LIMIT', line: 2 });
    expect(report.diagnostics).toHaveLength(1);
  });

  it(`refuses ${deep} nested block sequences on one line with CAP_SPEC_LIMIT`, async () => {
    const report = await check('block-lists', `${HEAD}x:\n  ${'- '.repeat(deep)}end\n`);
    expect(firstError(report)).toMatchObject({ code: 'CAP_SPEC_LIMIT', line: 3 });
  });

  it(`refuses ${deep} nested flow mappings with CAP_SPEC_LIMIT`, async () => {
    const report = await check('flow-maps', `${HEAD}x: ${'{a: '.repeat(deep)}1${'}'.repeat(deep)}\n`);
    expect(firstError(report)?.code).toBe('CAP_SPEC_LIMIT');
  });

  it('refuses block mappings nested by indentation alone with CAP_SPEC_LIMIT', async () => {
    const text = Array.from({ length: 1000 }, (_, i) => `${' '.repeat(i)}a:`).join('\n');
    const report = await check('indented-maps', `${text} 1\n`);
    expect(firstError(report)).toMatchObject({ code: 'CAP_SPEC_LIMIT', line: MAX_NESTING_DEPTH + 1 });
  });

  it('refuses an alias bomb ("billion laughs") with CAP_SPEC_LIMIT', async () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) {
      const previous = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(10).fill(`*${previous}`).join(',')}]`);
    }
    const report = await check('alias-bomb', `${HEAD}${levels.join('\n')}\n`);
    expect(firstError(report)).toMatchObject({ code: 'CAP_SPEC_LIMIT', line: 1, column: 1 });
    expect(firstError(report)?.message).toContain('aliases');
  });

  it('refuses an alias that nests a deep node inside another deep node', async () => {
    const half = MAX_NESTING_DEPTH - 4;
    const text = `${HEAD}a: &deep ${'['.repeat(half)}${']'.repeat(half)}\nb: ${'['.repeat(half)}*deep${']'.repeat(half)}\n`;
    const report = await check('alias-depth', text);
    expect(firstError(report)?.code).toBe('CAP_SPEC_LIMIT');
    expect(firstError(report)?.message).toContain('once aliases are expanded');
  });

  it(`refuses a file over ${MAX_SOURCE_BYTES / 1024 / 1024} MiB before parsing it`, async () => {
    const report = await check('too-big', `${HEAD}info:\n  label: x\n  description: "${'x'.repeat(MAX_SOURCE_BYTES + 1024)}"\n`);
    expect(firstError(report)).toMatchObject({ code: 'CAP_SPEC_LIMIT', line: 1, column: 1 });
  });

  it('loads a valid 1 MiB capability in time', async () => {
    const perTool = Buffer.byteLength(manyTools(1)) - Buffer.byteLength(manyTools(0)) + 4;
    const tools = Math.floor((1024 * 1024 - Buffer.byteLength(manyTools(0))) / perTool);
    const report = await check('many-tools', manyTools(tools));
    expect(report.valid).toBe(true);
  });

  it('reports tens of thousands of unknown keys in one mapping without quadratic work', async () => {
    const keys = Array.from({ length: 60_000 }, (_, i) => `  k${i}: 1`).join('\n');
    const report = await check('wide-map', `${HEAD}info:\n  label: x\n  description: y\n${keys.replace(/^ {2}/gm, 'x')}\n`);
    expect(firstError(report)?.code).toBe('CAP_SPEC_INVALID');
    expect(report.diagnostics.length).toBeGreaterThan(1000);
  });

  it('reports every duplicated key of a big mapping with CAP_SPEC_YAML', async () => {
    const keys = Array.from({ length: 50_000 }, (_, i) => `  k${i % 25_000}: 1`).join('\n');
    const report = await check('duplicate-keys', `${HEAD}info:\n${keys}\n`);
    expect(firstError(report)).toMatchObject({ code: 'CAP_SPEC_YAML', line: 25_003, column: 3 });
    expect(report.diagnostics).toHaveLength(25_000);
  });

  it('refuses tab indentation with CAP_SPEC_YAML at the tab', async () => {
    const report = await check('tabs', `${HEAD}capability:\n\texposes: []\n`);
    expect(firstError(report)).toMatchObject({ code: 'CAP_SPEC_YAML', line: 3, column: 1 });
    // The reason once, then the fix: not "not allowed; … does not allow".
    expect(firstError(report)?.message).toBe('Tabs are not allowed as indentation; indent with spaces');
  });

  it('refuses bytes that are not UTF-8 with CAP_SPEC_YAML at the byte', async () => {
    const bytes = Buffer.concat([Buffer.from(`${HEAD}info:\n  label: "caf`), Buffer.from([0xe9]), Buffer.from('"\n')]);
    const report = await check('latin1', bytes);
    expect(firstError(report)).toMatchObject({ code: 'CAP_SPEC_YAML', line: 3, column: 14 });
    expect(firstError(report)?.message).toContain('0xE9');
  });

  it('refuses an empty file with one CAP_SPEC_INVALID', async () => {
    const report = await check('empty', '');
    expect(firstError(report)).toMatchObject({ code: 'CAP_SPEC_INVALID', line: 1, column: 1 });
    expect(report.diagnostics).toHaveLength(1);
  });

  it('refuses a JSON document that is not a capability with one CAP_SPEC_VERSION', async () => {
    const report = await check('json', JSON.stringify({ openapi: '3.1.0', info: { title: 'x', version: '1' }, paths: {} }));
    expect(firstError(report)).toMatchObject({ code: 'CAP_SPEC_VERSION', line: 1, column: 1 });
    expect(report.diagnostics).toHaveLength(1);
  });

  it('accepts a capability written as JSON, since YAML 1.2 reads JSON', async () => {
    const doc = { naftiko: '1.0.0-alpha2', capability: { exposes: [{ type: 'control', port: 9000 }] } };
    const report = await check('json-capability', JSON.stringify(doc));
    expect(report.valid).toBe(true);
  });

  it('refuses a file of another spec version with one CAP_SPEC_VERSION', async () => {
    const report = await check('other-version', 'naftiko: "0.5"\ncapability:\n  exposes:\n    - type: api\n      port: 99999\n');
    expect(firstError(report)).toMatchObject({ code: 'CAP_SPEC_VERSION', line: 1, column: 10 });
    expect(report.diagnostics).toHaveLength(1);
  });

  it('prints the timings for the record', () => {
    console.info(`hostile input timings (bound ${BOUND_MS} ms each):\n  ${timings.join('\n  ')}`);
    expect(timings.length).toBeGreaterThan(10);
  });
});
