import { CapabilityError } from '../errors/capability-error.js';
import type { MappingSpec, OutputParameterSpec, StepSpec } from '../spec/types.js';
import type { BoundCall, CallResult, InvokeOptions } from './call.js';
import { mapOutput, selectPath } from './output.js';
import { compileTemplate, renderTemplate, stringifyValue } from './template.js';

/** Anything an exposed operation, tool or resource can run. */
export interface Invocation {
  invoke(inputs: ReadonlyMap<string, unknown>, options: InvokeOptions): Promise<CallResult>;
}

/**
 * Mock outputs (spec 1.12, MockOutputParameter): a tool or operation with
 * no call and no steps answers with its declared values, rendered as
 * templates over the caller's inputs.
 */
export function bindMock(outputs: readonly OutputParameterSpec[]): Invocation {
  return {
    invoke: async (inputs) => {
      const value = mapOutput(outputs, null, (name) => inputs.get(name));
      return { kind: 'value', status: 200, headers: {}, value, upstreamMs: 0 };
    },
  };
}

/** What a step needs from the binding: a consumed call bound with the step's `with`. */
export interface StepBinder {
  bindStepCall(step: StepSpec, pointer: string): BoundCall;
  /** Named consumed output parameters of the step's operation, for projection. */
  projectionOf(step: StepSpec): readonly OutputParameterSpec[];
}

type BoundStep =
  | { readonly kind: 'call'; readonly name: string; readonly call: BoundCall; readonly projection: readonly OutputParameterSpec[] }
  | { readonly kind: 'lookup'; readonly name: string; readonly spec: StepSpec };

/**
 * Orchestration (spec 1.11): steps run in order on a copy of the inputs.
 * A call step's JSON answer is stored under the step name and its fields
 * become template variables (`{{get-ship.imo_number}}`); a lookup step
 * picks records out of an earlier step's answer. `mappings` then build the
 * result. Unlike the reference engine, an upstream error status stops the
 * sequence and is returned as the answer: later steps would otherwise run
 * on data that is not there.
 */
export function bindSteps(
  steps: readonly StepSpec[],
  mappings: readonly MappingSpec[] | undefined,
  binder: StepBinder,
  pointer: string,
  file: string,
): Invocation {
  const bound = steps.map((step, i): BoundStep => {
    const at = `${pointer}/steps/${i}`;
    if (step.type === 'call') return { kind: 'call', name: step.name, call: binder.bindStepCall(step, at), projection: binder.projectionOf(step) };
    if (step.type === 'lookup') {
      const earlier = steps.slice(0, i).some((s) => s.name === step.index);
      if (!earlier) {
        throw new CapabilityError('CAP_SPEC_REF', `${file}: lookup step "${step.name}" indexes "${step.index}", which is not an earlier step`, {
          location: { file, pointer: `${at}/index` },
        });
      }
      return { kind: 'lookup', name: step.name, spec: step };
    }
    throw new CapabilityError('CAP_SPEC_UNSUPPORTED', `${file}: ${step.type} steps are not supported; "${step.name}" cannot run`, {
      location: { file, pointer: at },
    });
  });

  return {
    invoke: async (inputs, options) => {
      const outputs = new Map<string, unknown>();
      const scope = new Map(inputs);
      let last: CallResult | undefined;
      let upstreamMs = 0;
      for (const step of bound) {
        if (step.kind === 'lookup') {
          outputs.set(step.name, runLookup(step.spec, outputs, scope));
          continue;
        }
        const result = await step.call.invoke(stepInputs(scope, outputs), { ...options, mode: 'value' });
        upstreamMs += result.upstreamMs;
        if (result.status >= 400) return result;
        last = result;
        if (result.kind === 'stream') {
          result.body.resume();
          continue;
        }
        outputs.set(step.name, project(result.value, step.projection));
      }
      const value = applyMappings(mappings ?? [], outputs);
      if (value === undefined && last?.kind === 'value') return { ...last, upstreamMs };
      return { kind: 'value', status: 200, headers: {}, value: value ?? null, upstreamMs };
    },
  };
}

/** Inputs of a step: the caller's, plus each earlier step's answer by name. */
function stepInputs(scope: ReadonlyMap<string, unknown>, outputs: ReadonlyMap<string, unknown>): Map<string, unknown> {
  const values = new Map(scope);
  for (const [name, output] of outputs) {
    values.set(name, output);
    if (typeof output === 'object' && output !== null && !Array.isArray(output)) {
      for (const [k, v] of Object.entries(output)) values.set(`${name}.${k}`, v);
    }
  }
  return values;
}

/**
 * Named consumed output parameters project a step's answer (spec 1.4.6):
 * an object becomes `{name: value}`; each element of an array keeps its
 * fields and gains the named ones.
 */
function project(value: unknown, projection: readonly OutputParameterSpec[]): unknown {
  const named = projection.filter((p) => p.name !== undefined && (p.mapping ?? asPath(p.value)) !== undefined);
  if (named.length === 0) return value;
  const fields = (node: unknown) =>
    Object.fromEntries(named.map((p) => [p.name!, selectPath(node, (p.mapping ?? asPath(p.value))!) ?? null]));
  if (Array.isArray(value)) {
    return value.map((el) => (typeof el === 'object' && el !== null ? { ...el, ...fields(el) } : el));
  }
  return fields(value);
}

function asPath(value: unknown): string | undefined {
  return typeof value === 'string' && value.startsWith('$') ? value : undefined;
}

/** Lookup step: records of `index` whose `match` field equals the lookup value. */
function runLookup(step: StepSpec, outputs: ReadonlyMap<string, unknown>, scope: ReadonlyMap<string, unknown>): unknown {
  const records = outputs.get(step.index!);
  const list = Array.isArray(records) ? records : [];
  const wanted = lookupValue(step.lookupValue ?? '', outputs, scope);
  const fields = step.outputParameters ?? [];
  const pick = (key: unknown) => {
    const found = list.find((r) => typeof r === 'object' && r !== null && stringifyValue((r as Record<string, unknown>)[step.match!]) === stringifyValue(key));
    if (found === undefined) return null;
    return Object.fromEntries(fields.map((f) => [f, (found as Record<string, unknown>)[f] ?? null]));
  };
  return Array.isArray(wanted) ? wanted.map(pick).filter((r) => r !== null) : pick(wanted);
}

function lookupValue(expression: string, outputs: ReadonlyMap<string, unknown>, scope: ReadonlyMap<string, unknown>): unknown {
  if (expression.startsWith('$.')) return selectPath(Object.fromEntries(outputs), expression);
  return renderTemplate(compileTemplate(expression), (n) => scope.get(n), (v) => stringifyValue(v ?? ''));
}

/**
 * Mappings build the result object by `targetName` (a dotted name nests:
 * `route.from`); values are JSONPaths over the step answers. Unresolved
 * values are left out; when nothing resolves the result is undefined.
 */
function applyMappings(mappings: readonly MappingSpec[], outputs: ReadonlyMap<string, unknown>): Record<string, unknown> | undefined {
  const root = Object.fromEntries(outputs);
  const out: Record<string, unknown> = {};
  let resolved = 0;
  for (const m of mappings) {
    const value = selectPath(root, m.value);
    if (value === undefined) continue;
    resolved++;
    const path = m.targetName.split('.');
    let node = out;
    for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
    node[path.at(-1)!] = value;
  }
  return resolved === 0 ? undefined : out;
}
