/**
 * Our own route table. Fastify adds no routes after `listen`, so the REST
 * adapter registers one catch-all route and dispatches here; swapping the
 * table is how a capability can be replaced while serving.
 */

type Segment =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'pattern'; readonly regex: RegExp; readonly names: readonly string[] }
  /** A last segment that is exactly `{path}`: it takes the rest of the path (spec 2.9, forward). */
  | { readonly kind: 'rest'; readonly name: string };

export interface RouteMatch<T> {
  readonly route: T;
  /** Path variables, percent-decoded. */
  readonly params: Readonly<Record<string, string>>;
}

export type RouteLookup<T> =
  | { readonly found: true; readonly match: RouteMatch<T> }
  | { readonly found: false; readonly allowed: readonly string[] };

interface CompiledPath<T> {
  readonly segments: readonly Segment[];
  readonly methods: ReadonlyMap<string, T>;
}

/** Method key of a route that takes every method (a forward). */
export const ANY_METHOD = '*';

const VARIABLE = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}|\{([A-Za-z0-9_.-]+)\}/g;

export class RouteTable<T> {
  #paths: CompiledPath<T>[] = [];

  /** Adds a path template (`/ships/{imo}` or `/ships/{{imo}}`) with its handlers by method. */
  add(template: string, methods: ReadonlyMap<string, T>): void {
    this.#paths.push({ segments: compilePath(template), methods });
  }

  /** Finds the route for a method and a raw (still encoded) path. */
  lookup(method: string, rawPath: string): RouteLookup<T> | undefined {
    const parts = rawPath.split('/').slice(1);
    for (const path of this.#paths) {
      const params = matchSegments(path.segments, parts);
      if (params === undefined) continue;
      const route = path.methods.get(method)
        ?? (method === 'HEAD' ? path.methods.get('GET') : undefined)
        ?? path.methods.get(ANY_METHOD);
      if (route !== undefined) return { found: true, match: { route, params } };
      return { found: false, allowed: [...path.methods.keys()].filter((m) => m !== ANY_METHOD) };
    }
    return undefined;
  }
}

function compilePath(template: string): Segment[] {
  const parts = template.split('/').slice(1);
  return parts.map((segment, i): Segment => {
    if (i === parts.length - 1 && /^\{\{?\s*path\s*\}?\}$/.test(segment)) return { kind: 'rest', name: 'path' };
    const names: string[] = [];
    let source = '';
    let last = 0;
    for (const m of segment.matchAll(VARIABLE)) {
      source += escapeRegex(segment.slice(last, m.index)) + '([^/]+)';
      names.push((m[1] ?? m[2])!);
      last = m.index + m[0].length;
    }
    if (names.length === 0) return { kind: 'literal', text: segment };
    source += escapeRegex(segment.slice(last));
    return { kind: 'pattern', regex: new RegExp(`^${source}$`), names };
  });
}

function matchSegments(segments: readonly Segment[], parts: readonly string[]): Record<string, string> | undefined {
  const last = segments.at(-1);
  const spans = last?.kind === 'rest';
  if (spans ? parts.length < segments.length : segments.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const part = parts[i]!;
    if (segment.kind === 'rest') {
      // Kept encoded: it is handed on as a path, not read as one value.
      const rest = parts.slice(i).join('/');
      if (rest === '' || parts.slice(i).some((p) => p === '..' || p === '.' || /^%2e(%2e)?$/i.test(p))) return undefined;
      params[segment.name] = rest;
      break;
    }
    if (segment.kind === 'literal') {
      if (segment.text !== part) return undefined;
      continue;
    }
    const m = segment.regex.exec(part);
    if (m === null) return undefined;
    for (let j = 0; j < segment.names.length; j++) {
      const value = decodeSegment(m[j + 1]!);
      if (value === undefined) return undefined;
      params[segment.names[j]!] = value;
    }
  }
  return params;
}

function decodeSegment(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
