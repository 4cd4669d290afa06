import { parse as parseCsv } from 'csv-parse/sync';
import { XMLParser } from 'fast-xml-parser';
import { Lexer, type Tokens } from 'marked';
import { parse as parseHtml, type HTMLElement } from 'node-html-parser';
import { parse as parseYaml } from 'yaml';

/**
 * `outputRawFormat` (spec 1.4.5): how an upstream body is turned into JSON
 * before output mapping. Every conversion uses a maintained parser; none is
 * written here. A pass-through output never comes this way: its body is
 * handed on as the upstream sent it.
 */

/** The formats we convert, by their lower-case spec label. */
export const RAW_FORMATS = ['json', 'xml', 'yaml', 'csv', 'tsv', 'psv', 'html', 'markdown'] as const;

export type RawFormat = (typeof RAW_FORMATS)[number];

/** Formats the spec lists that need a schema file and a binary decoder; refused at load. */
export const REFUSED_FORMATS = ['avro', 'protobuf'] as const;

/** The spec matches labels case-insensitively; json is the default. */
export function normalizeRawFormat(label: string | undefined): string {
  return (label ?? 'json').trim().toLowerCase();
}

export function isRawFormat(label: string): label is RawFormat {
  return (RAW_FORMATS as readonly string[]).includes(label);
}

/**
 * Converts a body to a JSON value. `schema` is the operation's
 * `outputSchema`: a CSS selector for html, a heading prefix for markdown,
 * unused otherwise. Throws the parser's error when the body does not parse.
 */
export function convertRawBody(format: RawFormat, text: string, schema?: string): unknown {
  switch (format) {
    case 'json':
      return text.trim() === '' ? null : (JSON.parse(text) as unknown);
    case 'xml':
      return convertXml(text);
    case 'yaml':
      return parseYaml(text) as unknown;
    case 'csv':
      return convertDelimited(text, ',');
    case 'tsv':
      return convertDelimited(text, '\t');
    case 'psv':
      return convertDelimited(text, '|');
    case 'html':
      return convertHtml(text, schema);
    case 'markdown':
      return convertMarkdown(text, schema);
  }
}

/**
 * Header row, then one object per record; every value stays a string, as
 * in the reference engine. Quoted fields may hold separators, quotes, line
 * breaks and NUL bytes.
 */
function convertDelimited(text: string, delimiter: string): Record<string, string>[] {
  return parseCsv(text, { columns: true, delimiter, bom: true, skip_empty_lines: true }) as Record<string, string>[];
}

/**
 * For a CSV or TSV body that is its header row only, a sentence saying
 * there are no records (an MCP caller should not have to infer that from a
 * bare header); undefined for anything else, including unparsable text.
 */
export function emptyTableNotice(contentType: string | undefined, text: string): string | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  const delimiter = type === 'text/csv' ? ',' : type === 'text/tab-separated-values' ? '\t' : undefined;
  if (delimiter === undefined) return undefined;
  try {
    const rows = parseCsv(text, { delimiter, bom: true, skip_empty_lines: true }) as string[][];
    if (rows.length !== 1) return undefined;
    return `no records: the upstream sent only the header row (${rows[0]!.join(', ')})`;
  } catch {
    return undefined;
  }
}

const xmlParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  // Jackson's XmlMapper puts the text of an element with attributes under "".
  textNodeName: '',
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  trimValues: true,
});

/**
 * Child elements become fields, a repeated element an array, attributes
 * fields, every leaf a string; the root element itself is dropped, so
 * `<vessels><vessel/>…</vessels>` maps with `$.vessel`.
 */
function convertXml(text: string): unknown {
  const document = xmlParser.parse(text, true) as Record<string, unknown>;
  const roots = Object.keys(document);
  if (roots.length !== 1) throw new Error(`expected one root element, found ${roots.length}`);
  const root = document[roots[0]!];
  return root === '' ? {} : root;
}

/**
 * `{"tables": [[{header: cell}]]}`: the tables `selector` picks (all
 * `<table>`s by default). Headers come from the first row of `<th>` cells;
 * rows holding any `<th>` are skipped; a missing cell is ""; a table
 * without headers is left out.
 */
function convertHtml(text: string, selector: string | undefined): { tables: Record<string, string>[][] } {
  const root = parseHtml(text);
  const tables: Record<string, string>[][] = [];
  for (const table of root.querySelectorAll(selector?.trim() || 'table')) {
    const rows = table.querySelectorAll('tr');
    const headerRow = rows.find((row) => cellsOf(row, 'th').length > 0);
    if (headerRow === undefined) continue;
    const headers = cellsOf(headerRow, 'th').map((cell) => cell.text.trim());
    const records: Record<string, string>[] = [];
    for (const row of rows) {
      if (cellsOf(row, 'th').length > 0) continue;
      const cells = cellsOf(row, 'td').map((cell) => cell.text.trim());
      records.push(Object.fromEntries(headers.map((h, i) => [h, cells[i] ?? ''])));
    }
    tables.push(records);
  }
  return { tables };
}

function cellsOf(row: HTMLElement, tag: 'th' | 'td'): HTMLElement[] {
  return row.childNodes.filter((n): n is HTMLElement => (n as HTMLElement).tagName?.toLowerCase() === tag);
}

interface MarkdownSection {
  heading: string;
  level: number;
  content: string;
}

/**
 * `{"frontMatter", "tables", "sections"}`: YAML front matter, every table
 * as records keyed by its header cells, and every heading with the raw
 * Markdown up to the next heading. `headingPrefix` keeps only the sections
 * whose heading starts with it.
 */
function convertMarkdown(text: string, headingPrefix: string | undefined) {
  const { frontMatter, body } = splitFrontMatter(text);
  const tokens = new Lexer().lex(body);
  const tables: Record<string, string>[][] = [];
  const sections: MarkdownSection[] = [];
  let current: MarkdownSection | undefined;

  for (const token of tokens) {
    if (token.type === 'heading') {
      current = { heading: (token as Tokens.Heading).text, level: (token as Tokens.Heading).depth, content: '' };
      sections.push(current);
      continue;
    }
    if (token.type === 'table') tables.push(tableRecords(token as Tokens.Table));
    if (current !== undefined) current.content += token.raw;
  }
  for (const section of sections) section.content = section.content.trim();
  const wanted = headingPrefix?.trim();
  const kept = wanted ? sections.filter((s) => s.heading.startsWith(wanted)) : sections;
  return { frontMatter, tables, sections: kept };
}

function tableRecords(table: Tokens.Table): Record<string, string>[] {
  const headers = table.header.map((cell) => cell.text);
  return table.rows.map((row) => Object.fromEntries(headers.map((h, i) => [h, row[i]?.text ?? ''])));
}

/** Front matter is a YAML document between `---` lines at the very start. */
function splitFrontMatter(text: string): { frontMatter: unknown; body: string } {
  const match = /^\uFEFF?---\r?\n([\s\S]*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|$)/.exec(text);
  if (match === null) return { frontMatter: {}, body: text };
  return { frontMatter: parseYaml(match[1]!) ?? {}, body: text.slice(match[0].length) };
}
