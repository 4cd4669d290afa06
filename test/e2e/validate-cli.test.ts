// `node dist/main.js validate` as users run it (build first: `npm run build`,
// which `npm test` does). Exit codes: 0 valid (warnings allowed), 1 invalid,
// 2 bad usage; one summary line per file.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCliOnce } from '../support/cli.js';

/** The published generated Prefect capability, verbatim (test/unit/spec/schema.test.ts checks it). */
const PREFECT = 'test/fixtures/specs/schema/prefect-download.generated.yaml';
const INVALID = 'test/fixtures/specs/invalid';
const LINE = /^(?<file>[^:]+):(?<line>\d+):(?<column>\d+): (?<severity>error|warning) (?<code>CAP_[A-Z_]+) .+ \(at \/\S*\)$/;

const validate = (...args: string[]) => runCliOnce(['validate', ...args], {});

function lines(stdout: string): string[] {
  return stdout.split('\n').filter((line) => line !== '');
}

interface JsonReport {
  files: {
    file: string;
    kind: string;
    valid: boolean;
    errors: number;
    warnings: number;
    omitted: number;
    diagnostics: { severity: string; code: string; line: number; column: number; pointer: string; message: string }[];
  }[];
}

describe('validate on the published Prefect capability', () => {
  it('--strict: 32 error lines with line and column, one summary line, exit 1', async () => {
    const { code, stdout, stderr } = await validate('--strict', PREFECT);
    const output = lines(stdout);
    expect(code).toBe(1);
    expect(stderr).toBe('');
    expect(output).toHaveLength(33);
    const parsed = output.slice(0, 32).map((line) => LINE.exec(line)?.groups);
    expect(parsed.every((g) => g?.file === PREFECT && g.severity === 'error' && g.code === 'CAP_SPEC_INVALID')).toBe(true);
    expect(output[0]).toMatch(/^test\/fixtures\/specs\/schema\/prefect-download\.generated\.yaml:19:14: error CAP_SPEC_INVALID consumed namespace `prefect-download` has an empty `baseUri`/);
    expect(parsed.map((g) => `${g!.line}:${g!.column}`).slice(0, 3)).toEqual(['19:14', '22:13', '36:17']);
    expect(output[32]).toBe(`${PREFECT}: invalid capability (32 errors, 0 warnings)`);
  });

  it('default: the same 32 places as warnings, exit 0', async () => {
    const strict = lines((await validate('--strict', PREFECT)).stdout).slice(0, 32);
    const { code, stdout } = await validate(PREFECT);
    const output = lines(stdout);
    expect(code).toBe(0);
    expect(output).toHaveLength(33);
    const parsed = output.slice(0, 32).map((line) => LINE.exec(line)?.groups);
    expect(parsed.every((g) => g?.severity === 'warning' && g.code === 'CAP_SPEC_DIALECT')).toBe(true);
    const where = (line: string) => line.split(': ')[0];
    expect(output.slice(0, 32).map(where)).toEqual(strict.map(where));
    expect(output[32]).toBe(`${PREFECT}: valid capability (0 errors, 32 warnings)`);
  });

  it('--format json prints the same findings as JSON', async () => {
    const strict = await validate('--strict', '--format', 'json', PREFECT);
    expect(strict.code).toBe(1);
    const report = JSON.parse(strict.stdout) as JsonReport;
    expect(report.files).toHaveLength(1);
    expect(report.files[0]).toMatchObject({ file: PREFECT, kind: 'capability', valid: false, errors: 32, warnings: 0, omitted: 0 });
    expect(report.files[0]!.diagnostics[0]).toMatchObject({
      severity: 'error',
      code: 'CAP_SPEC_INVALID',
      line: 19,
      column: 14,
      pointer: '/capability/consumes/0/baseUri',
    });
    const text = lines((await validate('--strict', PREFECT)).stdout).slice(0, 32);
    expect(report.files[0]!.diagnostics.map((d) => `${PREFECT}:${d.line}:${d.column}: ${d.severity} ${d.code} ${d.message} (at ${d.pointer})`)).toEqual(text);

    const lenient = await validate('--format', 'json', PREFECT);
    expect(lenient.code).toBe(0);
    expect((JSON.parse(lenient.stdout) as JsonReport).files[0]).toMatchObject({ valid: true, errors: 0, warnings: 32 });
  });
});

