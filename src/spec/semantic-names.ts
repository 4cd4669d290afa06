import type { ErrorCode } from '../errors/codes.js';
import type { SemanticFinding, SemanticInput } from './semantics.js';
import { didYouMean } from './suggest.js';
import type { ExposeSpec, McpExposeSpec, RestExposeSpec } from './types.js';

/**
 * Names that must be unique, ports that must not be shared, and skill tools
 * that name an adapter action. Each later occurrence is one finding; the
 * first stays the valid one.
 */
export function checkNames(input: SemanticInput): SemanticFinding[] {
  const out: SemanticFinding[] = [];
  const report = (code: ErrorCode, pointer: string, message: string) => {
    out.push({ severity: 'error', code, message, file: input.file, pointer });
  };
  const doc = input.document as unknown as Record<string, unknown>;
  const capability = (doc.capability ?? {}) as Record<string, unknown>;
  const exposes = (capability.exposes ?? []) as ExposeSpec[];

  checkNamespaces(doc, capability, report);
  checkConsumedOperations(doc, capability, report);
  checkPorts(exposes, report);
  exposes.forEach((expose, i) => {
    const pointer = `/capability/exposes/${i}`;
    if (expose.type === 'mcp') checkMcpNames(expose, pointer, report);
    if (expose.type === 'rest') checkRoutes(expose, pointer, report);
    if (expose.type === 'skill') checkSkillSources(expose, exposes, pointer, report);
  });
  checkFunctions(capability, report);
  return out;
}

type Report = (code: ErrorCode, pointer: string, message: string) => void;

/** Remembers the first pointer of each name; reports the later ones. */
function uniqueNames(
  report: Report,
  describe: (name: string, first: string) => string,
  code: ErrorCode = 'CAP_SPEC_DUPLICATE',
) {
  const seen = new Map<string, string>();
  return (name: unknown, pointer: string) => {
    if (typeof name !== 'string') return;
    const first = seen.get(name);
    if (first === undefined) seen.set(name, pointer);
    else report(code, pointer, describe(name, first));
  };
}

type Entries = readonly Record<string, unknown>[];

/**
 * One namespace space for binds, consumes, adapters and aggregates: `with`
 * prefixes, `{{namespace.KEY}}`, `call` and `ref` all resolve names in it
 * (spec lint rule naftiko-namespaces-unique, extended to aggregates).
 */
function checkNamespaces(doc: Record<string, unknown>, capability: Record<string, unknown>, report: Report): void {
  const add = uniqueNames(report, (name, first) =>
    `namespace \`${name}\` is already declared at \`${label(first)}\`; ` +
    'every bind, consumed namespace, adapter and aggregate needs its own');
  const each = (list: unknown, base: string, pick: (entry: Record<string, unknown>) => [unknown, string]) => {
    ((list ?? []) as Entries).forEach((entry, i) => {
      const [name, key] = pick(entry);
      add(name, `${base}/${i}/${key}`);
    });
  };
  const namespace = (entry: Record<string, unknown>): [unknown, string] => [entry.namespace, 'namespace'];
  const consumed = (entry: Record<string, unknown>): [unknown, string] => {
    if (!('location' in entry)) return [entry.namespace, 'namespace'];
    return entry.as !== undefined ? [entry.as, 'as'] : [entry.import, 'import'];
  };

  each(doc.binds, '/binds', namespace);
  each(doc.consumes, '/consumes', consumed);
  each(capability.binds, '/capability/binds', namespace);
  each(capability.consumes, '/capability/consumes', consumed);
  each(capability.exposes, '/capability/exposes', namespace);
  each(capability.aggregates, '/capability/aggregates', namespace);
}

/** `call` finds the first operation of a name in a namespace; a second is unreachable. */
function checkConsumedOperations(
  doc: Record<string, unknown>,
  capability: Record<string, unknown>,
  report: Report,
): void {
  const lists: [unknown, string][] = [[doc.consumes, '/consumes'], [capability.consumes, '/capability/consumes']];
  for (const [list, base] of lists) {
    ((list ?? []) as Entries).forEach((entry, c) => {
      if ('location' in entry) return;
      const add = uniqueNames(report, (name, first) =>
        `consumed operation \`${name}\` is already declared at \`${label(first)}\`; ` +
        `\`call: ${String(entry.namespace)}.${name}\` would never reach this one`);
      ((entry.resources ?? []) as Entries).forEach((resource, r) => {
        ((resource.operations ?? []) as Entries).forEach((operation, o) => {
          add(operation.name, `${base}/${c}/resources/${r}/operations/${o}/name`);
        });
      });
    });
  }
}

/** Adapters listen side by side, each on its own port (stdio MCP has none). */
function checkPorts(exposes: readonly ExposeSpec[], report: Report): void {
  const add = uniqueNames(
    report,
    (port, first) =>
      `port ${port} is already claimed by the adapter at ` +
      `\`${label(first.replace(/\/port$/, ''))}\`; give each adapter its own port`,
    'CAP_SPEC_PORT',
  );
  let control: string | undefined;
  exposes.forEach((expose, i) => {
    const pointer = `/capability/exposes/${i}`;
    if (expose.type === 'control') {
      if (control !== undefined) {
        const message = `a capability has at most one control adapter; the first is at \`${label(control)}\``;
        report('CAP_SPEC_DUPLICATE', `${pointer}/type`, message);
      }
      control ??= pointer;
    }
    if (typeof expose.port === 'number') add(String(expose.port), `${pointer}/port`);
  });
}

