import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { parse } from 'yaml';
import type { ServeForTest } from './serve.js';

export const REFERENCE = process.env.NAFTIKO_REFERENCE_DIR ?? join(process.cwd(), '..', 'shared', 'reference');
export const TUTORIAL = join(REFERENCE, 'capabilities/reference-engine/main/resources/tutorial');
export const CASES_FILE = join(REFERENCE, 'naftiko-tutorial-conformance-tests-1.0.0-alpha2.yml');

/** One case of the reference tutorial's data-driven suite. */
export interface TutorialCase {
  readonly name: string;
  readonly file: string;
  readonly port: number;
  readonly type?: 'rest';
  readonly tool?: string;
  readonly args?: Record<string, unknown>;
  readonly method?: string;
  readonly path?: string;
  readonly body?: unknown;
  readonly validations: readonly { readonly jq: string }[];
}

export function referenceAvailable(): boolean {
  return existsSync(CASES_FILE);
}

export function loadCases(): TutorialCase[] {
  return (parse(readFileSync(CASES_FILE, 'utf8')) as { tests: TutorialCase[] }).tests;
}

/** The exposes entry of a tutorial file that listens on the case's port. */
export function adapterFor(file: string, port: number): { type: string; namespace?: string; authentication?: { type: string } } {
  const doc = parse(readFileSync(join(TUTORIAL, file), 'utf8')) as { capability: { exposes: { port?: number; type: string; namespace?: string }[] } };
  const found = doc.capability.exposes.find((e) => e.port === port);
  if (found === undefined) throw new Error(`${file} has no adapter on port ${port}`);
  return found;
}

/** The MCP server token the tutorial's binds resolve from shared/secrets.yaml. */
export function mcpToken(): string {
  return (parse(readFileSync(join(TUTORIAL, 'shared/secrets.yaml'), 'utf8')) as Record<string, string>)['mcp-server-token']!;
}

/** Runs a case against a served capability and returns the JSON the jq checks read. */
export async function runCase(c: TutorialCase, served: ServeForTest, adapterUrl: string): Promise<unknown> {
  if (c.type === 'rest') {
    const res = await fetch(`${adapterUrl}${c.path}`, {
      method: c.method ?? 'GET',
      headers: c.body === undefined ? {} : { 'content-type': 'application/json' },
      body: c.body === undefined ? undefined : JSON.stringify(c.body),
    });
    const text = await res.text();
    if (res.status >= 400) throw new Error(`${c.name}: HTTP ${res.status} ${text}`);
    return JSON.parse(text);
  }
  const client = new Client({ name: 'tutorial', version: '1.0.0' });
  const headers = { authorization: `Bearer ${mcpToken()}` };
  await client.connect(new StreamableHTTPClientTransport(new URL(`${adapterUrl}/mcp`), { requestInit: { headers } }));
  try {
    const result = await client.callTool({ name: c.tool!, arguments: c.args ?? {} });
    const text = (result.content as { text: string }[])[0]!.text;
    if (result.isError) throw new Error(`${c.name}: isError ${text}`);
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  } finally {
    await client.close();
  }
  void served;
}

/** Evaluates a jq expression with Debian's jq; true when it yields true. */
export function jqHolds(expression: string, value: unknown): boolean {
  const out = execFileSync('jq', ['-c', expression], { input: JSON.stringify(value) }).toString().trim();
  return out.split('\n').every((line) => line === 'true');
}
