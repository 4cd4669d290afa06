import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { CapabilityError } from '../errors/capability-error.js';
import type { ErrorCode } from '../errors/codes.js';
import { closest } from './suggest.js';

/**
 * `strict` gives the verdict of the published alpha2 schema; `default` also
 * accepts the generated dialect (spec notes §6.3) and reports each use of it
 * as a warning.
 */
export type SchemaProfile = 'strict' | 'default';

/** One schema-stage problem, located by a JSON pointer into the document. */
export interface SchemaFinding {
  readonly severity: 'error' | 'warning';
  readonly code: ErrorCode;
  readonly message: string;
  readonly pointer: string;
  /** Point at the mapping key at `pointer` rather than at its value. */
  readonly atKey?: boolean;
}

/** The schema ships in the package root, so this resolves from src/ and dist/. */
const SCHEMA_URL = new URL('../../schemas/naftiko-1.0.0-alpha2.schema.json', import.meta.url);

type SchemaNode = boolean | Readonly<Record<string, unknown>>;
type JsonObject = Readonly<Record<string, unknown>>;

// ---------------------------------------------------------------------------
// The generated dialect. The default profile is the schema file with each
// `at` location replaced by {$ref: '#/$defs/<use>'}; strict never reaches the
// Dialect* definitions. The strict walk uses the same list to recognise a
// rejection that is exactly one of these constructs.

type DialectConstruct =
  | 'empty-base-uri'
  | 'underscore-resource-name'
  | 'typed-consumed-parameter'
  | 'rest-adapter-description'
  | 'pass-through-output';

interface DialectPatch {
  /** JSON pointer into the schema file; its parent must exist. */
  readonly at: string;
  /** The `$defs` entry the default profile uses at `at`. */
  readonly use: string;
  readonly construct: DialectConstruct;
}

const DIALECT_PATCHES: readonly DialectPatch[] = [
  {
    construct: 'empty-base-uri',
    at: '/$defs/HttpConsumer/properties/baseUri',
    use: 'DialectBaseUri',
  },
  {
    construct: 'underscore-resource-name',
    at: '/$defs/ConsumedResource/properties/name',
    use: 'DialectResourceName',
  },
  {
    construct: 'typed-consumed-parameter',
    at: '/$defs/ConsumedParameter/properties/type',
    use: 'DialectParameterType',
  },
  {
    construct: 'typed-consumed-parameter',
    at: '/$defs/ConsumedParameter/properties/required',
    use: 'DialectParameterRequired',
  },
  {
    construct: 'typed-consumed-parameter',
    at: '/$defs/ConsumedParameter/properties/description',
    use: 'DialectParameterDescription',
  },
  {
    construct: 'rest-adapter-description',
    at: '/$defs/RestAdapter/properties/description',
    use: 'DialectAdapterDescription',
  },
  { construct: 'pass-through-output', at: '/$defs/ObjectOutputShape', use: 'DialectObjectShape' },
  { construct: 'pass-through-output', at: '/$defs/ArrayOutputShape', use: 'DialectArrayShape' },
];

// ---------------------------------------------------------------------------
// Public entry point.

/**
 * Validates a parsed capability document. Returns no finding for a valid
 * document; otherwise one error per cause. In the default profile each
 * generated-dialect construct also yields one CAP_SPEC_DIALECT warning.
 */
export function validateDocument(doc: unknown, profile: SchemaProfile): SchemaFinding[] {
  const strict = loadProfile('strict');
  const strictIssues = strict.validate(doc) ? [] : explainRejection(strict, doc, DIALECT_PATCHES);
  if (profile === 'strict') return withoutRepeats(strictIssues.map((issue) => toFinding(issue, doc, 'error')));

  // Ajv gives the default verdict; the strict walk only tells which of the
  // strict causes are dialect constructs, and those become the warnings.
  const lenient = loadProfile('default');
  const errors = lenient.validate(doc) ? [] : explainRejection(lenient, doc, []);
  const warnings = strictIssues.filter((issue) => issue.dialect !== undefined);
  return withoutRepeats([
    ...errors.map((issue) => toFinding(issue, doc, 'error')),
    ...warnings.map((issue) => toFinding(issue, doc, 'warning')),
  ]);
}

