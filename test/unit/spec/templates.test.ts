import { describe, expect, it } from 'vitest';
import { compileTemplate } from '../../../src/binding/template.js';
import { collectStrings, templateVariables } from '../../../src/spec/templates.js';

// The semantic stage cannot import binding/, so it repeats the runtime's
// template patterns; these samples keep the two copies in step.
const SAMPLES = [
  '/ships/{{imo}}',
  '/ships/{imo}/crew/{{ crew-id }}',
  '{{env.TOKEN}} and {{TOKEN}}',
  'Bearer {{a}}{{b}} {{a}}',
  '{{#section}}{{/section}} {{!comment}} { not } {{}}',
  'literal {single} text',
  '{"id": "{{userId}}", "tags": {{tags}}}',
  '{{get-ship.imo_number}} {{*}} {{weird name}}',
];

describe('template variables of the semantic stage', () => {
  it.each(SAMPLES)('finds what the runtime finds in %s', (text) => {
    expect(templateVariables(text)).toEqual(compileTemplate(text).variables);
    expect(templateVariables(text, true)).toEqual(compileTemplate(text, { singleBraces: true }).variables);
  });

  it('collects every string of a nested value without recursion', () => {
    expect(collectStrings({ a: ['x', { b: 'y' }], c: 1, d: null }).sort()).toEqual(['x', 'y']);
  });
});
