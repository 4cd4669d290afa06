import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CapabilityError, isCapabilityError } from '../errors/capability-error.js';
import type { ErrorCode } from '../errors/codes.js';
import { diagnosticsError, type Diagnostic } from './diagnostic.js';
import { validateDocument, type SchemaProfile } from './schema.js';
import {
  checkConsumesDocument,
  checkSemantics,
  type ConsumedSource,
  type SemanticFinding,
} from './semantics.js';
import { readSource, type SourceDocument } from './source.js';
import { checkSupport } from './support.js';
import { didYouMean } from './suggest.js';
import type { CapabilityDocument, ConsumesSpec, ImportedConsumesSpec } from './types.js';

export { formatDiagnostic, type Diagnostic } from './diagnostic.js';

/** The only spec version this runtime reads. */
export const SPEC_VERSION = '1.0.0-alpha2';

/** A validated capability with its consumed namespaces resolved. */
export interface LoadedCapability {
  readonly file: string;
  readonly document: CapabilityDocument;
  /** Every consumed namespace, inline or imported, by namespace (after `as`). */
  readonly consumes: ReadonlyMap<string, ConsumesSpec>;
  readonly warnings: readonly Diagnostic[];
  /** True when loaded with `--strict`: no generated-dialect rule applies. */
  readonly strict: boolean;
}

export interface LoadOptions {
  /** Turn off every generated-dialect rule (`--strict`). */
  readonly strict?: boolean;
}