describe('validate: files, directories and exit codes', () => {
  it('walks a directory for .yaml and .yml files, one summary line each, and validates consumes-only files as such', async () => {
    const { code, stdout } = await validate(`${INVALID}/shared`);
    const summaries = lines(stdout).filter((line) => !LINE.test(line));
    expect(code).toBe(1);
    expect(summaries).toEqual([
      `${INVALID}/shared/broken-consumes.yaml: invalid consumes-only document (1 error, 0 warnings)`,
      `${INVALID}/shared/importing-consumes.yaml: invalid consumes-only document (1 error, 0 warnings)`,
      `${INVALID}/shared/not-consumes.yaml: valid capability (0 errors, 0 warnings)`,
      `${INVALID}/shared/registry-consumes.yaml: valid consumes-only document (0 errors, 0 warnings)`,
    ]);
  });

  it('exits 0 when every file is valid', async () => {
    const { code, stdout } = await validate(`${INVALID}/shared/registry-consumes.yaml`, 'capabilities/prefect-download.yaml');
    expect(code).toBe(0);
    expect(lines(stdout).at(-1)).toBe('capabilities/prefect-download.yaml: valid capability (0 errors, 31 warnings)');
  });

  it('reports every semantic error of a file in one run, with did-you-mean', async () => {
    const { code, stdout } = await validate(`${INVALID}/call-misspelled-operation.yaml`);
    expect(code).toBe(1);
    expect(lines(stdout)).toEqual([
      `${INVALID}/call-misspelled-operation.yaml:34:17: error CAP_SPEC_CALL \`call: registry.get-shipp\`: consumed namespace \`registry\` has no operation \`get-shipp\`; did you mean \`get-ship\`? (at /capability/exposes/0/tools/0/call)`,
      `${INVALID}/call-misspelled-operation.yaml: invalid capability (1 error, 0 warnings)`,
    ]);
  });

  it('lists the first 100 findings of a file and counts the rest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'naftiko-validate-'));
    const tools = Array.from({ length: 150 }, (_, i) => `        - {name: t${i}, description: "T", call: up.missing-${i}}`).join('\n');
    const file = join(dir, 'many.yaml');
    writeFileSync(file, `naftiko: 1.0.0-alpha2\ncapability:\n  consumes:\n    - type: http\n      namespace: up\n      baseUri: https://up.example.com\n      resources:\n        - {name: r, path: /r, operations: [{name: get, method: GET}]}\n  exposes:\n    - type: mcp\n      namespace: m\n      port: 3000\n      tools:\n${tools}\n`);
    const { code, stdout } = await validate(file);
    const output = lines(stdout);
    expect(code).toBe(1);
    expect(output).toHaveLength(102);
    expect(output[100]).toBe('... and 50 more');
    expect(output[101]).toBe(`${file}: invalid capability (150 errors, 0 warnings)`);
    const json = JSON.parse((await validate('--format', 'json', file)).stdout) as JsonReport;
    expect(json.files[0]).toMatchObject({ errors: 150, omitted: 50 });
    expect(json.files[0]!.diagnostics).toHaveLength(100);
  });

  it('refuses a hostile file with one line and no stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'naftiko-validate-'));
    const file = join(dir, 'deep.yaml');
    writeFileSync(file, `naftiko: 1.0.0-alpha2\nx: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`);
    const { code, stdout, stderr } = await validate(file);
    expect(code).toBe(1);
    expect(stderr).toBe('');
    expect(lines(stdout)).toEqual([
      `${file}:2:67: error CAP_SPEC_LIMIT collections are nested more than 64 levels deep`,
      `${file}: invalid file (1 error, 0 warnings)`,
    ]);
  });

  it('reports a missing file as CAP_SPEC_READ, exit 1', async () => {
    const { code, stdout } = await validate('no/such/file.yaml');
    expect(code).toBe(1);
    expect(lines(stdout)[0]).toMatch(/^no\/such\/file\.yaml:1:1: error CAP_SPEC_READ cannot read the file \(ENOENT\)$/);
  });

  it('exits 2 on bad usage', async () => {
    expect((await validate()).code).toBe(2);
    expect((await validate('--format', 'xml', PREFECT)).code).toBe(2);
    expect((await validate('--no-such-flag', PREFECT)).code).toBe(2);
    const empty = mkdtempSync(join(tmpdir(), 'naftiko-validate-'));
    const none = await validate(empty);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no .yaml or .yml file');
  });
});

describe('serve refuses an invalid file with the lines validate prints', () => {
  it('prints the same diagnostic and exits 1', async () => {
    const file = `${INVALID}/path-param-tool.yaml`;
    const validated = lines((await validate(file)).stdout)[0]!;
    const served = await runCliOnce(['serve', file], {});
    expect(served.code).toBe(1);
    expect(served.stderr).toContain(`naftiko-ts: cannot start: CAP_SPEC_PATH_PARAM ${file}: 1 error\n${validated}\n`);
  });
});
