import { CapabilityError } from '../errors/capability-error.js';
import type { AggregateFunctionSpec, CapabilityDocument, InvocableSpec, McpToolHintsSpec } from '../spec/types.js';

/** An aggregate function found through a `ref`, with its namespace. */
export interface ResolvedRef {
  readonly namespace: string;
  readonly fn: AggregateFunctionSpec;
}

/** Finds `ref: <aggregate-namespace>.<function>`; an unknown ref stops start-up. */
export function resolveRef(document: CapabilityDocument, ref: string, file: string, pointer: string): ResolvedRef {
  const [namespace, name] = ref.split('.');
  const aggregate = (document.capability.aggregates ?? []).find((a) => a.namespace === namespace);
  const fn = aggregate?.functions.find((f) => f.name === name);
  if (aggregate === undefined || fn === undefined) {
    const known = (document.capability.aggregates ?? []).flatMap((a) => a.functions.map((f) => `${a.namespace}.${f.name}`));
    throw new CapabilityError('CAP_SPEC_REF', `${file}: ref "${ref}" names no aggregate function (known: ${known.join(', ') || 'none'})`, {
      location: { file, pointer: `${pointer}/ref` },
    });
  }
  return { namespace: namespace!, fn };
}

/**
 * A tool or operation with `ref` takes what it does not declare from the
 * function (spec 1.10): name, description and inputs. What it runs is the
 * function's call, steps or mock outputs.
 */
export function inheritFromFunction<T extends InvocableSpec>(spec: T, resolved: ResolvedRef): T {
  const { fn } = resolved;
  return {
    ...spec,
    name: spec.name ?? fn.name,
    description: spec.description ?? fn.description,
    inputParameters: spec.inputParameters ?? fn.inputParameters,
    outputParameters: spec.outputParameters ?? fn.outputParameters,
  };
}

/**
 * MCP hints from the function's `semantics`, overridden field by field by
 * the tool's own hints: safe means read-only and not destructive; not safe
 * means not read-only; idempotent is copied. `cacheable` has no MCP hint.
 */
export function hintsFromSemantics(
  semantics: AggregateFunctionSpec['semantics'],
  explicit: McpToolHintsSpec | undefined,
): McpToolHintsSpec | undefined {
  const derived: { -readonly [K in keyof McpToolHintsSpec]: McpToolHintsSpec[K] } = {};
  if (semantics?.safe === true) {
    derived.readOnly = true;
    derived.destructive = false;
  } else if (semantics?.safe === false) {
    derived.readOnly = false;
  }
  if (semantics?.idempotent !== undefined) derived.idempotent = semantics.idempotent;
  const merged = { ...derived, ...(explicit ?? {}) };
  return Object.keys(merged).length === 0 ? undefined : merged;
}
