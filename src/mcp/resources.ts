import { readdir, readFile, realpath } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProtocolError, ResourceNotFoundError } from '@modelcontextprotocol/server';
import type { BoundInvocation, CapabilityBinding } from '../binding/capability-binding.js';
import { CapabilityError } from '../errors/capability-error.js';
import type { McpExposeSpec } from '../spec/types.js';
import { readCapped } from './results.js';

/** One declared MCP resource, bound at start-up (spec McpResource). */
interface BoundResource {
  readonly name: string;
  readonly title?: string;
  readonly description?: string;
  readonly mimeType?: string;
  readonly uri: string;
  /** Variables of a templated URI (`data://users/{userId}/profile`). */
  readonly variables: readonly string[];
  readonly matcher?: RegExp;
  readonly call?: BoundInvocation;
  /** Directory of a static resource (`location: file:///...`). */
  readonly directory?: string;
}

export interface ResourceCatalog {
  readonly isEmpty: boolean;
  list(): Promise<{ resources: Record<string, unknown>[] }>;
  listTemplates(): { resourceTemplates: Record<string, unknown>[] };
  read(uri: string, signal: AbortSignal, capBytes: number): Promise<{ contents: Record<string, unknown>[] }>;
}

/** Binds the `resources` of an MCP adapter: dynamic (call), templated and static (location). */
export function bindResources(binding: CapabilityBinding, expose: McpExposeSpec, exposeIndex: number): ResourceCatalog {
  const file = binding.capability.file;
  const prefixes = binding.capability.strict ? [`${expose.namespace}.`] : [`${expose.namespace}.`, 'tools.'];
  const resources = (expose.resources ?? []).map((raw, r): BoundResource => {
    const spec = raw as Record<string, unknown> & { name: string; uri: string };
    const pointer = `/capability/exposes/${exposeIndex}/resources/${r}`;
    const variables = [...spec.uri.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]!);
    const base = {
      name: spec.name,
      title: spec.label as string | undefined,
      description: spec.description as string | undefined,
      mimeType: spec.mimeType as string | undefined,
      uri: spec.uri,
      variables,
      matcher: variables.length === 0 ? undefined : templateMatcher(spec.uri),
    };
    if (typeof spec.location === 'string') return { ...base, directory: locationPath(file, spec.location, pointer) };
    if (typeof spec.call === 'string') return { ...base, call: binding.bindInvocable(spec as never, prefixes, pointer) };
    throw new CapabilityError('CAP_SPEC_UNSUPPORTED', `${file}: resource "${spec.name}" uses steps, not supported yet`, {
      location: { file, pointer },
    });
  });

  return {
    isEmpty: resources.length === 0,
    list: async () => ({ resources: (await Promise.all(resources.filter((r) => r.matcher === undefined).map(listEntries))).flat() }),
    listTemplates: () => ({
      resourceTemplates: resources.filter((r) => r.matcher !== undefined).map((r) => ({
        uriTemplate: r.uri,
        name: r.name,
        ...(r.title === undefined ? {} : { title: r.title }),
        ...(r.description === undefined ? {} : { description: r.description }),
        mimeType: r.mimeType ?? 'application/json',
      })),
    }),
    read: (uri, signal, capBytes) => readResource(resources, uri, signal, capBytes),
  };
}

async function listEntries(r: BoundResource): Promise<Record<string, unknown>[]> {
  const meta = {
    ...(r.title === undefined ? {} : { title: r.title }),
    ...(r.description === undefined ? {} : { description: r.description }),
  };
  if (r.directory === undefined) return [{ uri: r.uri, name: r.name, ...meta, mimeType: r.mimeType ?? 'application/json' }];
  const files = await readdir(r.directory, { recursive: true, withFileTypes: true });
  return files
    .filter((f) => f.isFile())
    .map((f) => relative(r.directory!, join(f.parentPath, f.name)).split(sep).join('/'))
    .sort()
    .map((path) => ({ uri: `${r.uri}/${path}`, name: `${r.name}/${path}`, ...meta, ...(r.mimeType === undefined ? {} : { mimeType: r.mimeType }) }));
}

async function readResource(resources: readonly BoundResource[], uri: string, signal: AbortSignal, capBytes: number) {
  for (const r of resources) {
    if (r.directory !== undefined && uri.startsWith(`${r.uri}/`)) {
      return { contents: [{ uri, ...(r.mimeType === undefined ? {} : { mimeType: r.mimeType }), text: await readStatic(r.directory, uri.slice(r.uri.length + 1), uri) }] };
    }
    const inputs = r.matcher === undefined ? (uri === r.uri ? new Map<string, unknown>() : undefined) : matchTemplate(r, uri);
    if (inputs === undefined || r.call === undefined) continue;
    const result = await r.call.invoke(inputs, { mode: 'value', signal });
    const text = result.kind === 'value' ? JSON.stringify(result.value) : (await readCapped(result.body, capBytes)).text;
    if (result.status >= 400) throw new ProtocolError(-32603, `upstream returned HTTP ${result.status} for ${uri}: ${text.slice(0, 2048)}`);
    const mimeType = r.mimeType ?? (result.kind === 'value' ? 'application/json' : result.headers['content-type'] ?? 'text/plain');
    return { contents: [{ uri, mimeType, text }] };
  }
  throw new ResourceNotFoundError(uri, `Resource not found: ${uri}`);
}

/**
 * Static files are read only from inside the declared directory: each
 * segment must be a plain name, and the resolved real path must stay under
 * the directory, so `..` or a symlink cannot reach other files.
 */
async function readStatic(directory: string, path: string, uri: string): Promise<string> {
  const segments = path.split('/');
  if (segments.some((s) => !/^[A-Za-z0-9._-]+$/.test(s) || s === '.' || s === '..')) {
    throw new ProtocolError(-32602, `Invalid resource path in ${uri}`);
  }
  try {
    const root = await realpath(directory);
    const target = await realpath(resolve(root, ...segments));
    if (!target.startsWith(root + sep)) throw new Error('outside');
    return await readFile(target, 'utf8');
  } catch {
    throw new ResourceNotFoundError(uri, `Resource not found: ${uri}`);
  }
}

function templateMatcher(uriTemplate: string): RegExp {
  const source = uriTemplate
    .split(/(\{[A-Za-z0-9_]+\})/)
    .map((part) => (/^\{[A-Za-z0-9_]+\}$/.test(part) ? '([^/]+)' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`);
}

function matchTemplate(r: BoundResource, uri: string): Map<string, unknown> | undefined {
  const m = r.matcher!.exec(uri);
  if (m === null) return undefined;
  return new Map(r.variables.map((name, i) => [name, decodeURIComponent(m[i + 1]!)]));
}

/** `file:///abs/dir`, `file:///./rel` or a plain path, relative to the capability file. */
export function locationPath(file: string, location: string, pointer: string): string {
  const base = dirname(file);
  if (location.startsWith('file:///./') || location.startsWith('file://./')) return resolve(base, location.replace(/^file:\/\/\/?/, ''));
  if (location.startsWith('file://')) return fileURLToPath(location);
  if (/^[a-z][a-z0-9+.-]*:/i.test(location)) {
    throw new CapabilityError('CAP_SPEC_UNSUPPORTED', `${file}: location ${location} is not a file: location`, { location: { file, pointer } });
  }
  return resolve(base, location);
}
