// Shared pieces of the upstream-* tests: a capability that exposes one
// route and one tool per upstream behaviour we test (pass-through, mapped
// JSON, each outputRawFormat, a PUT with and without an idempotent hint),
// served in-process with the options under test.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { PolicyLayer } from '../../src/binding/policy.js';
import { serveCapability, type RunningCapability } from '../../src/cli/serve.js';

const FORMATS = ['csv', 'tsv', 'psv', 'xml', 'yaml', 'html', 'markdown'] as const;

/** Mapped outputs per format: each selects inside the converted value. */
const FORMAT_OUTPUTS: Record<(typeof FORMATS)[number], string> = {
  csv: '[{ type: array, mapping: "$[*]" }]',
  tsv: '[{ type: array, mapping: "$[*]" }]',
  psv: '[{ type: array, mapping: "$[*]" }]',
  xml: '[{ type: array, mapping: "$.vessel" }]',
  yaml: '[{ type: object, mapping: $, properties: { name: { type: string, mapping: $.name } } }]',
  html: '[{ type: array, mapping: $.tables }]',
  markdown: '[{ type: object, mapping: $, properties: { sections: { type: array, mapping: $.sections }, frontMatter: { type: object, mapping: $.frontMatter } } }]',
};

const PASS = '[{ type: object, mapping: $. }]';
/** Mapped, not a pass-through: `{ items: <the upstream items> }`. */
const ITEMS = '[{ type: object, mapping: $, properties: { items: { type: array, mapping: $.items } } }]';

function capabilityYaml(): string {
  const consumed = [
    resource('raw', '/raw', 'GET'),
    resource('healthy', '/healthy', 'GET'),
    resource('items', '/items', 'GET'),
    resource('put-items', '/items', 'PUT', 'put-items'),
    ...FORMATS.map((f) => resource(`fmt-${f}`, `/${f}`, 'GET', `get-${f}`, f)),
  ].join('');
  const routes = [
    route('/raw', 'GET', 'get-raw', PASS),
    route('/healthy', 'GET', 'get-healthy', PASS),
    route('/items', 'GET', 'get-items', ITEMS),
    route('/items', 'PUT', 'put-items', ITEMS),
    ...FORMATS.map((f) => route(`/${f}`, 'GET', `get-${f}`, FORMAT_OUTPUTS[f])),
  ].join('');
  const tools = [
    tool('get-raw', 'get-raw', PASS, false),
    tool('get-items', 'get-items', ITEMS, false),
    tool('put-items', 'put-items', ITEMS, true),
    tool('put-items-unhinted', 'put-items', ITEMS, false),
    tool('get-csv', 'get-csv', FORMAT_OUTPUTS.csv, false),
  ].join('');
  return `naftiko: 1.0.0-alpha2
info:
  label: Upstream faults
  description: One route and tool per upstream behaviour under test.
capability:
  consumes:
    - type: http
      namespace: faults
      baseUri: http://127.0.0.1:9
      resources:${consumed}
  exposes:
    - type: rest
      namespace: faults-rest
      port: 8080
      resources:${routes}
    - type: mcp
      namespace: faults-mcp
      port: 9090
      tools:${tools}
`;
}

function resource(name: string, path: string, method: string, op = `get-${name}`, format?: string): string {
  return `
        - name: ${name}
          path: ${path}
          operations:
            - name: ${op}
              method: ${method}${format === undefined ? '' : `\n              outputRawFormat: ${format}`}`;
}

function route(path: string, method: string, op: string, outputs: string): string {
  return `
        - path: ${path}
          name: r-${op}
          operations:
            - method: ${method}
              call: faults.${op}
              outputParameters: ${outputs}`;
}

function tool(name: string, op: string, outputs: string, idempotent: boolean): string {
  return `
        - name: ${name}
          description: Calls ${op}.
          hints: { readOnly: false, idempotent: ${idempotent} }
          call: faults.${op}
          outputParameters: ${outputs}`;
}

/** Writes the fault capability to a fresh temporary file. */
export function writeFaultCapability(): string {
  const dir = mkdtempSync(join(tmpdir(), 'naftiko-upstream-'));
  const file = join(dir, 'faults.yaml');
  writeFileSync(file, capabilityYaml());
  return file;
}

export interface FaultServeOptions {
  readonly policies?: readonly PolicyLayer[];
  readonly bufferCapBytes?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly file?: string;
  readonly logLevel?: string;
  readonly onLog?: (line: Record<string, unknown>) => void;
}

export interface FaultServe {
  readonly running: RunningCapability;
  readonly restUrl: string;
  readonly mcpUrl: string;
  /** Log lines (pino JSON objects) written while serving. */
  readonly logs: Record<string, unknown>[];
}

/** Serves the fault capability in-process against `upstreamUrl`. */
export async function serveFaults(upstreamUrl: string, options: FaultServeOptions = {}): Promise<FaultServe> {
  const logs: Record<string, unknown>[] = [];
  const sink = {
    write: (line: string) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      options.onLog?.(entry);
    },
  };
  const { default: pino } = await import('pino');
  const logger = pino({ level: options.logLevel ?? 'info' }, sink);
  const running = await serveCapability(
    {
      file: options.file ?? writeFaultCapability(),
      strict: false,
      baseUris: new Map([['faults', upstreamUrl]]),
      ports: new Map([['faults-rest', 0], ['faults-mcp', 0]]),
      host: '127.0.0.1',
      logLevel: 'info',
      stdio: false,
      allowedHosts: [],
      mcpResultCapBytes: undefined,
      upstreamPolicies: options.policies ?? [],
      bufferCapBytes: options.bufferCapBytes,
    },
    logger,
    options.env ?? { NO_PROXY: '127.0.0.1,localhost' },
    '0.0.0-test',
  );
  const rest = running.adapters.find((a) => a.type === 'rest')!;
  const mcp = running.adapters.find((a) => a.type === 'mcp')!;
  return { running, restUrl: rest.url, mcpUrl: `${mcp.url}/mcp`, logs };
}

/** A connected MCP client (SDK v1, Streamable HTTP). */
export async function connectMcp(url: string): Promise<Client> {
  const client = new Client({ name: 'upstream-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

/** The first text block of a tool result. */
export function firstText(result: unknown): string {
  return ((result as { content: { text: string }[] }).content[0]?.text) ?? '';
}
