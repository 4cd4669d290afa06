import type { ErrorCode } from '../errors/codes.js';
import { checkNames } from './semantic-names.js';
import { closest, didYouMean } from './suggest.js';
import { collectStrings, templateVariables } from './templates.js';
import type {
  AggregateFunctionSpec,
  AuthenticationSpec,
  CapabilityDocument,
  ConsumedOperationSpec,
  ConsumedParameterSpec,
  ConsumedResourceSpec,
  ConsumesSpec,
  ExposedInputParameterSpec,
  ExposeSpec,
  InvocableSpec,
  McpExposeSpec,
  OutputParameterSpec,
  RestExposeSpec,
  StepSpec,
  WithSpec,
} from './types.js';

/**
 * The semantic stage: what the schema cannot express. It runs on a document
 * the schema stage accepted, and decides each question the way the runtime
 * does (src/binding, src/rest, src/mcp), so a file it accepts binds at
 * start-up. docs/errors.md states each rule; docs/dialect.md the dialect.
 */

/** One semantic problem, located by a JSON pointer into `file`. */
export interface SemanticFinding {
  readonly severity: 'error' | 'warning';
  readonly code: ErrorCode;
  readonly message: string;
  readonly file: string;
  readonly pointer: string;
  /** Point at the mapping key at `pointer` rather than at its value. */
  readonly atKey?: boolean;
}

/** A consumed namespace as the capability sees it, inline or imported. */
export interface ConsumedSource {
  /** The namespace after `as`. */
  readonly namespace: string;
  readonly spec: ConsumesSpec;
  /** The file that writes the entry, and its pointer there. */
  readonly file: string;
  readonly pointer: string;
}

export interface SemanticInput {
  readonly file: string;
  readonly document: CapabilityDocument;
  /** Resolved consumed namespaces, in declaration order. */
  readonly consumes: readonly ConsumedSource[];
  /** Namespaces whose import failed; references to them are not judged. */
  readonly unresolved: ReadonlySet<string>;
  /** `--strict`: no generated-dialect rule (`rest.X`, `{name}` paths, implicit inputs). */
  readonly strict: boolean;
}

/** Runs every semantic check on a schema-valid capability. */
export function checkSemantics(input: SemanticInput): SemanticFinding[] {
  return [...checkNames(input), ...new Checker(input).run()];
}

/** Semantic checks of a consumes-only document (root `consumes`). */
export function checkConsumesDocument(file: string, consumes: readonly unknown[]): SemanticFinding[] {
  const sources: ConsumedSource[] = [];
  const findings: SemanticFinding[] = [];
  consumes.forEach((entry, index) => {
    const pointer = `/consumes/${index}`;
    if (isImport(entry)) {
      const message = 'a consumes-only document cannot import another one: imports are not followed ' +
        'from an imported file; write the namespace inline';
      findings.push({ severity: 'error', code: 'CAP_SPEC_IMPORT', message, file, pointer: `${pointer}/location` });
      return;
    }
    const spec = entry as ConsumesSpec;
    sources.push({ namespace: spec.namespace, spec, file, pointer });
  });
  const document = { naftiko: '', consumes } as unknown as CapabilityDocument;
  const input = { file, document, consumes: sources, unresolved: new Set<string>(), strict: false };
  return [...findings, ...checkNames(input)];
}

function isImport(entry: unknown): boolean {
  return typeof entry === 'object' && entry !== null && 'location' in entry;
}

// ---------------------------------------------------------------------------
// Consumed operations as a caller sees them.

interface OperationInfo {
  readonly target: string;
  readonly source: ConsumedSource;
  /** Names a `with` key may use. */
  readonly parameters: ReadonlySet<string>;
  /** Variables of the resource path: always required at run time. */
  readonly pathVariables: readonly string[];
  readonly path: string;
}

function indexOperations(sources: readonly ConsumedSource[], strict: boolean): Map<string, Map<string, OperationInfo>> {
  const byNamespace = new Map<string, Map<string, OperationInfo>>();
  for (const source of sources) {
    if (byNamespace.has(source.namespace)) continue;
    const operations = new Map<string, OperationInfo>();
    for (const resource of source.spec.resources ?? []) {
      for (const operation of resource.operations ?? []) {
        // The first operation of a name wins, as in the runtime and the engine.
        if (operations.has(operation.name)) continue;
        operations.set(operation.name, describeOperation(source, resource, operation, strict));
      }
    }
    byNamespace.set(source.namespace, operations);
  }
  return byNamespace;
}

/**
 * A consumed operation's parameters: every declared inputParameter (consumes,
 * resource and operation level) and every variable its path, parameter
 * values, body or authentication render (src/binding/request.ts).
 */