/** What `validate` reports about one file. */
export interface ValidationReport {
  readonly file: string;
  /** `consumes`: a consumes-only document (root `consumes`), made to be imported. */
  readonly kind: 'capability' | 'consumes' | 'unknown';
  readonly valid: boolean;
  /** Errors and warnings, in file order (an imported file's after the file's own). */
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Checks one file without throwing for anything the file does: source
 * (YAML, encoding, limits), schema, then the semantic stage, which runs only
 * on a document the schema accepts.
 */
export async function validateFile(file: string, options: LoadOptions = {}): Promise<ValidationReport> {
  const { kind, diagnostics } = await analyze(file, options.strict === true);
  const valid = !diagnostics.some((d) => d.severity === 'error');
  return { file, kind, valid, diagnostics };
}

/**
 * Reads, validates and freezes a capability file. Throws a CapabilityError
 * whose message lists every error as `file:line:column: error CODE ...`
 * (the same lines `validate` prints) and whose `data.diagnostics` has them all.
 */
export async function loadCapability(file: string, options: LoadOptions = {}): Promise<LoadedCapability> {
  const strict = options.strict === true;
  const analysis = await analyze(file, strict);
  const { diagnostics } = analysis;
  if (diagnostics.some((d) => d.severity === 'error')) throw diagnosticsError(file, diagnostics);
  if (analysis.kind !== 'capability' || analysis.document === undefined) {
    throw new CapabilityError(
      'CAP_SPEC_CONSUMES_ONLY',
      `${file}: a consumes-only document (root \`consumes\`) has nothing to serve; ` +
        'import it from a capability with `capability.consumes: [{location, import}]` and serve that',
      { location: { file, line: 1, column: 1 } },
    );
  }

  const consumes = new Map<string, ConsumesSpec>();
  for (const source of analysis.consumes) {
    if (consumes.has(source.namespace)) continue;
    const renamed = source.spec.namespace !== source.namespace;
    consumes.set(source.namespace, renamed ? { ...source.spec, namespace: source.namespace } : source.spec);
  }
  return deepFreeze({
    file,
    document: analysis.document,
    consumes,
    warnings: diagnostics.filter((d) => d.severity === 'warning'),
    strict,
  });
}

/** Schema-stage diagnostics of a parsed source, located in the file. */
export function checkDocument(source: SourceDocument, profile: SchemaProfile): Diagnostic[] {
  return validateDocument(source.value, profile).map(({ atKey, ...finding }) => {
    const { line, column } = source.locate(finding.pointer, atKey === true);
    return { ...finding, file: source.file, line, column };
  });
}

// ---------------------------------------------------------------------------
// The pipeline.

interface Analysis {
  readonly kind: ValidationReport['kind'];
  readonly diagnostics: Diagnostic[];
  readonly document?: CapabilityDocument;
  readonly consumes: readonly ConsumedSource[];
}

async function analyze(file: string, strict: boolean): Promise<Analysis> {
  const read = await readOrReport(file);
  if ('diagnostics' in read) return { kind: 'unknown', diagnostics: read.diagnostics, consumes: [] };
  const { source } = read;

  const early = checkDocumentKind(source, strict);
  if (early.some((d) => d.severity === 'error')) {
    return { kind: kindOf(source.value), diagnostics: sortDiagnostics(file, early), consumes: [] };
  }

  const value = source.value as Record<string, unknown>;
  if (!('capability' in value)) {
    const findings = checkConsumesDocument(file, (value.consumes ?? []) as unknown[]);
    const diagnostics = [...early, ...locateAll(findings, new Map([[file, source]]))];
    return { kind: 'consumes', diagnostics: sortDiagnostics(file, diagnostics), consumes: [] };
  }

  const document = value as unknown as CapabilityDocument;
  const imports = await resolveImports(file, document, strict);
  const { sources: consumes, unresolved } = imports;
  const findings = [...checkSemantics({ file, document, consumes, unresolved, strict }), ...checkSupport({ file, document, consumes })];
  const sources = new Map([[file, source], ...imports.files]);
  const located = locateAll([...imports.findings, ...findings], sources);
  const diagnostics = [...early, ...imports.diagnostics, ...located];
  return { kind: 'capability', diagnostics: sortDiagnostics(file, diagnostics), document, consumes: imports.sources };
}

async function readOrReport(file: string): Promise<{ source: SourceDocument } | { diagnostics: Diagnostic[] }> {
  try {
    return { source: await readSource(file) };
  } catch (err) {
    if (!isCapabilityError(err)) throw err;
    const listed = err.data.diagnostics as Diagnostic[] | undefined;
    if (listed !== undefined) return { diagnostics: listed };
    return { diagnostics: [diagnostic(file, err.code, '', 1, 1, err.message.replace(`${file}: `, ''))] };
  }
}

/**
 * What kind of document this is, before the schema: an empty file, a file
 * of another spec version or format gets one error saying so, instead of
 * every schema rule the other format breaks. Otherwise the schema stage.
 */
function checkDocumentKind(source: SourceDocument, strict: boolean): Diagnostic[] {
  const { file, value } = source;
  if (value === null || value === undefined) {
    const message = 'the file holds no YAML document (it is empty or only comments); ' +
      'a capability starts with `naftiko: 1.0.0-alpha2`';
    return [diagnostic(file, 'CAP_SPEC_INVALID', '', 1, 1, message)];
  }
  const root = typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  const foreign = root === undefined || 'naftiko' in root ? undefined : foreignFormat(root);
  if (foreign !== undefined) return [diagnostic(file, 'CAP_SPEC_VERSION', '', 1, 1, foreign)];

  const schema = checkDocument(source, strict ? 'strict' : 'default');
  if (root !== undefined && 'naftiko' in root && root.naftiko !== SPEC_VERSION) {
    // Another version's document breaks this version's rules everywhere;
    // the version is the one cause.
    const version = schema.filter((d) => d.code === 'CAP_SPEC_VERSION');
    if (version.length > 0) return version;
  }
  return schema;
}

function foreignFormat(root: Record<string, unknown>): string | undefined {
  const fix = 'a Naftiko capability starts with `naftiko: 1.0.0-alpha2`';
  if ('openapi' in root || 'swagger' in root) return `this is an OpenAPI document, not a Naftiko capability; ${fix}`;
  if ('ikanos' in root) return `this is an Ikanos document (the successor format), not Naftiko 1.0.0-alpha2; ${fix}`;
  if ('asyncapi' in root) return `this is an AsyncAPI document, not a Naftiko capability; ${fix}`;
  if (!('capability' in root) && !('consumes' in root)) {
    return `this is not a Naftiko document: it has no \`naftiko\` version, \`capability\` or \`consumes\`; ${fix}`;
  }
  return undefined;
}

function kindOf(value: unknown): ValidationReport['kind'] {
  if (typeof value !== 'object' || value === null) return 'unknown';
  if ('capability' in value) return 'capability';
  return 'consumes' in value ? 'consumes' : 'unknown';
}

// ---------------------------------------------------------------------------
// Imported consumes (spec ImportedConsumesHttp, notes 1.5).

interface ImportResult {
  readonly sources: ConsumedSource[];
  readonly unresolved: Set<string>;
  /** Problems of the import entries, in the importing file. */
  readonly findings: SemanticFinding[];
  /** Problems inside imported files, located there. */
  readonly diagnostics: Diagnostic[];
  /** Parsed imported files, for locating findings in them. */
  readonly files: Map<string, SourceDocument>;
}

type ImportedFile =
  | { readonly ok: true; readonly source: SourceDocument; readonly consumes: readonly unknown[] | undefined }
  | { readonly ok: false; readonly reason?: string };

/**
 * Each `location` is read once, relative to the importing file (as the
 * reference engine resolves it), and validated as a consumes-only
 * document; its own problems are reported in it. Imports are not followed
 * from an imported file.
 */
async function resolveImports(file: string, document: CapabilityDocument, strict: boolean): Promise<ImportResult> {
  const result: ImportResult = { sources: [], unresolved: new Set(), findings: [], diagnostics: [], files: new Map() };
  const cache = new Map<string, ImportedFile>();
  const entries = document.capability.consumes ?? [];

  for (const [index, entry] of entries.entries()) {
    const pointer = `/capability/consumes/${index}`;
    if (!('location' in entry)) {
      result.sources.push({ namespace: entry.namespace, spec: entry, file, pointer });
      continue;
    }
    const found = await importEntry(file, entry, pointer, strict, cache, result);
    if (found === undefined) result.unresolved.add(entry.as ?? entry.import);
    else result.sources.push(found);
  }
  return result;
}

async function importEntry(
  file: string,
  entry: ImportedConsumesSpec,
  pointer: string,
  strict: boolean,
  cache: Map<string, ImportedFile>,
  result: ImportResult,
): Promise<ConsumedSource | undefined> {
  const report = (at: string, message: string) => {
    result.findings.push({ severity: 'error', code: 'CAP_SPEC_IMPORT', message, file, pointer: `${pointer}/${at}` });
  };
  const target = importPath(file, entry.location);
  if (target === undefined) {
    report('location', `\`location\` ${entry.location} is not a local path; ` +
      'give a path relative to this file, such as ./shared/consumes.yaml');
    return undefined;
  }

  let imported = cache.get(target);
  if (imported === undefined) {
    imported = await readImported(target, strict, result);
    cache.set(target, imported);
  }
  if (!imported.ok) {
    if (imported.reason !== undefined) {
      report('location', `cannot read the imported file ${target} (${imported.reason})`);
    }
    return undefined;
  }
  if (imported.consumes === undefined) {
    report('location', `${target} is a capability, not a consumes-only document (root \`consumes\`); ` +
      'import from a file that declares `consumes` at its root');
    return undefined;
  }

  const index = imported.consumes.findIndex((c) => isInline(c) && (c as ConsumesSpec).namespace === entry.import);
  if (index < 0) {
    const names = imported.consumes.filter(isInline).map((c) => (c as ConsumesSpec).namespace);
    const hint = didYouMean(entry.import, names) || ` (it has: ${names.map((n) => `\`${n}\``).join(', ') || 'none'})`;
    report('import', `\`import: ${entry.import}\` is not a namespace of ${entry.location}${hint}`);
    return undefined;
  }
  const spec = imported.consumes[index] as ConsumesSpec;
  return { namespace: entry.as ?? entry.import, spec, file: target, pointer: `/consumes/${index}` };
}

