// Every file in test/fixtures/specs/invalid/ states on its first line what
// loading it must report: `# expect: CODE line:column[, CODE line:column...]`
// (a location in another file reads `CODE other/file.yaml:line:column`). A
// second-line `# mode: strict` loads it with --strict. The list must match
// the errors exactly, in order: one error per cause, each where it belongs.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isCapabilityError } from '../../../src/errors/capability-error.js';
import { ERROR_CODES } from '../../../src/errors/codes.js';
import type { Diagnostic } from '../../../src/spec/diagnostic.js';
import { loadCapability, validateFile } from '../../../src/spec/loader.js';

const DIR = fileURLToPath(new URL('../../fixtures/specs/invalid/', import.meta.url));
const FIXTURES = readdirSync(DIR).filter((name) => /\.ya?ml$/.test(name)).sort();

/** Codes no file content can cause: configuration, runtime, a missing file, warnings. */
const NOT_FROM_A_FILE = new Set([
  'CAP_SPEC_READ',
  'CAP_SPEC_DIALECT',
  'CAP_INTERNAL',
]);

interface Fixture {
  readonly name: string;
  readonly file: string;
  readonly strict: boolean;
  readonly expected: string[];
}

function readFixture(name: string): Fixture {
  const bytes = readFileSync(join(DIR, name));
  // The UTF-16 fixture carries its expectation in UTF-16 too.
  const utf16 = bytes[0] === 0xff && bytes[1] === 0xfe;
  const text = utf16 ? bytes.subarray(2).toString('utf16le') : bytes.toString('latin1');
  const [first = '', second = ''] = text.split('\n');
  const match = /^# expect: (.+)$/.exec(first.trim());
  if (match === null) throw new Error(`${name}: the first line must be "# expect: CODE line:column"`);
  const expected = match[1]!.split(',').map((item) => item.trim());
  return { name, file: join(DIR, name), strict: second.trim() === '# mode: strict', expected };
}

/** What loading reports, in the fixture's own notation. */
async function loadErrors(fixture: Fixture): Promise<string[]> {
  try {
    await loadCapability(fixture.file, { strict: fixture.strict });
  } catch (err) {
    if (!isCapabilityError(err)) throw err;
    const listed = err.data.diagnostics as Diagnostic[] | undefined;
    if (listed !== undefined) return listed.map((d) => notation(fixture, d.code, d.file, d.line, d.column));
    return [notation(fixture, err.code, err.location?.file ?? fixture.file, err.location?.line, err.location?.column)];
  }
  return [];
}

function notation(fixture: Fixture, code: string, file: string, line?: number, column?: number): string {
  const other = relative(dirname(fixture.file), file);
  const where = other === fixture.name ? '' : `${other}:`;
  return `${code} ${where}${line}:${column}`;
}

describe('invalid capability fixtures', () => {
  const fixtures = FIXTURES.map(readFixture);

  it('has at least 60 fixtures', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(60);
  });

  it('covers every error code a file can cause', () => {
    const covered = new Set(fixtures.flatMap((f) => f.expected.map((e) => e.split(' ')[0]!)));
    const fromFiles = Object.keys(ERROR_CODES).filter((code) => code.startsWith('CAP_SPEC_') && !NOT_FROM_A_FILE.has(code));
    expect(fromFiles.filter((code) => !covered.has(code))).toEqual([]);
  });

  it.each(fixtures.map((f) => [f.name, f] as const))('%s reports exactly what its first line expects', async (_name, fixture) => {
    expect(await loadErrors(fixture)).toEqual(fixture.expected);
  });

  it.each(fixtures.filter((f) => !f.expected[0]!.startsWith('CAP_SPEC_CONSUMES_ONLY')).map((f) => [f.name, f] as const))(
    '%s: validate reports the same errors as loading',
    async (_name, fixture) => {
      const report = await validateFile(fixture.file, { strict: fixture.strict });
      const errors = report.diagnostics.filter((d) => d.severity === 'error');
      expect(report.valid).toBe(false);
      expect(errors.map((d) => notation(fixture, d.code, d.file, d.line, d.column))).toEqual(fixture.expected);
    },
  );

  it('counts fixtures per code (printed for the record)', () => {
    const counts = new Map<string, number>();
    for (const f of fixtures) for (const code of new Set(f.expected.map((e) => e.split(' ')[0]!))) counts.set(code, (counts.get(code) ?? 0) + 1);
    console.info(`invalid fixtures per code: ${[...counts].sort().map(([c, n]) => `${c}=${n}`).join(' ')}`);
    expect(counts.size).toBeGreaterThan(10);
  });
});