/**
 * Two branches of one union can reach the same sub-schema (an orchestrated
 * output's `properties` through `items` and through itself), and the walk
 * then explains one cause twice; keep the first of identical findings.
 */
function withoutRepeats(findings: SchemaFinding[]): SchemaFinding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.severity}\u0000${f.pointer}\u0000${f.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// ---------------------------------------------------------------------------
// Compiled profiles: one Ajv instance each, compiled on first use.

let schemaText: string | undefined;
const profiles = new Map<SchemaProfile, CompiledProfile>();

/** A compiled profile, plus validators for its sub-schemas compiled on demand. */
class CompiledProfile {
  readonly #ajv: Ajv2020;
  readonly #id: string;
  readonly #schema: SchemaNode;
  readonly #root: ValidateFunction;
  readonly #parts = new Map<string, ValidateFunction>();
  readonly #formats = new Map<string, ValidateFunction>();

  constructor(schema: Record<string, unknown>, precompiled?: ValidateFunction) {
    this.#ajv = createAjv();
    this.#id = String(schema.$id);
    this.#schema = schema;
    if (precompiled === undefined) {
      this.#root = this.#ajv.compile(schema);
    } else {
      // Sub-schemas are compiled on demand from the added schema; only the
      // whole-document validator (the costly one) comes precompiled.
      this.#ajv.addSchema(schema);
      this.#root = precompiled;
    }
  }

  /** The profile's verdict on a whole document. */
  validate(doc: unknown): boolean {
    return this.#root(doc) === true;
  }

  /** Whether `data` satisfies the sub-schema at `pointer`. */
  accepts(pointer: string, data: unknown): boolean {
    return this.#part(pointer)(data) === true;
  }

  /** The first raw ajv error of `data` against the sub-schema at `pointer`. */
  firstError(pointer: string, data: unknown): ErrorObject | undefined {
    const validate = this.#part(pointer);
    return validate(data) ? undefined : (validate.errors?.[0] ?? undefined);
  }

  /** Whether a string satisfies a named format such as `uri`. */
  hasFormat(format: string, data: string): boolean {
    let validate = this.#formats.get(format);
    if (validate === undefined) {
      validate = this.#ajv.compile({ type: 'string', format });
      this.#formats.set(format, validate);
    }
    return validate(data) === true;
  }

  /** The schema JSON at `pointer`. */
  node(pointer: string): SchemaNode {
    const node = resolveTokens(this.#schema, toTokens(pointer));
    if (node === undefined) throw internal(`no schema node at ${pointer}`);
    return node as SchemaNode;
  }

  #part(pointer: string): ValidateFunction {
    if (pointer === '') return this.#root;
    let validate = this.#parts.get(pointer);
    if (validate === undefined) {
      const fragment = pointer.split('/').map(encodeURIComponent).join('/');
      validate = this.#ajv.getSchema(`${this.#id}#${fragment}`);
      if (validate === undefined) throw internal(`no sub-schema at ${pointer}`);
      this.#parts.set(pointer, validate);
    }
    return validate;
  }
}

function createAjv(standalone = false): Ajv2020 {
  // Strict mode catches typos in our own schema. strictTypes/strictRequired
  // are off because if/then branches name `required` keys without repeating
  // `type: object`, which the enclosing definition already states.
  const ajv = new Ajv2020({
    allErrors: true,
    strict: true,
    strictTypes: false,
    strictRequired: false,
    allowUnionTypes: true,
    ...(standalone ? { code: { source: true } } : {}),
  });
  // ajv-formats is CommonJS: under NodeNext the default import is its
  // module.exports, which carries the plugin again as `.default`.
  addFormatsModule.default(ajv);
  ajv.addKeyword({ keyword: 'x-explain', schemaType: 'string' });
  ajv.addKeyword({ keyword: 'x-selected-by', schemaType: 'string' });
  return ajv;
}

function loadProfile(profile: SchemaProfile): CompiledProfile {
  let compiled = profiles.get(profile);
  if (compiled === undefined) {
    compiled = new CompiledProfile(profileSchema(profile), precompiledRoot(profile));
    profiles.set(profile, compiled);
  }
  return compiled;
}

/** The JSON Schema of a profile: the file itself, or with the dialect patches applied. */
export function profileSchema(profile: SchemaProfile): Record<string, unknown> {
  schemaText ??= readFileSync(SCHEMA_URL, 'utf8');
  const schema = JSON.parse(schemaText) as Record<string, unknown>;
  return profile === 'strict' ? schema : applyDialect(schema);
}

/** The Ajv instance settings the profiles are compiled with (the build reuses them). */
export function createProfileAjv(options: { standalone?: boolean } = {}): Ajv2020 {
  return createAjv(options.standalone === true);
}

/**
 * The whole-document validator generated at build time by
 * scripts/build-validators.mjs (ajv standalone code), which saves compiling
 * the schema at every start (about half a second). Absent when running
 * from the sources, where the schema is compiled instead.
 */
function precompiledRoot(profile: SchemaProfile): ValidateFunction | undefined {
  const file = new URL(`./validators/${profile}.cjs`, import.meta.url);
  if (!existsSync(file)) return undefined;
  const loaded = createRequire(import.meta.url)(file.pathname) as { default?: ValidateFunction } & ValidateFunction;
  return loaded.default ?? loaded;
}

function applyDialect(schema: Record<string, unknown>): Record<string, unknown> {
  for (const { at, use } of DIALECT_PATCHES) {
    const tokens = toTokens(at);
    const last = tokens.pop() as string;
    const parent = resolveTokens(schema, tokens);
    if (typeof parent !== 'object' || parent === null) {
      throw internal(`dialect patch ${at} has no parent in the schema file`);
    }
    (parent as Record<string, unknown>)[last] = { $ref: `#/$defs/${use}` };
  }
  return schema;
}

// ---------------------------------------------------------------------------
// Explaining a rejection. Ajv decides every verdict; this walk only turns a
// rejection into causes. It descends only into sub-schemas ajv rejects, so it
// cannot invent a problem in a part ajv accepts, and at an anyOf/oneOf it
// follows the alternative the author evidently meant instead of printing the
// complaints of every alternative.

interface Issue {
  readonly pointer: string;
  readonly message: string;
  readonly code: ErrorCode;
  /** An unknown key: located at the key, which is what has to change. */
  readonly atKey?: boolean;
  /** Set when the default profile accepts this construct. */
  readonly dialect?: DialectUse;
}

interface DialectUse {
  readonly construct: DialectConstruct;
  /** The extra keys, for a construct made of extra keys. */
  readonly keys: readonly string[];
}

interface Ranked {
  readonly issues: Issue[];
  readonly missing: number;
  readonly depth: number;
}

function explainRejection(
  profile: CompiledProfile,
  doc: unknown,
  patches: readonly DialectPatch[],
): Issue[] {
  return mergeParameterKeys(new Explainer(profile, doc, patches).explain());
}

/**
 * Most issues one walk creates (alternatives it ranks and drops included).
 * A document with a hundred thousand bad keys would otherwise cost seconds
 * to explain; past this bound the walk stops and says so.
 */
const MAX_EXPLAINED_ISSUES = 5000;

class Explainer {
  readonly #profile: CompiledProfile;
  #created = 0;
  readonly #doc: unknown;
  readonly #patches: readonly DialectPatch[];
  /** `path NUL name` of each property already suggested for a misspelled key. */
  readonly #suggested = new Set<string>();
  /** How many missing-property issues a did-you-mean made redundant. */
  #covered = 0;

  /** `patches` is empty unless the walk should recognise dialect constructs. */
  constructor(profile: CompiledProfile, doc: unknown, patches: readonly DialectPatch[]) {
    this.#profile = profile;
    this.#doc = doc;
    this.#patches = patches;
  }

  explain(): Issue[] {
    const issues = this.#node('', this.#doc, '');
    if (!this.#exhausted()) return issues;
    const message = `the document has so many schema problems that only the first ${issues.length} ` +
      'are listed; fix these and validate again';
    return [...issues, { pointer: '', message, code: 'CAP_SPEC_INVALID' }];
  }

  #exhausted(): boolean {
    return this.#created >= MAX_EXPLAINED_ISSUES;
  }

  #node(ptr: string, data: unknown, path: string): Issue[] {
    if (this.#exhausted() || this.#profile.accepts(ptr, data)) return [];

    const forgiven = this.#forgiven(ptr, data, path, []);
    if (forgiven !== undefined) return [forgiven];

    const schema = this.#profile.node(ptr);
    const covered = this.#covered;
    const issues =
      typeof schema === 'boolean'
        ? [this.#issue(path, `${label(path)} is not allowed here`)]
        : this.#keywords(schema, ptr, data, path);
    const explained = issues.length > 0 || this.#covered > covered || this.#exhausted();
    return explained ? issues : [this.#fallback(ptr, data, path)];
  }

  #keywords(schema: JsonObject, ptr: string, data: unknown, path: string): Issue[] {
    const typeIssue = this.#type(schema, data, path);
    if (typeIssue !== undefined) return [typeIssue];

    const issues = this.#value(schema, data, path);
    if (typeof data === 'string') issues.push(...this.#string(schema, data, path));
    if (typeof data === 'number') issues.push(...this.#number(schema, data, path));
    if (Array.isArray(data)) issues.push(...this.#array(schema, ptr, data, path));
    if (isObject(data)) issues.push(...this.#object(schema, ptr, data, path));

    issues.push(...this.#applicators(schema, ptr, data, path));
    return issues;
  }

  #type(schema: JsonObject, data: unknown, path: string): Issue | undefined {
    const expected = schema.type as string | string[] | undefined;
    if (expected === undefined) return undefined;
    const allowed = Array.isArray(expected) ? expected : [expected];
    if (allowed.some((type) => hasType(data, type))) return undefined;

    const got = describeType(data);
    if (path === '/naftiko') {
      return this.#issue(path, `\`naftiko\` must be the string "1.0.0-alpha2", not ${got}`);
    }
    const wanted = allowed.map(withArticle).join(' or ');
    return this.#issue(path, `${label(path)} must be ${wanted}, not ${got}`);
  }

  #value(schema: JsonObject, data: unknown, path: string): Issue[] {
    if ('const' in schema && !sameJson(schema.const, data)) {
      if (path === '/naftiko') return [this.#versionIssue(data)];
      const expected = String(schema.const);
      const hint = typeof data === 'string' ? didYouMean(data, [expected]) : '';
      return [this.#issue(path, `${label(path)} must be \`${expected}\`${hint}`)];
    }

    const choices = schema.enum as unknown[] | undefined;
    if (choices === undefined || choices.some((choice) => sameJson(choice, data))) return [];
    const names = choices.map(String);
    const hint = typeof data === 'string' ? didYouMean(data, names) : '';
    const shown = typeof data === 'string' ? `\`${shorten(data)}\`` : describeType(data);
    const list = names.map((name) => `\`${name}\``).join(', ');
    return [this.#issue(path, `${label(path)} is ${shown}; expected one of ${list}${hint}`)];
  }

  #versionIssue(data: unknown): Issue {
    const fix = 'this runtime reads spec version 1.0.0-alpha2 only; set `naftiko: 1.0.0-alpha2`';
    return this.#issue('/naftiko', `\`naftiko\` is \`${String(data)}\`; ${fix}`);
  }

  #string(schema: JsonObject, data: string, path: string): Issue[] {
    const issues: Issue[] = [];
    const explain = explanation(schema);
    const shown = data === '' ? 'empty' : `\`${shorten(data)}\``;
    const pattern = schema.pattern as string | undefined;
    const format = schema.format as string | undefined;
    if (pattern !== undefined && !new RegExp(pattern, 'u').test(data)) {
      const rule = explain ?? `make it match /${pattern}/`;
      issues.push(this.#issue(path, `${label(path)} is ${shown}; ${rule}`));
    } else if (format !== undefined && !this.#profile.hasFormat(format, data)) {
      const rule = explain ?? `give a valid ${format}`;
      issues.push(this.#issue(path, `${label(path)} is ${shown}, not a valid ${format}; ${rule}`));
    }

    // ajv measures length in code points, not UTF-16 units.
    const length = [...data].length;
    const min = schema.minLength as number | undefined;
    const max = schema.maxLength as number | undefined;
    if (min !== undefined && length < min) {
      issues.push(this.#issue(path, `${label(path)} must not be empty`));
    }
    if (max !== undefined && length > max) {
      const limit = `is ${length} characters long; the limit is ${max}`;
      issues.push(this.#issue(path, `${label(path)} ${limit}`));
    }
    return issues;
  }

  #number(schema: JsonObject, data: number, path: string): Issue[] {
    const min = schema.minimum as number | undefined;
    const max = schema.maximum as number | undefined;
    if ((min !== undefined && data < min) || (max !== undefined && data > max)) {
      const range = `${min ?? '-∞'} to ${max ?? '∞'}`;
      return [this.#issue(path, `${label(path)} is ${data}; it must be in the range ${range}`)];
    }
    return [];
  }

  #array(schema: JsonObject, ptr: string, data: unknown[], path: string): Issue[] {
    const issues: Issue[] = [];
    const min = schema.minItems as number | undefined;
    if (min !== undefined && data.length < min) {
      const need = min === 1 ? 'at least one entry' : `at least ${min} entries`;
      issues.push(this.#issue(path, `${label(path)} needs ${need}`));
    }
    if (schema.items !== undefined) {
      data.forEach((item, index) => {
        issues.push(...this.#node(`${ptr}/items`, item, `${path}/${index}`));
      });
    }
    return issues;
  }

  #object(schema: JsonObject, ptr: string, data: JsonObject, path: string): Issue[] {
    const declared = (schema.properties ?? {}) as JsonObject;
    const perKey: Issue[] = [];

    for (const key of Object.keys(data)) {
      if (this.#exhausted()) break;
      const child = `${path}/${escapeToken(key)}`;
      perKey.push(...this.#propertyName(schema, ptr, key, child));
      if (Object.hasOwn(declared, key)) {
        perKey.push(...this.#node(`${ptr}/properties/${escapeToken(key)}`, data[key], child));
      } else if (schema.additionalProperties === false) {
        perKey.push(this.#unknownKey(ptr, declared, data, key, path));
      } else if (schema.additionalProperties !== undefined) {
        perKey.push(...this.#node(`${ptr}/additionalProperties`, data[key], child));
      }
    }

    const required = (schema.required ?? []) as string[];
    const missing = required.filter(
      (key) => !Object.hasOwn(data, key) && !this.#isCovered(path, key),
    );
    return [...missing.map((key) => this.#missing(schema, key, path)), ...perKey];
  }

  /** True, and counted, when a did-you-mean at `path` already names `key`. */
  #isCovered(path: string, key: string): boolean {
    if (!this.#suggested.has(`${path}\u0000${key}`)) return false;
    this.#covered += 1;
    return true;
  }

  #propertyName(schema: JsonObject, ptr: string, key: string, child: string): Issue[] {
    if (schema.propertyNames === undefined) return [];
    if (this.#profile.accepts(`${ptr}/propertyNames`, key)) return [];
    const rule = explanation(this.#profile.node(`${ptr}/propertyNames`)) ?? 'rename it';
    const name = `\`${shorten(key)}\``;
    return [this.#issue(child, `${label(child)}: the key ${name} is not valid; ${rule}`)];
  }

  #unknownKey(
    ptr: string,
    declared: JsonObject,
    data: JsonObject,
    key: string,
    path: string,
  ): Issue {
    const child = `${path}/${escapeToken(key)}`;
    const schemaPointer = `${ptr}/properties/${escapeToken(key)}`;
    const forgiven = this.#forgiven(schemaPointer, data[key], child, [key]);
    if (forgiven !== undefined) return forgiven;

    const where = `${label(path)} has an unknown property \`${shorten(key)}\``;
    const absent = Object.keys(declared).filter((name) => !Object.hasOwn(data, name));
    const guess = closest(key, absent);
    if (guess !== undefined) {
      this.#suggested.add(`${path}\u0000${guess}`);
      return { ...this.#issue(child, `${where}; did you mean \`${guess}\`?`), atKey: true };
    }
    const names = Object.keys(declared);
    const allowed = names.length === 0 ? '' : ` (allowed here: ${quoteAll(names)})`;
    return { ...this.#issue(child, `${where}; remove it${allowed}`), atKey: true };
  }

  #missing(schema: JsonObject, key: string, path: string): Issue {
    if (path === '' && key === 'naftiko') {
      const fix = 'add `naftiko: 1.0.0-alpha2` as the first line';
      const problem = 'the document does not say which spec version it follows';
      return this.#issue('', `${problem}; ${fix}`, true);
    }
    // On a node that also holds a union or `not`, x-explain describes those.
    const shared = ['anyOf', 'oneOf', 'not'].some((keyword) => schema[keyword] !== undefined);
    const why = (shared ? undefined : explanation(schema)) ?? 'add it';
    return this.#issue(path, `${label(path)} is missing the required property \`${key}\`; ${why}`);
  }

  #applicators(schema: JsonObject, ptr: string, data: unknown, path: string): Issue[] {
    const issues: Issue[] = [];
    if (typeof schema.$ref === 'string') {
      issues.push(...this.#node(refPointer(schema.$ref), data, path));
    }
    (schema.allOf as unknown[] | undefined)?.forEach((_, index) => {
      issues.push(...this.#node(`${ptr}/allOf/${index}`, data, path));
    });
    if (schema.anyOf !== undefined) issues.push(...this.#union(schema, ptr, 'anyOf', data, path));
    if (schema.oneOf !== undefined) issues.push(...this.#union(schema, ptr, 'oneOf', data, path));
    if (schema.if !== undefined) issues.push(...this.#conditional(schema, ptr, data, path));
    if (schema.not !== undefined && this.#profile.accepts(`${ptr}/not`, data)) {
      const rule = explanation(schema) ?? 'this combination of properties is not allowed';
      issues.push(this.#issue(path, `${label(path)}: ${rule}`));
    }
    return issues;
  }

  #conditional(schema: JsonObject, ptr: string, data: unknown, path: string): Issue[] {
    const branch = this.#profile.accepts(`${ptr}/if`, data) ? 'then' : 'else';
    return schema[branch] === undefined ? [] : this.#node(`${ptr}/${branch}`, data, path);
  }

  #union(
    schema: JsonObject,
    ptr: string,
    keyword: 'anyOf' | 'oneOf',
    data: unknown,
    path: string,
  ): Issue[] {
    const branches = (schema[keyword] as SchemaNode[]).map((node, index) => ({
      node,
      ptr: `${ptr}/${keyword}/${index}`,
    }));
    const passing = branches.filter((branch) => this.#profile.accepts(branch.ptr, data)).length;
    if (keyword === 'anyOf' ? passing > 0 : passing === 1) return [];

    const explain = explanation(schema);
    if (passing > 1) {
      const rule = explain ?? 'it matches more than one allowed form';
      return [this.#issue(path, `${label(path)}: ${rule}`)];
    }
    const meant = intendedBranches(branches, data);
    if (meant.length === 0) {
      const rule = explain ?? 'it matches none of the allowed forms';
      return [this.#issue(path, `${label(path)}: ${rule}`)];
    }

    const ranked = meant.map((branch) => this.#rank(branch.node, branch.ptr, data, path));
    const [best, next] = ranked.sort(compareRanked) as [Ranked, ...Ranked[]];
    // Two alternatives that fit equally badly: the rule in words says more.
    if (next !== undefined && compareRanked(best, next) === 0 && explain !== undefined) {
      return [this.#issue(path, `${label(path)}: ${explain}`)];
    }
    return best.issues;
  }

  #rank(node: SchemaNode, ptr: string, data: unknown, path: string): Ranked {
    const issues = this.#node(ptr, data, path);
    const required = typeof node === 'object' ? ((node.required ?? []) as string[]) : [];
    const missing = isObject(data) ? required.filter((key) => !Object.hasOwn(data, key)).length : 0;
    const depth = Math.max(0, ...issues.map((issue) => issue.pointer.split('/').length));
    return { issues, missing, depth };
  }

  /** A dialect issue when the rejection at schema `ptr` is exactly a dialect construct. */
  #forgiven(ptr: string, data: unknown, path: string, keys: string[]): Issue | undefined {
    const found = this.#patches.find((candidate) => candidate.at === ptr);
    if (found === undefined) return undefined;
    if (!this.#profile.accepts(`/$defs/${found.use}`, data)) return undefined;

    // The message is written once the issues are final (see toFinding).
    const dialect = { construct: found.construct, keys };
    return { pointer: path, message: '', code: 'CAP_SPEC_INVALID', dialect };
  }

  #fallback(ptr: string, data: unknown, path: string): Issue {
    // Only reached if the walk meets a keyword it does not explain; ajv's own
    // first complaint is then better than nothing.
    const error = this.#profile.firstError(ptr, data);
    const at = `${path}${error?.instancePath ?? ''}`;
    return this.#issue(at, `${label(at)} ${error?.message ?? 'does not match the schema'}`);
  }

  #issue(pointer: string, message: string, version = false): Issue {
    this.#created += 1;
    const code = version || pointer === '/naftiko' ? 'CAP_SPEC_VERSION' : 'CAP_SPEC_INVALID';
    return { pointer, message, code };
  }
}

/** Alternatives whose selecting key is present; failing that, those without one. */
function intendedBranches<T extends { node: SchemaNode }>(branches: T[], data: unknown): T[] {
  const selector = (branch: T): string | undefined =>
    typeof branch.node === 'object'
      ? (branch.node['x-selected-by'] as string | undefined)
      : undefined;
  const chosen = branches.filter((branch) => {
    const key = selector(branch);
    return key !== undefined && isObject(data) && Object.hasOwn(data, key);
  });
  return chosen.length > 0 ? chosen : branches.filter((branch) => selector(branch) === undefined);
}

/** Fewest missing required keys, then fewest issues, then the deepest ones. */
function compareRanked(a: Ranked, b: Ranked): number {
  return a.missing - b.missing || a.issues.length - b.issues.length || b.depth - a.depth;
}

/**
 * The extra keys of one consumed parameter are one cause, so they become one
 * issue, located at the first of them.
 */
function mergeParameterKeys(issues: Issue[]): Issue[] {
  const merged: Issue[] = [];
  const byParameter = new Map<string, number>();
  for (const issue of issues) {
    if (issue.dialect?.construct !== 'typed-consumed-parameter') {
      merged.push(issue);
      continue;
    }
    const parameter = issue.pointer.slice(0, issue.pointer.lastIndexOf('/'));
    const index = byParameter.get(parameter);
    if (index === undefined) {
      byParameter.set(parameter, merged.length);
      merged.push(issue);
      continue;
    }
    const first = merged[index] as Issue;
    const keys = [...(first.dialect?.keys ?? []), ...issue.dialect.keys];
    merged[index] = { ...first, dialect: { construct: issue.dialect.construct, keys } };
  }
  return merged;
}

// ---------------------------------------------------------------------------
// Findings and dialect messages: what the file does, and the official form.

function toFinding(issue: Issue, doc: unknown, severity: 'error' | 'warning'): SchemaFinding {
  if (issue.dialect === undefined) {
    const at = issue.atKey === true ? { atKey: true } : {};
    return { severity, code: issue.code, message: issue.message, pointer: issue.pointer, ...at };
  }
  const text = describeDialect(issue.dialect, doc, issue.pointer);
  const base = `${text.what}; the official form is ${text.official}`;
  if (severity === 'warning') {
    const message = `${base}${text.note}`;
    return { severity, code: 'CAP_SPEC_DIALECT', message, pointer: issue.pointer };
  }
  const message = `${base} (only the default profile accepts the generated form)`;
  return { severity, code: 'CAP_SPEC_INVALID', message, pointer: issue.pointer };
}

interface DialectText {
  readonly what: string;
  readonly official: string;
  /** Extra advice in the default profile, which accepts the construct. */
  readonly note: string;
}

function describeDialect(use: DialectUse, doc: unknown, pointer: string): DialectText {
  const value = valueAt(doc, pointer);
  const parent = valueAt(doc, pointer.slice(0, pointer.lastIndexOf('/')));
  switch (use.construct) {
    case 'empty-base-uri':
      return {
        what: `consumed namespace \`${nameOf(parent, 'namespace')}\` has an empty \`baseUri\``,
        official: 'an absolute http(s) URL such as https://api.example.com',
        note: '; supply the base URI through configuration at run time',
      };
    case 'underscore-resource-name':
      return {
        what: `consumed resource name \`${String(value)}\` contains \`_\``,
        official: `letters, digits and \`-\` only, e.g. \`${String(value).replace(/_/g, '-')}\``,
        note: '',
      };
    case 'typed-consumed-parameter':
      return {
        what: `consumed parameter \`${nameOf(parent, 'name')}\` declares ${quoteAll(use.keys)}`,
        official: '{name, in, value}; move typing to the exposed parameter',
        note: '',
      };
    case 'rest-adapter-description':
      return {
        what: `REST adapter \`${nameOf(parent, 'namespace')}\` declares \`description\``,
        official: 'an adapter without `description`; describe its resources or `info` instead',
        note: '',
      };
    case 'pass-through-output':
      return describePassThrough(value, pointer);
  }
}

function describePassThrough(value: unknown, pointer: string): DialectText {
  const output = isObject(value) ? value : {};
  const isArray = output.type === 'array';
  const mapping = JSON.stringify(output.mapping ?? '$');
  const missing = isArray ? '`items`' : '`properties`';
  const shape = `{type: ${String(output.type)}, mapping: ${mapping}}`;
  return {
    what: `${label(pointer)} is ${shape} with no ${missing}`,
    official: isArray
      ? 'an array output that describes its elements under `items`'
      : 'an object output that lists its fields under `properties`',
    note: '; the runtime passes the mapped value through unchanged',
  };
}

function nameOf(value: unknown, key: string): string {
  const found = isObject(value) ? value[key] : undefined;
  return typeof found === 'string' ? found : '?';
}

function quoteAll(words: readonly string[]): string {
  return words.map((word) => `\`${word}\``).join(', ');
}

// ---------------------------------------------------------------------------
// Small helpers.

function explanation(schema: SchemaNode): string | undefined {
  return typeof schema === 'object' ? (schema['x-explain'] as string | undefined) : undefined;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON Schema type test, as ajv applies it (numbers must be finite). */
function hasType(data: unknown, type: string): boolean {
  switch (type) {
    case 'object':
      return isObject(data);
    case 'array':
      return Array.isArray(data);
    case 'null':
      return data === null;
    case 'integer':
      return Number.isInteger(data);
    case 'number':
      return typeof data === 'number' && Number.isFinite(data);
    default:
      return typeof data === type;
  }
}

function describeType(data: unknown): string {
  if (data === null) return 'null';
  if (Array.isArray(data)) return 'a list';
  if (isObject(data)) return 'an object';
  return `${withArticle(typeof data)} (${shorten(String(data))})`;
}

function withArticle(type: string): string {
  const noun = type === 'array' ? 'list' : type;
  return /^[aeiou]/.test(noun) ? `an ${noun}` : `a ${noun}`;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function shorten(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** `capability.consumes[0].baseUri` for `/capability/consumes/0/baseUri`. */
function label(pointer: string): string {
  if (pointer === '') return 'the document';
  const text = toTokens(pointer).reduce((acc, token) => {
    if (/^\d+$/.test(token)) return `${acc}[${token}]`;
    return acc === '' ? token : `${acc}.${token}`;
  }, '');
  return `\`${text}\``;
}

function didYouMean(word: string, options: readonly string[]): string {
  const guess = closest(word, options);
  return guess === undefined ? '' : `; did you mean \`${guess}\`?`;
}

function refPointer(ref: string): string {
  if (!ref.startsWith('#')) throw internal(`only local $ref values are supported, got ${ref}`);
  return decodeURIComponent(ref.slice(1));
}

function resolveTokens(root: unknown, tokens: readonly string[]): unknown {
  let node = root;
  for (const token of tokens) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[token];
  }
  return node;
}

function valueAt(doc: unknown, pointer: string): unknown {
  return resolveTokens(doc, toTokens(pointer));
}

function toTokens(pointer: string): string[] {
  return pointer === '' ? [] : pointer.split('/').slice(1).map(unescapeToken);
}

function escapeToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

function unescapeToken(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

function internal(reason: string): CapabilityError {
  return new CapabilityError('CAP_INTERNAL', `schema ${SCHEMA_URL.pathname}: ${reason}`);
}