/** Reads and validates an imported file once; its problems go to `result`. */
async function readImported(target: string, strict: boolean, result: ImportResult): Promise<ImportedFile> {
  let source: SourceDocument;
  try {
    source = await readSource(target);
  } catch (err) {
    if (!isCapabilityError(err)) throw err;
    const listed = err.data.diagnostics as Diagnostic[] | undefined;
    if (listed === undefined) {
      const reason = (err.cause as NodeJS.ErrnoException | undefined)?.code ?? 'unreadable';
      return { ok: false, reason };
    }
    result.diagnostics.push(...listed);
    return { ok: false };
  }
  result.files.set(target, source);

  const early = checkDocumentKind(source, strict);
  result.diagnostics.push(...early);
  if (early.some((d) => d.severity === 'error')) return { ok: false };
  const value = source.value as Record<string, unknown>;
  if (!Array.isArray(value.consumes)) return { ok: true, source, consumes: undefined };

  const findings = checkConsumesDocument(target, value.consumes);
  result.diagnostics.push(...locateAll(findings, result.files));
  if (findings.some((f) => f.severity === 'error')) return { ok: false };
  return { ok: true, source, consumes: value.consumes };
}

function isInline(entry: unknown): boolean {
  return typeof entry === 'object' && entry !== null && !('location' in entry);
}