function describeOperation(
  source: ConsumedSource,
  resource: ConsumedResourceSpec,
  operation: ConsumedOperationSpec,
  strict: boolean,
): OperationInfo {
  const declared = [
    ...(source.spec.inputParameters ?? []),
    ...(resource.inputParameters ?? []),
    ...(operation.inputParameters ?? []),
  ];
  const pathVariables = templateVariables(resource.path, !strict);
  const rendered = [
    ...declared.map((p) => p.value ?? ''),
    ...collectStrings(operation.body),
    ...collectStrings(source.spec.authentication),
  ];
  const parameters = new Set([
    ...declared.map((p) => p.name),
    ...pathVariables,
    ...rendered.flatMap((text) => templateVariables(text)),
  ]);
  const target = `${source.namespace}.${operation.name}`;
  return { target, source, parameters, pathVariables, path: resource.path };
}

// ---------------------------------------------------------------------------
// Inputs an exposed operation, tool, resource or function can receive.

interface InputSet {
  /**
   * False in the generated dialect when nothing is declared: then the
   * inputs are whatever `rest.X`/`tools.X` name, so such a reference is
   * always receivable and `names` holds those it makes.
   */
  readonly closed: boolean;
  readonly names: ReadonlySet<string>;
  /** How to declare a missing input, for messages. */
  readonly howToDeclare: string;
}

/** An exposed thing that can call, run steps, delegate or mock. */
interface Owner {
  readonly pointer: string;
  readonly spec: InvocableSpec;
  /** `tool \`x\`` and the like, for messages. */
  readonly what: string;
  /** `with` prefixes that name a caller input (src/binding/call.ts parseWithValue). */
  readonly prefixes: readonly string[];
  readonly inputs: InputSet;
}

/** Where a consumed operation is called from, for the authentication check. */
interface Caller {
  readonly namespace: string;
  readonly what: string;
  readonly pointer: string;
  readonly provides: (name: string) => boolean;
}

type Scope = (name: string) => boolean;

/** `X` of `prefixX` when the value names a caller input, as the runtime parses it. */
function inputReference(value: unknown, prefixes: readonly string[]): string | undefined {
  if (typeof value !== 'string') return undefined;
  for (const prefix of prefixes) {
    const rest = value.slice(prefix.length);
    if (value.startsWith(prefix) && /^[A-Za-z0-9_*-]+$/.test(rest)) return rest;
  }
  return undefined;
}

/** The inputs the dialect derives from a plain call's own `with` (dialectInputFields). */
function referencedInputs(spec: InvocableSpec, prefixes: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const value of Object.values(spec.with ?? {})) {
    const name = inputReference(value, prefixes);
    if (name !== undefined) names.add(name);
  }
  return names;
}

/**
 * `declared` is undefined when the owner declares no inputs in the sense
 * the runtime uses (REST: no parameter at any level; MCP: no
 * `inputParameters` key); `open` says whether undeclared inputs are then
 * implicit (the dialect, or a function fed by its referrers).
 */
function inputSet(
  declared: readonly { name: string }[] | undefined,
  open: boolean,
  spec: InvocableSpec,
  prefixes: readonly string[],
  howToDeclare: string,
): InputSet {
  if (declared !== undefined) return { closed: true, names: new Set(declared.map((p) => p.name)), howToDeclare };
  if (open) return { closed: false, names: referencedInputs(spec, prefixes), howToDeclare };
  return { closed: true, names: new Set(), howToDeclare };
}

/**
 * The dialect's implicit inputs exist only for a plain `call`: the runtime
 * derives them from that call's `with` (src/binding/capability-binding.ts
 * dialectInputFields); steps, mocks and refs get none.
 */
function hasImplicitInputs(dialect: boolean, spec: InvocableSpec): boolean {
  return dialect && spec.call !== undefined && spec.ref === undefined;
}

// ---------------------------------------------------------------------------
// The checker.

class Checker {
  readonly #input: SemanticInput;
  readonly #file: string;
  readonly #dialect: boolean;
  readonly #operations: Map<string, Map<string, OperationInfo>>;
  readonly #functions = new Map<string, Map<string, { spec: AggregateFunctionSpec; pointer: string }>>();
  /** Bind variables the runtime resolves: `KEY` and `namespace.KEY` of root `binds`. */
  readonly #binds = new Set<string>();
  /** Variables declared only under `capability.binds`, which nothing resolves. */
  readonly #ignoredBinds = new Set<string>();
  /** Namespaces of adapters and binds, for literal-reference warnings. */
  readonly #adapterNamespaces = new Set<string>();
  readonly #bindNamespaces = new Set<string>();
  readonly #callers: Caller[] = [];
  /** `with` keys of the calls into each consumed namespace. */
  readonly #withKeysByNamespace = new Map<string, Set<string>>();
  /** Every input of every exposed operation, tool, resource and function. */
  readonly #exposedInputs = new Set<string>();
  /** `with` prefixes of the adapters whose tools or operations `ref` a function. */
  readonly #referrerPrefixes = new Map<string, string[]>();
  readonly #findings: SemanticFinding[] = [];

  constructor(input: SemanticInput) {
    this.#input = input;
    this.#file = input.file;
    this.#dialect = !input.strict;
    this.#operations = indexOperations(input.consumes, input.strict);
    this.#indexDocument(input.document);
  }

