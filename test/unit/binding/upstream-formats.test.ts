import { describe, expect, it } from 'vitest';
import { convertRawBody, emptyTableNotice, isRawFormat, normalizeRawFormat } from '../../../src/binding/formats.js';

describe('outputRawFormat conversion', () => {
  it('matches labels case-insensitively, json by default', () => {
    expect(normalizeRawFormat(undefined)).toBe('json');
    expect(normalizeRawFormat(' CSV ')).toBe('csv');
    expect(['json', 'xml', 'yaml', 'csv', 'tsv', 'psv', 'html', 'markdown'].every(isRawFormat)).toBe(true);
    expect(isRawFormat('avro')).toBe(false);
  });

  it('json: an empty body is null; a broken one throws', () => {
    expect(convertRawBody('json', '')).toBeNull();
    expect(convertRawBody('json', '[1]')).toEqual([1]);
    expect(() => convertRawBody('json', '{"a":')).toThrow();
  });

  it('csv: CRLF, a multi-line quoted field, a UTF-8 BOM and empty trailing lines', () => {
    const text = '\uFEFFtimestamp,level,message\r\n2026-01-01 00:00:00+00:00,20,"first\nsecond"\r\n\r\n';
    expect(convertRawBody('csv', text)).toEqual([{ timestamp: '2026-01-01 00:00:00+00:00', level: '20', message: 'first\nsecond' }]);
    expect(convertRawBody('csv', 'a,b\r\n')).toEqual([]);
    expect(() => convertRawBody('csv', 'a,b\n1,2,3\n')).toThrow();
  });

  it('xml: one element stays an object, text beside attributes goes under ""', () => {
    expect(convertRawBody('xml', '<r><v><n>A</n></v><note lang="en">hi</note><empty/></r>')).toEqual({
      v: { n: 'A' },
      note: { '': 'hi', lang: 'en' },
      empty: '',
    });
    expect(() => convertRawBody('xml', '<a/><b/>')).toThrow('one root element');
  });

  it('html: the outputSchema selector picks tables; a table without <th> is skipped', () => {
    const html = '<table id="a"><tr><th>x</th></tr><tr><td>1</td></tr></table><table id="b"><tr><th>y</th></tr><tr><td>2</td></tr></table><table><tr><td>3</td></tr></table>';
    expect(convertRawBody('html', html)).toEqual({ tables: [[{ x: '1' }], [{ y: '2' }]] });
    expect(convertRawBody('html', html, '#b')).toEqual({ tables: [[{ y: '2' }]] });
  });

  it('markdown: outputSchema keeps the sections whose heading starts with it', () => {
    const md = '# Intro\nhello\n## Ships\n| a |\n|---|\n| 1 |\n## Shipyards\nthree';
    const all = convertRawBody('markdown', md) as { frontMatter: unknown; tables: unknown; sections: { heading: string }[] };
    expect(all.frontMatter).toEqual({});
    expect(all.tables).toEqual([[{ a: '1' }]]);
    expect(all.sections.map((s) => s.heading)).toEqual(['Intro', 'Ships', 'Shipyards']);
    const some = convertRawBody('markdown', md, 'Ship') as { sections: { heading: string; level: number }[] };
    expect(some.sections.map((s) => [s.heading, s.level])).toEqual([['Ships', 2], ['Shipyards', 2]]);
  });
});

describe('emptyTableNotice', () => {
  it('says a CSV or TSV with only its header row has no records', () => {
    expect(emptyTableNotice('text/csv; charset=utf-8', 'timestamp,level,flow_run_id,task_run_id,message\r\n'))
      .toBe('no records: the upstream sent only the header row (timestamp, level, flow_run_id, task_run_id, message)');
    expect(emptyTableNotice('text/tab-separated-values', 'a\tb\n')).toBe('no records: the upstream sent only the header row (a, b)');
  });

  it('says nothing for data rows, other types or broken text', () => {
    expect(emptyTableNotice('text/csv', 'a,b\r\n1,2\r\n')).toBeUndefined();
    expect(emptyTableNotice('text/plain', 'a,b\r\n')).toBeUndefined();
    expect(emptyTableNotice('text/csv', 'a,"b\r\n')).toBeUndefined();
    expect(emptyTableNotice(undefined, 'a,b\r\n')).toBeUndefined();
  });
});