/**
 * A `location` as a filesystem path: relative paths (and `file://./x`,
 * `file:///./x`) from the importing file's folder, `file:///abs` as is.
 */
function importPath(file: string, location: string): string | undefined {
  // join, not resolve: an imported file is named the way the importing one was.
  const base = dirname(file);
  const relative = location.replace(/^file:(\/\/\/?)?(?=\.)/, '');
  if (relative !== location) return join(base, relative);
  if (location.startsWith('file://')) {
    try {
      return fileURLToPath(location);
    } catch {
      return undefined;
    }
  }
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(location)) return undefined;
  return isAbsolute(location) ? location : join(base, location);
}

// ---------------------------------------------------------------------------
// Locating and ordering.

function locateAll(findings: readonly SemanticFinding[], sources: ReadonlyMap<string, SourceDocument>): Diagnostic[] {
  return findings.map((f) => {
    const { line, column } = sources.get(f.file)?.locate(f.pointer, f.atKey === true) ?? { line: 1, column: 1 };
    return { severity: f.severity, code: f.code, message: f.message, file: f.file, pointer: f.pointer, line, column };
  });
}

/** The file's own diagnostics first, then each imported file's; by position within a file. */
function sortDiagnostics(file: string, diagnostics: Diagnostic[]): Diagnostic[] {
  const order = new Map<string, number>([[file, 0]]);
  for (const d of diagnostics) if (!order.has(d.file)) order.set(d.file, order.size);
  return diagnostics
    .map((d, i) => ({ d, i }))
    .sort((a, b) =>
      order.get(a.d.file)! - order.get(b.d.file)! ||
      a.d.line - b.d.line ||
      a.d.column - b.d.column ||
      a.i - b.i)
    .map(({ d }) => d);
}

function diagnostic(
  file: string,
  code: ErrorCode,
  pointer: string,
  line: number,
  column: number,
  message: string,
): Diagnostic {
  return { severity: 'error', code, message, file, pointer, line, column };
}

function deepFreeze<T>(value: T): T {
  // Iterative: a document is at most MAX_NESTING_DEPTH deep, but nothing
  // here should depend on that.
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object' || Object.isFrozen(node)) continue;
    if (node instanceof Map) for (const v of node.values()) stack.push(v);
    else for (const v of Object.values(node)) stack.push(v);
    Object.freeze(node);
  }
  return value;
}
