import { dirname, resolve } from 'node:path';
import { CapabilityError, formatLocation } from '../errors/capability-error.js';
import type { ErrorCode } from '../errors/codes.js';
import { validateDocument, type SchemaProfile } from './schema.js';
import { readSource, type SourceDocument } from './source.js';
import type {
  CapabilityDocument,
  ConsumesSpec,
  ImportedConsumesSpec,
} from './types.js';

/** The only spec version this runtime reads. */
export const SPEC_VERSION = '1.0.0-alpha2';

/** One finding about a capability file, located in its source. */
export interface Diagnostic {
  readonly severity: 'error' | 'warning';
  readonly code: ErrorCode;
  readonly message: string;
  readonly file: string;
  readonly pointer: string;
  readonly line: number;
  readonly column: number;
}

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

/** Most errors listed in one CapabilityError message before "and N more". */
const MAX_LISTED_ERRORS = 20;

/**
 * Reads, validates and freezes a capability file. Throws a CapabilityError
 * whose message lists every error as `file:line:column: error CODE ...`.
 */
export async function loadCapability(
  file: string,
  options: LoadOptions = {},
): Promise<LoadedCapability> {
  const strict = options.strict === true;
  const source = await readSource(file);
  const diagnostics = checkDocument(source, strict ? 'strict' : 'default');
  throwOnErrors(file, diagnostics);

  const document = source.value as CapabilityDocument;
  const consumes = await resolveConsumes(file, document, strict);
  return deepFreeze({
    file,
    document,
    consumes,
    warnings: diagnostics.filter((d) => d.severity === 'warning'),
    strict,
  });
}

/** Schema-stage diagnostics of a parsed source, located in the file. */
export function checkDocument(source: SourceDocument, profile: SchemaProfile): Diagnostic[] {
  return validateDocument(source.value, profile).map((finding) => {
    const { line, column } = source.locate(finding.pointer);
    return { ...finding, file: source.file, line, column };
  });
}

/** `file:line:column: severity CODE message (at /pointer)`. */
export function formatDiagnostic(d: Diagnostic): string {
  const at = d.pointer === '' ? '' : ` (at ${d.pointer})`;
  return `${formatLocation(d)}${d.severity} ${d.code} ${d.message}${at}`;
}

function throwOnErrors(file: string, diagnostics: readonly Diagnostic[]): void {
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length === 0) return;

  const listed = errors.slice(0, MAX_LISTED_ERRORS).map(formatDiagnostic);
  if (errors.length > MAX_LISTED_ERRORS) {
    listed.push(`... and ${errors.length - MAX_LISTED_ERRORS} more errors`);
  }
  const first = errors[0]!;
  throw new CapabilityError(
    first.code,
    `${file}: ${errors.length} error(s)\n${listed.join('\n')}`,
    { location: first, data: { diagnostics: errors } },
  );
}

async function resolveConsumes(
  file: string,
  document: CapabilityDocument,
  strict: boolean,
): Promise<Map<string, ConsumesSpec>> {
  const byNamespace = new Map<string, ConsumesSpec>();
  const entries = document.capability.consumes ?? [];

  for (const [index, entry] of entries.entries()) {
    const spec = 'location' in entry ? await importConsumes(file, entry, index, strict) : entry;
    if (byNamespace.has(spec.namespace)) {
      throw new CapabilityError(
        'CAP_SPEC_REF',
        `${file}: consumed namespace "${spec.namespace}" is declared twice`,
        { location: { file, pointer: `/capability/consumes/${index}` } },
      );
    }
    byNamespace.set(spec.namespace, spec);
  }
  return byNamespace;
}

/**
 * Imported consumes (spec: ImportedConsumesHttp). `location` is a path
 * relative to the importing file, as the reference engine resolves it.
 */
async function importConsumes(
  file: string,
  entry: ImportedConsumesSpec,
  index: number,
  strict: boolean,
): Promise<ConsumesSpec> {
  const target = resolve(dirname(file), entry.location.replace(/^file:\/\//, ''));
  const source = await readSource(target);
  throwOnErrors(target, checkDocument(source, strict ? 'strict' : 'default'));

  const imported = (source.value as { consumes?: ConsumesSpec[] }).consumes ?? [];
  const found = imported.find((c) => c.namespace === entry.import);
  if (found === undefined) {
    const names = imported.map((c) => c.namespace).join(', ') || 'none';
    throw new CapabilityError(
      'CAP_SPEC_REF',
      `${file}: import "${entry.import}" is not a namespace of ${entry.location} (it has: ${names})`,
      { location: { file, pointer: `/capability/consumes/${index}/import` } },
    );
  }
  return entry.as === undefined ? found : { ...found, namespace: entry.as };
}

function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  if (value instanceof Map) {
    for (const v of value.values()) deepFreeze(v);
    return Object.freeze(value);
  }
  for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}
