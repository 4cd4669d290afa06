import { describe, expect, it } from 'vitest';
import { isPassThrough, mapOutput, selectPath } from '../../../src/binding/output.js';

describe('output mapping', () => {
  it.each([[[1, 2]], [{ a: 1 }], ['text'], [42], [null]])('passes %j through unchanged for {type: object, mapping: $.} (dialect D5)', (value) => {
    const param = { type: 'object' as const, mapping: '$.' };
    expect(isPassThrough(param)).toBe(true);
    expect(mapOutput([param], value)).toEqual(value);
  });

  it('reads object properties relative to the object mapping', () => {
    const out = mapOutput([{ type: 'object', mapping: '$.forecast', properties: { t: { type: 'number', mapping: '$.temperature' } } }], {
      forecast: { temperature: 21 },
      temperature: 99,
    });
    expect(out).toEqual({ t: 21 });
  });

  it('maps array items element by element, nested objects re-using the element', () => {
    const out = mapOutput(
      [{ type: 'array', mapping: '$.', items: { type: 'object', properties: { imo: { type: 'string', mapping: '$.imo_number' }, specs: { type: 'object', properties: { year: { type: 'number', mapping: '$.year_built' } } } } } }],
      [{ imo_number: 'IMO-1', year_built: 2001 }, { imo_number: 'IMO-2' }],
    );
    expect(out).toEqual([{ imo: 'IMO-1', specs: { year: 2001 } }, { imo: 'IMO-2', specs: { year: null } }]);
  });

  it('builds an object from several named outputs and coerces static values to their type', () => {
    const out = mapOutput([{ name: 'count', type: 'number', value: '{{n}}' }, { name: 'ok', type: 'boolean', value: 'true' }], {}, (k) => (k === 'n' ? 3 : undefined));
    expect(out).toEqual({ count: 3, ok: true });
  });

  it('never evaluates script in a JSONPath filter', () => {
    const data = { items: [{ a: 1 }, { a: 2 }] };
    expect(() => selectPath(data, '$.items[?(@.a > 1 && process.exit(1))]')).toThrow();
    expect(selectPath(data, '$.items[*].a')).toEqual([1, 2]);
    expect(selectPath(data, '$.items[1].a')).toBe(2);
  });
});
