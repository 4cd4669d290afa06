import type { OutputParameterSpec } from '../spec/types.js';
import { isPassThrough } from '../binding/output.js';

/**
 * How a tool's mapped value becomes `structuredContent`. MCP requires an
 * object there, and a tool that advertises an `outputSchema` must return
 * matching structured content on every success, so the schema is derived
 * from the same declaration that shapes the value and the value is made to
 * conform (scalars coerced to their declared type where that loses nothing,
 * else null; every declared field nullable, since upstream data may lack it).
 */
export type OutputPlan =
  | { readonly kind: 'passthrough' }
  | { readonly kind: 'object'; readonly schema: Record<string, unknown>; conform(value: unknown): unknown }
  | { readonly kind: 'wrapped'; readonly schema: Record<string, unknown>; conform(value: unknown): unknown };

export function planOutput(params: readonly OutputParameterSpec[] | undefined): OutputPlan {
  const list = params ?? [];
  if (list.length === 0 || (list.length === 1 && isPassThrough(list[0]!))) return { kind: 'passthrough' };

  if (list.length === 1 && list[0]!.name === undefined) {
    const only = list[0]!;
    if (only.type === 'object' && only.properties !== undefined) {
      const schema = { ...objectSchema(only.properties), type: 'object' };
      return { kind: 'object', schema, conform: (v) => conform(only, v) ?? conform(only, {}) };
    }
    const schema = { type: 'object', properties: { result: schemaOf(only) }, required: ['result'], additionalProperties: false };
    return { kind: 'wrapped', schema, conform: (v) => conform(only, v) };
  }
  const named = Object.fromEntries(list.map((p) => [p.name ?? 'value', p]));
  const schema = { ...objectSchema(named), type: 'object' };
  const whole: OutputParameterSpec = { type: 'object', properties: named };
  return { kind: 'object', schema, conform: (v) => conform(whole, v) ?? conform(whole, {}) };
}

function objectSchema(properties: Readonly<Record<string, OutputParameterSpec>>): Record<string, unknown> {
  const props: Record<string, unknown> = {};
  for (const [key, p] of Object.entries(properties)) props[key] = schemaOf(p);
  return { type: ['object', 'null'], properties: props, required: Object.keys(props), additionalProperties: false };
}

function schemaOf(p: OutputParameterSpec): Record<string, unknown> {
  const described = p.description === undefined ? {} : { description: p.description };
  if (p.type === 'object' && p.properties !== undefined) return { ...objectSchema(p.properties), ...described };
  if (p.type === 'array') {
    const items = itemsOf(p);
    return { type: ['array', 'null'], ...(items === undefined ? {} : { items: schemaOf(items) }), ...described };
  }
  if (p.type === undefined || p.type === 'object') return { ...described };
  return { type: [p.type, 'null'], ...described };
}

/** Makes a mapped value match the schema {@link schemaOf} derives from `p`. */
function conform(p: OutputParameterSpec, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (p.type === 'object' && p.properties !== undefined) {
    if (typeof value !== 'object' || Array.isArray(value)) return null;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(p.properties)) out[key] = conform(child, (value as Record<string, unknown>)[key]);
    return out;
  }
  if (p.type === 'array') {
    if (!Array.isArray(value)) return null;
    const items = itemsOf(p);
    return items === undefined ? value : value.map((v) => conform(items, v));
  }
  return conformScalar(p.type, value);
}

function conformScalar(type: OutputParameterSpec['type'], value: unknown): unknown {
  switch (type) {
    case 'string':
      return typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : null;
    case 'number':
    case 'integer': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
      if (!Number.isFinite(n)) return null;
      return type === 'integer' && !Number.isInteger(n) ? null : n;
    }
    case 'boolean':
      return typeof value === 'boolean' ? value : value === 'true' ? true : value === 'false' ? false : null;
    default:
      return value;
  }
}

/**
 * The element declaration of an array. Orchestrated outputs (spec
 * OrchestratedOutputParameter) list named fields as `items: [{name, type}]`:
 * that is an object with those properties, not an array of alternatives.
 */
function itemsOf(p: OutputParameterSpec): OutputParameterSpec | undefined {
  if (!Array.isArray(p.items)) return p.items as OutputParameterSpec | undefined;
  const list = p.items as readonly OutputParameterSpec[];
  if (list.length > 0 && list.every((i) => i.name !== undefined)) {
    return { type: 'object', properties: Object.fromEntries(list.map((i) => [i.name!, i])) };
  }
  return list[0];
}
