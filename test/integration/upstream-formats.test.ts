import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { connectMcp, serveFaults, writeFaultCapability, type FaultServe } from './upstream-support.js';

// Every outputRawFormat the spec allows is converted to JSON before a
// mapped output reads it; avro and protobuf are refused at load.

const BODIES: Record<string, [string, string]> = {
  '/csv': ['text/csv', 'name,flag\r\n"Northern Star, II",NO\r\n"nul\u0000byte","say ""hi"""\r\n'],
  '/tsv': ['text/tab-separated-values', 'name\tflag\nNorthern Star\tNO\n'],
  '/psv': ['text/plain', 'name|flag\nNorthern Star|NO\n'],
  '/xml': ['application/xml', '<?xml version="1.0"?><vessels><vessel imo="1"><name>A</name><tonnage>12</tonnage></vessel><vessel imo="2"><name>B</name></vessel></vessels>'],
  '/yaml': ['application/yaml', 'name: Northern Star\nflag: NO\n'],
  '/html': ['text/html', '<table><tr><th>Name</th><th>Flag</th></tr><tr><td>A</td><td>NO</td></tr><tr><td>B</td></tr></table>'],
  '/markdown': ['text/markdown', '---\nfleet: north\n---\n# Ships\n\n| name | flag |\n|---|---|\n| A | NO |\n\n## Crew\nten people\n'],
};

let upstream: FakeUpstream;
let served: FaultServe;

beforeAll(async () => {
  upstream = await startFakeUpstream((req, res) => {
    const [type, body] = BODIES[req.target] ?? ['text/plain', 'not,a\nvalid"csv'];
    res.writeHead(200, { 'content-type': type }).end(body);
  });
  served = await serveFaults(upstream.url);
});
afterAll(async () => {
  await served?.running.close();
  await upstream?.close();
});

async function get(path: string): Promise<unknown> {
  const res = await fetch(`${served.restUrl}${path}`);
  expect(res.status, path).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
  return res.json();
}

describe('outputRawFormat before output mapping', () => {
  it('csv: header row to keys, every value a string, quotes, commas and NUL kept', async () => {
    expect(await get('/csv')).toEqual([
      { name: 'Northern Star, II', flag: 'NO' },
      { name: 'nul\u0000byte', flag: 'say "hi"' },
    ]);
  });

  it.each(['/tsv', '/psv'])('%s: the same with its own separator', async (path) => {
    expect(await get(path)).toEqual([{ name: 'Northern Star', flag: 'NO' }]);
  });

  it('xml: root dropped, repeated elements an array, attributes fields, values strings', async () => {
    expect(await get('/xml')).toEqual([
      { imo: '1', name: 'A', tonnage: '12' },
      { imo: '2', name: 'B' },
    ]);
  });

  it('yaml', async () => {
    expect(await get('/yaml')).toEqual({ name: 'Northern Star' });
  });

  it('html: tables as records under their header cells, a missing cell ""', async () => {
    expect(await get('/html')).toEqual([[{ Name: 'A', Flag: 'NO' }, { Name: 'B', Flag: '' }]]);
  });

  it('markdown: front matter, and sections with their heading and level', async () => {
    expect(await get('/markdown')).toEqual({
      frontMatter: { fleet: 'north' },
      sections: [
        { heading: 'Ships', level: 1, content: '| name | flag |\n|---|---|\n| A | NO |' },
        { heading: 'Crew', level: 2, content: 'ten people' },
      ],
    });
  });

  it('an MCP tool gets the converted records as structured content', async () => {
    const client = await connectMcp(served.mcpUrl);
    try {
      const result = await client.callTool({ name: 'get-csv', arguments: {} });
      expect(result.isError).toBeFalsy();
      expect((result.structuredContent as { result: unknown[] }).result).toHaveLength(2);
    } finally {
      await client.close();
    }
  });

  it('a body that does not parse in its format is 502 CAP_UPSTREAM_BODY naming the format', async () => {
    const file = writeFaultCapability();
    writeFileSync(file, readFileSync(file, 'utf8').replace('path: /csv', 'path: /broken'));
    const broken = await serveFaults(upstream.url, { file });
    try {
      const res = await fetch(`${broken.restUrl}/csv`);
      expect(res.status).toBe(502);
      const problem = (await res.json()) as { code: string; detail: string };
      expect(problem.code).toBe('CAP_UPSTREAM_BODY');
      expect(problem.detail).toContain('not valid csv');
    } finally {
      await broken.running.close();
    }
  });
});

describe('formats we refuse', () => {
  it.each(['avro', 'protobuf'])('%s on a mapped output stops start-up with CAP_SPEC_UNSUPPORTED', async (format) => {
    const file = writeFaultCapability();
    writeFileSync(file, readFileSync(file, 'utf8').replace('outputRawFormat: yaml', `outputRawFormat: ${format}`));
    await expect(serveFaults(upstream.url, { file })).rejects.toMatchObject({
      code: 'CAP_SPEC_UNSUPPORTED',
      message: expect.stringContaining(`returns ${format}, which this runtime cannot decode for mapping (it needs a schema file and a binary decoder)`),
    });
  });

  it('is not needed for a pass-through output, which hands the bytes on', async () => {
    const file = writeFaultCapability();
    writeFileSync(file, readFileSync(file, 'utf8').replace(/(name: get-raw\n\s+method: GET)/, '$1\n              outputRawFormat: avro'));
    const pass = await serveFaults(upstream.url, { file });
    try {
      const res = await fetch(`${pass.restUrl}/raw`);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    } finally {
      await pass.running.close();
    }
  });
});