  run(): SemanticFinding[] {
    const capability = this.#input.document.capability ?? {};
    (capability.exposes ?? []).forEach((expose, index) => {
      const pointer = `/capability/exposes/${index}`;
      this.#checkInboundAuth(expose.authentication as AuthenticationSpec | undefined, `${pointer}/authentication`);
      if (expose.type === 'rest') this.#checkRest(expose, pointer);
      if (expose.type === 'mcp') this.#checkMcp(expose, pointer);
    });
    (capability.aggregates ?? []).forEach((aggregate, a) => {
      (aggregate.functions ?? []).forEach((fn, f) => {
        this.#checkFunction(aggregate.namespace, fn, `/capability/aggregates/${a}/functions/${f}`);
      });
    });
    this.#checkConsumedAuth();
    this.#checkConsumedValues();
    return this.#findings;
  }

  #indexDocument(document: CapabilityDocument): void {
    for (const bind of document.binds ?? []) {
      this.#bindNamespaces.add(bind.namespace);
      for (const key of Object.keys(bind.keys ?? {})) this.#binds.add(key).add(`${bind.namespace}.${key}`);
    }
    const capability = document.capability ?? {};
    for (const bind of capability.binds ?? []) {
      for (const key of Object.keys(bind.keys ?? {})) {
        for (const name of [key, `${bind.namespace}.${key}`]) if (!this.#binds.has(name)) this.#ignoredBinds.add(name);
      }
    }
    for (const expose of capability.exposes ?? []) {
      if (typeof expose.namespace === 'string') this.#adapterNamespaces.add(expose.namespace);
      this.#indexReferrers(expose);
    }
    (capability.aggregates ?? []).forEach((aggregate, a) => {
      const functions = this.#functions.get(aggregate.namespace) ?? new Map();
      (aggregate.functions ?? []).forEach((fn, f) => {
        const pointer = `/capability/aggregates/${a}/functions/${f}`;
        if (!functions.has(fn.name)) functions.set(fn.name, { spec: fn, pointer });
      });
      this.#functions.set(aggregate.namespace, functions);
    });
  }

  #indexReferrers(expose: ExposeSpec): void {
    const refs = expose.type === 'rest'
      ? expose.resources.flatMap((r) => (r.operations ?? []).map((o) => o.ref))
      : expose.type === 'mcp' ? expose.tools.map((t) => t.ref) : [];
    const prefixes = adapterPrefixes(expose, this.#dialect);
    for (const ref of refs) {
      if (ref === undefined) continue;
      const list = this.#referrerPrefixes.get(ref) ?? [];
      for (const prefix of prefixes) if (!list.includes(prefix)) list.push(prefix);
      this.#referrerPrefixes.set(ref, list);
    }
  }

  // -- adapters -------------------------------------------------------------

