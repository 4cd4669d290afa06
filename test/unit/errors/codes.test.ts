import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../../src/errors/codes.js';

describe('error code table', () => {
  it('is pinned: adding, renaming or removing a code is a deliberate change', () => {
    expect(Object.keys(ERROR_CODES)).toEqual([
      'CAP_SPEC_READ',
      'CAP_SPEC_YAML',
      'CAP_SPEC_INVALID',
      'CAP_SPEC_VERSION',
      'CAP_SPEC_DIALECT',
      'CAP_SPEC_REF',
      'CAP_SPEC_UNSUPPORTED',
      'CAP_CONFIG_BASE_URI',
      'CAP_CONFIG_BIND',
      'CAP_CONFIG_USAGE',
      'CAP_CONFIG_PORT',
      'CAP_ROUTE_NOT_FOUND',
      'CAP_ROUTE_METHOD',
      'CAP_AUTH_REQUIRED',
      'CAP_HOST_NOT_ALLOWED',
      'CAP_INPUT_INVALID',
      'CAP_INPUT_MISSING',
      'CAP_UPSTREAM_UNREACHABLE',
      'CAP_UPSTREAM_TIMEOUT',
      'CAP_UPSTREAM_AUTH',
      'CAP_UPSTREAM_BODY',
      'CAP_UPSTREAM_TOO_LARGE',
      'CAP_UPSTREAM_INCOMPLETE',
      'CAP_UPSTREAM_REDIRECT',
      'CAP_RESULT_TOO_LARGE',
      'CAP_INTERNAL',
      'CAP_SPEC_LIMIT',
      'CAP_SPEC_CALL',
      'CAP_SPEC_WITH',
      'CAP_SPEC_PATH_PARAM',
      'CAP_SPEC_INPUT',
      'CAP_SPEC_TEMPLATE',
      'CAP_SPEC_DUPLICATE',
      'CAP_SPEC_PORT',
      'CAP_SPEC_IMPORT',
      'CAP_SPEC_CONSUMES_ONLY',
    ]);
  });

  it('has exactly one row per code in docs/errors.md, with the same HTTP status where one applies', () => {
    const doc = readFileSync('docs/errors.md', 'utf8');
    const rows = [...doc.matchAll(/^\| `(CAP_[A-Z_]+)` \| ([^|]+) \|/gm)].map((m) => [m[1]!, m[2]!.trim()] as const);
    expect(rows.map(([code]) => code).sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const [code, status] of rows) {
      const entry = ERROR_CODES[code as keyof typeof ERROR_CODES];
      if (/^\d{3}$/.test(status)) expect(Number(status), code).toBe(entry.status);
      if (entry.status < 500 || code.startsWith('CAP_UPSTREAM')) expect(status, code).toBe(String(entry.status));
    }
  });
});
