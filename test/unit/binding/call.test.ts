import { describe, expect, it } from 'vitest';
import { parseWithValue } from '../../../src/binding/call.js';

describe('with values', () => {
  const prefixes = ['prefect-download-rest.', 'rest.'];

  it('reads rest.X and <namespace>.X as the caller input X (dialect D2)', () => {
    expect(parseWithValue('rest.account_id', prefixes)).toEqual({ kind: 'input', name: 'account_id' });
    expect(parseWithValue('prefect-download-rest.if-none-match', prefixes)).toEqual({ kind: 'input', name: 'if-none-match' });
  });

  it('treats anything else as a template or a constant', () => {
    expect(parseWithValue('tools.id', prefixes)).toMatchObject({ kind: 'template' });
    expect(parseWithValue('{{imo}}', prefixes)).toMatchObject({ kind: 'template', template: { variables: ['imo'] } });
    expect(parseWithValue(10, prefixes)).toEqual({ kind: 'constant', value: 10 });
  });
});