  #checkRest(expose: RestExposeSpec, pointer: string): void {
    const prefixes = adapterPrefixes(expose, this.#dialect);
    const how = 'declare it under `inputParameters` of the resource or operation';
    (expose.resources ?? []).forEach((resource, r) => {
      const at = `${pointer}/resources/${r}`;
      const forward = resource.forward?.targetNamespace;
      if (forward !== undefined) this.#checkForward(forward, `${at}/forward/targetNamespace`);
      (resource.operations ?? []).forEach((operation, o) => {
        const declared: ExposedInputParameterSpec[] = [
          ...(expose.inputParameters ?? []),
          ...(resource.inputParameters ?? []),
          ...(operation.inputParameters ?? []),
        ];
        const what = `operation \`${operation.method ?? 'GET'} ${resource.path}\``;
        // src/rest/adapter.ts: any declared parameter turns implicit inputs off.
        const implicit = hasImplicitInputs(this.#dialect, operation);
        const inputs = inputSet(declared.length > 0 ? declared : undefined, implicit, operation, prefixes, how);
        this.#checkOwner({ pointer: `${at}/operations/${o}`, spec: operation, what, prefixes, inputs });
      });
    });
  }

  #checkMcp(expose: McpExposeSpec, pointer: string): void {
    const prefixes = adapterPrefixes(expose, this.#dialect);
    (expose.tools ?? []).forEach((tool, t) => {
      const how = "declare it under the tool's `inputParameters`";
      const inputs = inputSet(tool.inputParameters, hasImplicitInputs(this.#dialect, tool), tool, prefixes, how);
      const what = `tool \`${tool.name ?? tool.ref ?? t}\``;
      this.#checkOwner({ pointer: `${pointer}/tools/${t}`, spec: tool, what, prefixes, inputs });
    });
    (expose.resources ?? []).forEach((raw, r) => {
      const resource = raw as InvocableSpec & { uri?: string; location?: string };
      if (resource.location !== undefined) return;
      // src/mcp/resources.ts: a templated URI's `{name}` variables are the inputs.
      const variables = [...String(resource.uri ?? '').matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((m) => ({ name: m[1]! }));
      const how = 'add it as a `{name}` variable of the resource `uri`';
      const inputs = inputSet(variables, false, resource, prefixes, how);
      const what = `resource \`${resource.name ?? r}\``;
      this.#checkOwner({ pointer: `${pointer}/resources/${r}`, spec: resource, what, prefixes, inputs });
    });
    (expose.prompts ?? []).forEach((prompt, p) => this.#checkPrompt(prompt, `${pointer}/prompts/${p}`));
  }

  #checkFunction(namespace: string, fn: AggregateFunctionSpec, pointer: string): void {
    // A function without inputParameters receives what each referring tool
    // or operation passes, which only the referrer knows: left open. Its
    // `with` names inputs through the aggregate namespace, or through the
    // prefixes of the adapter that refers to it (the runtime binds the
    // function with both).
    const prefixes = [`${namespace}.`, ...(this.#referrerPrefixes.get(`${namespace}.${fn.name}`) ?? [])];
    const how = "declare it under the function's `inputParameters`";
    const inputs = inputSet(fn.inputParameters, true, fn, prefixes, how);
    this.#checkOwner({ pointer, spec: fn, what: `function \`${namespace}.${fn.name}\``, prefixes, inputs });
  }

  // -- one owner ------------------------------------------------------------

  #checkOwner(owner: Owner): void {
    const { spec, pointer } = owner;
    const inputScope: Scope = (name) => owner.inputs.names.has(name);
    const withScope: Scope = (name) => this.#binds.has(name) || inputScope(name);
    const withKeys = new Set(Object.keys(spec.with ?? {}));
    for (const name of owner.inputs.names) this.#exposedInputs.add(name);

    if (spec.ref !== undefined) this.#checkRef(spec.ref, `${pointer}/ref`);
    if (spec.call !== undefined) {
      const operation = this.#checkCall(spec.call, `${pointer}/call`);
      const provides: Scope = (name) => withKeys.has(name) || withScope(name);
      if (operation !== undefined) this.#checkCallShape(operation, spec.with, provides, owner, `${pointer}`);
    }
    this.#checkWithValues(spec.with, owner, withScope, `${pointer}/with`);
    if (spec.steps !== undefined) this.#checkSteps(spec.steps, owner, withScope, pointer);
    if (spec.mappings !== undefined) this.#checkMappings(spec, pointer);

    // Output `value` templates see the inputs and the `with` values
    // (src/binding/output.ts); mock outputs only the inputs.
    const outputScope: Scope = spec.call !== undefined ? (name) => withKeys.has(name) || inputScope(name) : inputScope;
    if (spec.steps === undefined) {
      this.#checkOutputs(spec.outputParameters, owner, outputScope, `${pointer}/outputParameters`);
    }
  }

  /** With keys, required path parameters, and the caller record of one call. */
  #checkCallShape(
    operation: OperationInfo,
    withSpec: WithSpec | undefined,
    provides: Scope,
    owner: Owner,
    pointer: string,
  ): void {
    this.#checkWithKeys(withSpec, operation, `${pointer}/with`);
    this.#checkPathParameters(operation, provides, owner, `${pointer}/call`);
    const namespace = operation.source.namespace;
    const keys = this.#withKeysByNamespace.get(namespace) ?? new Set<string>();
    for (const key of Object.keys(withSpec ?? {})) keys.add(key);
    this.#withKeysByNamespace.set(namespace, keys);
    this.#callers.push({ namespace, what: owner.what, pointer: `${pointer}/call`, provides });
  }

  #checkSteps(steps: readonly StepSpec[], owner: Owner, ownerScope: Scope, pointer: string): void {
    const earlier = new Set<string>();
    // Step answers are template variables by step name, and their fields as
    // `step.field` (src/binding/orchestration.ts stepInputs).
    const fromSteps: Scope = (name) => earlier.has(name) || earlier.has(name.slice(0, name.indexOf('.')));
    steps.forEach((step, i) => {
      const at = `${pointer}/steps/${i}`;
      const scope: Scope = (name) => ownerScope(name) || fromSteps(name);
      if (step.type === 'call' && typeof step.call === 'string') {
        const operation = this.#checkCall(step.call, `${at}/call`);
        const withKeys = new Set(Object.keys(step.with ?? {}));
        const provides: Scope = (name) => withKeys.has(name) || scope(name);
        const stepOwner = { ...owner, what: `step \`${step.name}\` of ${owner.what}` };
        if (operation !== undefined) this.#checkCallShape(operation, step.with, provides, stepOwner, at);
      }
      if (step.type === 'lookup') this.#checkLookup(step, earlier, owner, at);
      this.#checkWithValues(step.with, owner, scope, `${at}/with`, earlier);
      if (earlier.has(step.name)) {
        const message = `step name \`${step.name}\` is used twice in ${owner.what}; ` +
          'later steps could not tell the two answers apart';
        this.#error('CAP_SPEC_DUPLICATE', `${at}/name`, message);
      }
      earlier.add(step.name);
    });
  }

  // -- call, ref, forward ---------------------------------------------------

  #checkCall(target: string, pointer: string): OperationInfo | undefined {
    const dot = target.indexOf('.');
    const namespace = target.slice(0, dot);
    const name = target.slice(dot + 1);
    if (this.#input.unresolved.has(namespace)) return undefined;

    const operations = this.#operations.get(namespace);
    // A failed import may be the namespace this call meant: its error is the cause.
    if (operations === undefined && this.#input.unresolved.size > 0) return undefined;
    if (operations === undefined) {
      const hint = this.#functions.get(namespace)?.has(name)
        ? `; \`${namespace}\` is an aggregate: delegate to its function with \`ref: ${target}\``
        : this.#namespaceHint(namespace, [...this.#operations.keys()]);
      this.#error('CAP_SPEC_CALL', pointer, `\`call: ${target}\` names no consumed namespace \`${namespace}\`${hint}`);
      return undefined;
    }
    const found = operations.get(name);
    if (found === undefined) {
      const known = [...operations.keys()];
      const hint = didYouMean(name, known) || ` (its operations: ${listNames(known)})`;
      const message = `\`call: ${target}\`: consumed namespace \`${namespace}\` has no operation \`${name}\`${hint}`;
      this.#error('CAP_SPEC_CALL', pointer, message);
    }
    return found;
  }

  #checkRef(target: string, pointer: string): void {
    const dot = target.indexOf('.');
    const namespace = target.slice(0, dot);
    const name = target.slice(dot + 1);
    const functions = this.#functions.get(namespace);
    if (functions === undefined) {
      const hint = this.#operations.get(namespace)?.has(name)
        ? `; \`${namespace}\` is a consumed namespace: call its operation with \`call: ${target}\``
        : this.#namespaceHint(namespace, [...this.#functions.keys()], 'aggregate');
      this.#error('CAP_SPEC_REF', pointer, `\`ref: ${target}\` names no aggregate \`${namespace}\`${hint}`);
      return;
    }
    if (!functions.has(name)) {
      const known = [...functions.keys()];
      const hint = didYouMean(name, known) || ` (its functions: ${listNames(known)})`;
      const message = `\`ref: ${target}\`: aggregate \`${namespace}\` has no function \`${name}\`${hint}`;
      this.#error('CAP_SPEC_REF', pointer, message);
    }
  }

  #checkForward(namespace: string, pointer: string): void {
    if (this.#operations.has(namespace) || this.#input.unresolved.size > 0) return;
    const hint = this.#namespaceHint(namespace, [...this.#operations.keys()]);
    const message = `\`forward.targetNamespace\` \`${namespace}\` names no consumed namespace${hint}`;
    this.#error('CAP_SPEC_CALL', pointer, message);
  }

  #namespaceHint(namespace: string, known: readonly string[], kind = 'consumed namespace'): string {
    if (known.length === 0) return `; the capability declares no ${kind}`;
    return didYouMean(namespace, known) || ` (known: ${listNames(known)})`;
  }

  // -- with -----------------------------------------------------------------

  /**
   * An operation that declares no parameter at all is a stub whose
   * interface is not written down (the reference engine's own test files
   * call such stubs with `with`): its keys are a warning, since the value
   * is never sent. Against declared parameters an unknown key is an error.
   */
  #checkWithKeys(withSpec: WithSpec | undefined, operation: OperationInfo, pointer: string): void {
    for (const key of Object.keys(withSpec ?? {})) {
      if (operation.parameters.has(key)) continue;
      const at = `${pointer}/${escapeToken(key)}`;
      const known = [...operation.parameters];
      if (known.length === 0) {
        const message = `\`with\` key \`${key}\` reaches nothing: \`${operation.target}\` declares no parameters, ` +
          `so the value is never sent; declare it on the consumed operation (e.g. \`{name: ${key}, in: query}\`)`;
        this.#report('warning', 'CAP_SPEC_WITH', this.#file, at, message, true);
        continue;
      }
      const hint = didYouMean(key, known) || ` (its parameters: ${listNames(known)})`;
      const message = `\`with\` key \`${key}\` is not a parameter of \`${operation.target}\`${hint}`;
      this.#error('CAP_SPEC_WITH', at, message, true);
    }
  }

  #checkWithValues(
    withSpec: WithSpec | undefined,
    owner: Owner,
    scope: Scope,
    pointer: string,
    steps?: ReadonlySet<string>,
  ): void {
    for (const [key, value] of Object.entries(withSpec ?? {})) {
      const at = `${pointer}/${escapeToken(key)}`;
      const name = inputReference(value, owner.prefixes);
      if (name !== undefined) {
        this.#checkInputReference(String(value), name, owner, at);
      } else if (typeof value === 'string') {
        this.#checkLiteral(value, owner, at);
        this.#checkTemplate(value, scope, owner, at, steps);
      }
    }
  }