function checkMcpNames(expose: McpExposeSpec, pointer: string, report: Report): void {
  const tools = uniqueNames(report, (name, first) =>
    `tool name \`${name}\` is already used at \`${label(first)}\`; MCP clients call tools by name`);
  expose.tools.forEach((tool, t) => {
    // A tool with `ref` and no name takes the function's name.
    const name = tool.name ?? tool.ref?.slice(tool.ref.indexOf('.') + 1);
    tools(name, `${pointer}/tools/${t}/${tool.name === undefined ? 'ref' : 'name'}`);
  });
  const uris = uniqueNames(report, (uri, first) =>
    `resource URI \`${uri}\` is already used at \`${label(first)}\`; MCP clients read resources by URI`);
  (expose.resources ?? []).forEach((resource, r) => uris(resource.uri, `${pointer}/resources/${r}/uri`));
  const prompts = uniqueNames(report, (name, first) =>
    `prompt name \`${name}\` is already used at \`${label(first)}\`; MCP clients get prompts by name`);
  (expose.prompts ?? []).forEach((prompt, p) => prompts(prompt.name, `${pointer}/prompts/${p}/name`));
}

/**
 * One operation per method and path shape: the router would only ever reach
 * the first. `/a/{x}` and `/a/{{y}}` match the same requests, so the shape
 * decides, while messages print each route as written.
 */
function checkRoutes(expose: RestExposeSpec, pointer: string, report: Report): void {
  const seen = new Map<string, { route: string; pointer: string }>();
  (expose.resources ?? []).forEach((resource, r) => {
    const shape = resource.path.replace(/\{\{[^}]*\}\}|\{[^}]*\}/g, '{}');
    (resource.operations ?? []).forEach((operation, o) => {
      const method = operation.method ?? 'GET';
      const at = `${pointer}/resources/${r}/operations/${o}/method`;
      const route = `${method} ${resource.path}`;
      const first = seen.get(`${method} ${shape}`);
      if (first === undefined) {
        seen.set(`${method} ${shape}`, { route, pointer: at });
        return;
      }
      const clash = first.route === route
        ? 'is already served'
        : `matches the same requests as \`${first.route}\`, served`;
      const message = `route \`${route}\` ${clash} at \`${label(first.pointer)}\`; ` +
        'the second can never be reached';
      report('CAP_SPEC_DUPLICATE', at, message);
    });
  });
}

function checkFunctions(capability: Record<string, unknown>, report: Report): void {
  ((capability.aggregates ?? []) as Entries).forEach((aggregate, a) => {
    const add = uniqueNames(report, (name, first) =>
      `function name \`${name}\` is already used at \`${label(first)}\`; \`ref\` could not tell them apart`);
    ((aggregate.functions ?? []) as Entries).forEach((fn, f) => {
      add(fn.name, `/capability/aggregates/${a}/functions/${f}/name`);
    });
  });
}

/**
 * A skill tool derived `from` an adapter action names a REST operation or
 * an MCP tool of the same capability (the engine checks this at start-up).
 */
function checkSkillSources(expose: ExposeSpec, exposes: readonly ExposeSpec[], pointer: string, report: Report): void {
  const skills = ((expose as unknown as Record<string, unknown>).skills ?? []) as Entries;
  skills.forEach((skill, s) => {
    ((skill.tools ?? []) as Entries).forEach((tool, t) => {
      const from = tool.from as { sourceNamespace?: string; action?: string } | undefined;
      if (from?.sourceNamespace === undefined) return;
      const at = `${pointer}/skills/${s}/tools/${t}/from`;
      const adapters = exposes.filter((e) => e.type === 'rest' || e.type === 'mcp');
      const source = adapters.find((e) => e.namespace === from.sourceNamespace);
      if (source === undefined) {
        const known = adapters.map((e) => String(e.namespace));
        const hint = didYouMean(from.sourceNamespace, known) ||
          (known.length === 0 ? '; the capability has no REST or MCP adapter' : ` (known: ${quoted(known)})`);
        const message = `skill tool source \`${from.sourceNamespace}\` names no REST or MCP adapter${hint}`;
        report('CAP_SPEC_REF', `${at}/sourceNamespace`, message);
        return;
      }
      const actions = actionsOf(source);
      if (typeof from.action === 'string' && !actions.includes(from.action)) {
        const hint = didYouMean(from.action, actions) || ` (its actions: ${quoted(actions) || 'none'})`;
        const kind = source.type === 'rest' ? 'named operation' : 'tool';
        const message = `skill tool action \`${from.action}\` is no ${kind} of \`${from.sourceNamespace}\`${hint}`;
        report('CAP_SPEC_REF', `${at}/action`, message);
      }
    });
  });
}

function actionsOf(expose: ExposeSpec): string[] {
  if (expose.type === 'mcp') return expose.tools.map((t) => t.name ?? '').filter((n) => n !== '');
  if (expose.type === 'rest') {
    return expose.resources.flatMap((r) => (r.operations ?? []).map((o) => o.name ?? '')).filter((n) => n !== '');
  }
  return [];
}

function quoted(names: readonly string[]): string {
  return names.map((name) => `\`${name}\``).join(', ');
}

/** `capability.exposes[0].tools[1]` for `/capability/exposes/0/tools/1`. */
export function label(pointer: string): string {
  return pointer.split('/').slice(1).reduce((acc, token) => {
    const name = token.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(name)) return `${acc}[${name}]`;
    return acc === '' ? name : `${acc}.${name}`;
  }, '');
}
