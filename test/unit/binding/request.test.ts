import { describe, expect, it } from 'vitest';
import { compileRequestPlan } from '../../../src/binding/request.js';
import type { ConsumedOperationSpec, ConsumesSpec } from '../../../src/spec/types.js';

function plan(path: string, operation: Partial<ConsumedOperationSpec> = {}, consumes: Partial<ConsumesSpec> = {}, dialect = true) {
  const op: ConsumedOperationSpec = { name: 'op', method: 'GET', ...operation };
  const ns: ConsumesSpec = { type: 'http', namespace: 'up', baseUri: 'http://127.0.0.1:1234/base', resources: [{ name: 'r', path, operations: [op] }], ...consumes };
  return compileRequestPlan(ns, ns.resources[0]!, op, {
    baseUri: ns.baseUri,
    binds: new Map([['TOKEN', 's3cret'], ['env.TOKEN', 's3cret'], ['VERSION', '1.2']]),
    dialect,
  });
}

describe('request plans', () => {
  it('substitutes {name} (dialect) and {{name}} and percent-encodes each value as one segment', () => {
    const p = plan('/runs/{id}/files/{{name}}');
    const req = p.build(new Map<string, unknown>([['id', 'a/b?c#d'], ['name', 'naïve café.csv']]));
    expect(req.origin).toBe('http://127.0.0.1:1234');
    expect(req.path).toBe('/base/runs/a%2Fb%3Fc%23d/files/na%C3%AFve%20caf%C3%A9.csv');
    expect(p.pathVariables).toEqual(['id', 'name']);
  });

  it('leaves {name} alone in strict mode, as the spec has only {{name}}', () => {
    const req = plan('/runs/{id}', {}, {}, false).build(new Map([['id', 'x']]));
    expect(req.path).toBe('/base/runs/{id}');
  });

  it.each(['.', '..', '%2e', '%2E%2e'])('refuses the path value %s, which URL parsers would collapse', (value) => {
    expect(() => plan('/runs/{{id}}/logs').build(new Map([['id', value]]))).toThrow(
      expect.objectContaining({ code: 'CAP_INPUT_INVALID', data: expect.objectContaining({ parameter: 'id' }) }),
    );
  });

  it('names a missing path value', () => {
    expect(() => plan('/runs/{{id}}').build(new Map())).toThrow(expect.objectContaining({ code: 'CAP_INPUT_MISSING', message: 'path parameter "id" is required' }));
  });

  it('places query and header parameters by `in`, leaving absent ones out', () => {
    const p = plan('/logs', {
      inputParameters: [
        { name: 'limit', in: 'query' },
        { name: 'level_ge', in: 'query' },
        { name: 'if-none-match', in: 'header' },
        { name: 'q', in: 'query' },
      ],
    });
    const req = p.build(new Map<string, unknown>([['limit', 5], ['if-none-match', '"abc"'], ['q', 'a b&c=d']]));
    expect(req.path).toBe('/base/logs?limit=5&q=a%20b%26c%3Dd');
    expect(req.headers).toEqual({ 'if-none-match': '"abc"' });
  });

  it('refuses a header value with a line break (header injection)', () => {
    const p = plan('/x', { inputParameters: [{ name: 'x-trace', in: 'header' }] });
    expect(() => p.build(new Map([['x-trace', 'a\r\nx-admin: 1']]))).toThrow(expect.objectContaining({ code: 'CAP_INPUT_INVALID' }));
  });

  it('renders bind templates in consumes-level headers and bearer authentication', () => {
    const p = plan('/x', {}, {
      inputParameters: [{ name: 'Registry-Version', in: 'header', value: '{{VERSION}}' }],
      authentication: { type: 'bearer', token: '{{env.TOKEN}}' },
    });
    expect(p.build(new Map()).headers).toEqual({ 'registry-version': '1.2', authorization: 'Bearer s3cret' });
  });

  it('leaves out a parameter whose value template names an absent input', () => {
    const p = plan('/x', { inputParameters: [{ name: 'status', in: 'query', value: '{{wanted}}' }] });
    expect(p.build(new Map()).path).toBe('/base/x');
    expect(p.build(new Map([['wanted', 'active']])).path).toBe('/base/x?status=active');
  });

  it('sends basic credentials and an apikey in the query', () => {
    const basic = plan('/x', {}, { authentication: { type: 'basic', username: 'u', password: '{{TOKEN}}' } }).build(new Map());
    expect(basic.headers.authorization).toBe(`Basic ${Buffer.from('u:s3cret').toString('base64')}`);
    const key = plan('/x', {}, { authentication: { type: 'apikey', key: 'api_key', value: '{{TOKEN}}', placement: 'query' } }).build(new Map());
    expect(key.path).toBe('/base/x?api_key=s3cret');
  });

  it('renders a JSON text body with string escaping inside quotes and JSON values outside', () => {
    const p = plan('/voyages', { method: 'POST', body: '{"ship": "{{ship}}", "crew": {{crew}}, "cargo": {{cargo}}}' });
    const req = p.build(new Map<string, unknown>([['ship', 'say "hi"\n'], ['crew', ['c1', 'c2']]]));
    expect(req.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req.body as string)).toEqual({ ship: 'say "hi"\n', crew: ['c1', 'c2'], cargo: null });
  });

  it('keeps the type of a structured JSON value that is one variable', () => {
    const p = plan('/x', { method: 'POST', body: { type: 'json', data: { n: '{{n}}', label: 'n={{n}}' } } });
    expect(JSON.parse(p.build(new Map([['n', 7]])).body as string)).toEqual({ n: 7, label: 'n=7' });
  });

  it('encodes form bodies and sets their media type', () => {
    const p = plan('/x', { method: 'POST', body: { type: 'formUrlEncoded', data: { a: '{{a}}', b: 'x y' } } });
    const req = p.build(new Map([['a', '1&2']]));
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(req.body).toBe('a=1%262&b=x+y');
  });

  it('sends an `in: body` input as the whole JSON body (dialect D9)', () => {
    const p = plan('/x', { method: 'POST', inputParameters: [{ name: 'body', in: 'body' }] });
    expect(p.build(new Map([['body', { a: [1, 2] }]])).body).toBe('{"a":[1,2]}');
  });
});