  #checkInputReference(value: string, name: string, owner: Owner, pointer: string): void {
    const { inputs } = owner;
    if (!inputs.closed || inputs.names.has(name)) return;
    const known = [...inputs.names];
    if (known.length === 0) {
      const why = !this.#dialect
        ? ' (with --strict there are no implicit inputs)'
        : owner.spec.call === undefined ? ' (implicit inputs come only from the `with` of a plain `call`)' : '';
      const message = `\`${value}\` names input \`${name}\`, but ${owner.what} declares no inputs${why}; ` +
        inputs.howToDeclare;
      this.#error('CAP_SPEC_INPUT', pointer, message);
      return;
    }
    const hint = didYouMean(name, known) || ` (its inputs: ${listNames(known)}); ${inputs.howToDeclare}`;
    const message = `\`${value}\` names input \`${name}\`, which ${owner.what} does not declare${hint}`;
    this.#error('CAP_SPEC_INPUT', pointer, message);
  }

  /**
   * A value shaped like `<namespace>.X` that is not an input reference here
   * is sent as literal text. Warn when the prefix shows another intent.
   */
  #checkLiteral(value: string, owner: Owner, pointer: string): void {
    if (value.startsWith('$this.')) {
      const name = value.slice(value.lastIndexOf('.') + 1);
      const advice = `\`$this.<namespace>.X\` is the retired v0.4 syntax; write \`${owner.prefixes[0]}${name}\``;
      this.#warning('CAP_SPEC_INPUT', pointer, `\`${value}\` is sent as the literal text "${value}"; ${advice}`);
      return;
    }
    const match = /^([A-Za-z0-9-]+)\.([A-Za-z0-9_*-]+)$/.exec(value);
    if (match === null) return;
    const [, prefix, name] = match as unknown as [string, string, string];
    const own = owner.prefixes[0]!;
    let advice: string | undefined;
    if (prefix === 'rest' || prefix === 'tools') {
      advice = this.#dialect
        ? `\`${prefix}.\` names an input only in a ${prefix === 'rest' ? 'REST operation' : 'MCP tool or resource'}; ` +
          `write \`${owner.prefixes.at(-1)}${name}\``
        : `with --strict the dialect's \`${prefix}.X\` references are off; write \`${own}${name}\``;
    } else if (this.#bindNamespaces.has(prefix)) {
      advice = `to use the bind variable write \`{{${value}}}\``;
    } else if (this.#adapterNamespaces.has(prefix)) {
      advice = `\`${prefix}\` is another adapter; inputs of ${owner.what} are written \`${own}${name}\``;
    }
    if (advice === undefined) return;
    this.#warning('CAP_SPEC_INPUT', pointer, `\`${value}\` is sent as the literal text "${value}"; ${advice}`);
  }

  // -- templates ------------------------------------------------------------

  #checkTemplate(text: string, scope: Scope, owner: Owner, pointer: string, steps?: ReadonlySet<string>): void {
    for (const name of templateVariables(text)) {
      if (scope(name)) continue;
      const candidates = [...this.#binds, ...owner.inputs.names, ...(steps ?? [])];
      this.#error('CAP_SPEC_TEMPLATE', pointer, this.#unknownVariable(name, candidates, `${owner.what}`));
    }
  }

  #unknownVariable(name: string, candidates: readonly string[], where: string): string {
    if (this.#ignoredBinds.has(name)) {
      return `\`{{${name}}}\` is declared under \`capability.binds\`, which the runtime never resolves; ` +
        'move that bind to the root `binds`';
    }
    return `\`{{${name}}}\` names nothing in scope in ${where}: no bind variable, input, ` +
      `earlier step or \`with\` value of that name${bindHint(name, candidates)}`;
  }

  #checkOutputs(
    outputs: readonly OutputParameterSpec[] | undefined,
    owner: Owner,
    scope: Scope,
    pointer: string,
  ): void {
    const stack: [unknown, string][] = (outputs ?? []).map((o, i) => [o, `${pointer}/${i}`]);
    while (stack.length > 0) {
      const [node, at] = stack.pop()!;
      if (typeof node !== 'object' || node === null) continue;
      const output = node as OutputParameterSpec;
      if (typeof output.value === 'string') {
        for (const name of templateVariables(output.value)) {
          if (scope(name)) continue;
          const message = this.#unknownVariable(name, [...owner.inputs.names], owner.what);
          this.#error('CAP_SPEC_TEMPLATE', `${at}/value`, message);
        }
      }
      for (const [key, child] of Object.entries(output.properties ?? {})) {
        stack.push([child, `${at}/properties/${escapeToken(key)}`]);
      }
      if (Array.isArray(output.items)) output.items.forEach((item, i) => stack.push([item, `${at}/items/${i}`]));
      else if (output.items !== undefined) stack.push([output.items, `${at}/items`]);
    }
  }

  #checkPrompt(raw: Readonly<Record<string, unknown>>, pointer: string): void {
    const prompt = raw as { arguments?: { name: string }[]; template?: { content?: string }[] };
    const names = (prompt.arguments ?? []).map((a) => a.name);
    (prompt.template ?? []).forEach((message, m) => {
      // src/mcp/prompts.ts leaves an undeclared placeholder as written, which
      // may be meant; a warning, not an error.
      for (const name of templateVariables(String(message.content ?? ''))) {
        if (names.includes(name)) continue;
        const hint = didYouMean(name, names) ||
          (names.length === 0 ? '; the prompt declares no arguments' : ` (its arguments: ${listNames(names)})`);
        const message2 = `\`{{${name}}}\` names no argument of this prompt, so it stays as written${hint}`;
        this.#warning('CAP_SPEC_TEMPLATE', `${pointer}/template/${m}/content`, message2);
      }
    });
  }

  /** Inbound credentials are rendered from binds only (src/binding/inbound-auth.ts). */
  #checkInboundAuth(auth: AuthenticationSpec | undefined, pointer: string): void {
    for (const [field, value] of Object.entries(auth ?? {})) {
      if (typeof value !== 'string') continue;
      for (const name of templateVariables(value)) {
        if (this.#binds.has(name)) continue;
        const message = this.#ignoredBinds.has(name)
          ? this.#unknownVariable(name, [], '')
          : `\`{{${name}}}\` in inbound authentication names no bind variable (inbound credentials come from ` +
            `\`binds\` only)${bindHint(name, this.#binds) || '; declare it under the root `binds`'}`;
        this.#error('CAP_SPEC_TEMPLATE', `${pointer}/${escapeToken(field)}`, message);
      }
    }
  }

  /**
   * Outbound credentials render against the call's values, then the binds
   * (src/binding/request.ts). A variable that is no bind must come from
   * every caller of the namespace; one finding per variable.
   */
  #checkConsumedAuth(): void {
    for (const source of this.#input.consumes) {
      const auth = source.spec.authentication as Readonly<Record<string, unknown>> | undefined;
      for (const [field, value] of Object.entries(auth ?? {})) {
        if (typeof value !== 'string') continue;
        for (const name of templateVariables(value)) {
          if (this.#binds.has(name)) continue;
          const callers = this.#callers.filter((c) => c.namespace === source.namespace);
          const lacking = callers.find((c) => !c.provides(name));
          if (callers.length > 0 && lacking === undefined) continue;
          const pointer = `${source.pointer}/authentication/${escapeToken(field)}`;
          this.#report('error', 'CAP_SPEC_TEMPLATE', source.file, pointer, this.#authMessage(name, source, lacking));
        }
      }
    }
  }

  #authMessage(name: string, source: ConsumedSource, lacking: Caller | undefined): string {
    if (this.#ignoredBinds.has(name)) return this.#unknownVariable(name, [], '');
    const imported = source.file === this.#file ? '' : ` of the importing capability ${this.#file}`;
    const why = lacking === undefined ? '' : `, and ${lacking.what} does not provide it`;
    const fix = bindHint(name, this.#binds) || '; declare it under the root `binds`';
    return `\`{{${name}}}\` in the authentication of \`${source.namespace}\` names no bind variable` +
      `${imported}${why}${fix}`;
  }

  /**
   * A consumed parameter `value` renders against the call's values, then the
   * binds (src/binding/request.ts); a variable that is absent drops the
   * parameter from the request without a word. Which values a call carries
   * is partly a run-time matter, so a name nothing in the file could supply
   * is a warning: no bind, no parameter of the namespace, no `with` key of a
   * call into it, no exposed input. Authentication has its own, stricter
   * check above.
   */
  #checkConsumedValues(): void {
    // A file imported under two names is one text: one finding per place.
    const reported = new Set<string>();
    for (const source of this.#input.consumes) {
      const known = this.#suppliableNames(source);
      for (const [parameter, pointer] of consumedParameters(source)) {
        if (typeof parameter.value !== 'string') continue;
        for (const name of templateVariables(parameter.value)) {
          if (known.has(name) || this.#binds.has(name)) continue;
          const place = `${source.file}\u0000${pointer}\u0000${name}`;
          if (reported.has(place)) continue;
          reported.add(place);
          const message = this.#ignoredBinds.has(name)
            ? this.#unknownVariable(name, [], '')
            : this.#valueMessage(name, parameter.name, source);
          this.#report('warning', 'CAP_SPEC_TEMPLATE', source.file, `${pointer}/value`, message);
        }
      }
    }
  }

  /** Names a call into `source` could carry: its parameters, `with` keys and any exposed input. */
  #suppliableNames(source: ConsumedSource): Set<string> {
    const withKeys = this.#withKeysByNamespace.get(source.namespace) ?? [];
    const names = new Set([...this.#exposedInputs, ...withKeys]);
    for (const [parameter] of consumedParameters(source)) names.add(parameter.name);
    for (const resource of source.spec.resources ?? []) {
      for (const name of templateVariables(resource.path, this.#dialect)) names.add(name);
    }
    return names;
  }

  #valueMessage(name: string, parameter: string, source: ConsumedSource): string {
    const fix = bindHint(name, this.#binds) ||
      '; declare it under the root `binds`, or pass it with `with`';
    return `\`{{${name}}}\` in the value of consumed parameter \`${parameter}\` names no ` +
      `bind variable, parameter of \`${source.namespace}\`, \`with\` key of a call into it ` +
      `or exposed input, so the parameter is left out of every request that lacks it${fix}`;
  }

  // -- path parameters ------------------------------------------------------

  #checkPathParameters(operation: OperationInfo, provides: Scope, owner: Owner, pointer: string): void {
    for (const name of operation.pathVariables) {
      if (provides(name)) continue;
      const guess = closest(name, owner.inputs.names);
      const fix = guess === undefined
        ? `add \`${name}\` to \`with\`, or declare an input named \`${name}\``
        : `to pass input \`${guess}\`, add \`${name}: ${owner.prefixes[0]}${guess}\` to \`with\``;
      const message = `\`call: ${operation.target}\` needs the path parameter \`${name}\` ` +
        `(path \`${operation.path}\`), but ${owner.what} never provides it; ${fix}`;
      this.#error('CAP_SPEC_PATH_PARAM', pointer, message);
    }
  }

  // -- orchestration --------------------------------------------------------

  #checkLookup(step: StepSpec, earlier: ReadonlySet<string>, owner: Owner, pointer: string): void {
    if (typeof step.index === 'string' && !earlier.has(step.index)) {
      const message = this.#stepMessage(`lookup \`index: ${step.index}\``, step.index, earlier);
      this.#error('CAP_SPEC_REF', `${pointer}/index`, message);
    }
    const value = step.lookupValue;
    if (typeof value !== 'string') return;
    if (value.startsWith('$.')) {
      const name = firstSegment(value);
      if (earlier.has(name)) return;
      const message = this.#stepMessage(`\`lookupValue: ${value}\``, name, earlier);
      this.#error('CAP_SPEC_REF', `${pointer}/lookupValue`, message);
      return;
    }
    // A template lookupValue renders over the caller's inputs only.
    this.#checkTemplate(value, (n) => owner.inputs.names.has(n), owner, `${pointer}/lookupValue`);
  }

  #checkMappings(spec: InvocableSpec, pointer: string): void {
    const steps = new Set((spec.steps ?? []).map((s) => s.name));
    (spec.mappings ?? []).forEach((mapping, m) => {
      if (typeof mapping.value !== 'string' || !mapping.value.startsWith('$.')) return;
      const name = firstSegment(mapping.value);
      if (steps.has(name)) return;
      const message = this.#stepMessage(`mapping \`value: ${mapping.value}\``, name, steps, 'step');
      this.#error('CAP_SPEC_REF', `${pointer}/mappings/${m}/value`, message);
    });
  }

  #stepMessage(what: string, name: string, steps: ReadonlySet<string>, kind = 'earlier step'): string {
    const hint = didYouMean(name, steps) || (steps.size === 0 ? '' : ` (${kind}s: ${listNames([...steps])})`);
    return `${what} reads \`${name}\`, which is no ${kind} of this orchestration${hint}`;
  }

  // -- findings -------------------------------------------------------------

  #error(code: ErrorCode, pointer: string, message: string, atKey = false): void {
    this.#report('error', code, this.#file, pointer, message, atKey);
  }

  #warning(code: ErrorCode, pointer: string, message: string): void {
    this.#report('warning', code, this.#file, pointer, message);
  }

  #report(
    severity: 'error' | 'warning',
    code: ErrorCode,
    file: string,
    pointer: string,
    message: string,
    atKey = false,
  ): void {
    this.#findings.push({ severity, code, message, file, pointer, ...(atKey ? { atKey } : {}) });
  }
}

/**
 * `with` prefixes that name a caller input on an adapter: its namespace,
 * and in the dialect `rest.` on REST and `tools.` on MCP (src/rest/adapter.ts,
 * src/mcp/tools.ts, src/mcp/resources.ts).
 */
function adapterPrefixes(expose: ExposeSpec, dialect: boolean): string[] {
  const own = `${String(expose.namespace)}.`;
  if (!dialect) return [own];
  if (expose.type === 'rest') return [own, 'rest.'];
  return expose.type === 'mcp' ? [own, 'tools.'] : [own];
}

/** Each consumed parameter of a namespace, at every level, with its pointer. */
function consumedParameters(source: ConsumedSource): [ConsumedParameterSpec, string][] {
  const out: [ConsumedParameterSpec, string][] = [];
  const add = (list: readonly ConsumedParameterSpec[] | undefined, at: string) => {
    (list ?? []).forEach((parameter, i) => out.push([parameter, `${at}/inputParameters/${i}`]));
  };
  add(source.spec.inputParameters, source.pointer);
  (source.spec.resources ?? []).forEach((resource, r) => {
    const at = `${source.pointer}/resources/${r}`;
    add(resource.inputParameters, at);
    (resource.operations ?? []).forEach((operation, o) => {
      add(operation.inputParameters, `${at}/operations/${o}`);
    });
  });
  return out;
}

/** `; did you mean \`{{X}}\`?` for the nearest name, or nothing. */
function bindHint(name: string, candidates: Iterable<string>): string {
  const guess = closest(name, candidates);
  return guess === undefined ? '' : `; did you mean \`{{${guess}}}\`?`;
}

/** `get-ship` of `$.get-ship.imo` or `$.get-ship[0]`. */
function firstSegment(path: string): string {
  return /^\$\.([^.[]*)/.exec(path)?.[1] ?? '';
}

/** At most eight names, for messages. */
export function listNames(names: readonly string[]): string {
  const shown = names.slice(0, 8).map((n) => `\`${n}\``).join(', ');
  return names.length > 8 ? `${shown}, … ${names.length - 8} more` : shown;
}

export function escapeToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}
