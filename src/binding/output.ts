import { JSONPath } from 'jsonpath-plus';
import type { OutputParameterSpec } from '../spec/types.js';
import { compileTemplate, renderTemplate, stringifyValue } from './template.js';

/**
 * Output shaping (spec: MappedOutputParameter). We apply the spec's intended
 * semantics, not the reference engine's: an object `mapping` selects a node
 * and its `properties` are read relative to that node; an array's `items`
 * are read relative to each element; a mapping with no properties or items
 * passes the selected value through unchanged.
 */

/** True when the parameter returns the whole upstream value unchanged. */
export function isPassThrough(param: OutputParameterSpec): boolean {
  return (
    (param.type === 'object' || param.type === 'array' || param.type === undefined) &&
    param.properties === undefined &&
    param.items === undefined &&
    param.value === undefined &&
    isRootPath(param.mapping)
  );
}

function isRootPath(path: string | undefined): boolean {
  const p = path?.trim();
  return p === '$' || p === '$.';
}

/** Applies an exposed operation's output parameters to an upstream value. */
export function mapOutput(
  params: readonly OutputParameterSpec[],
  root: unknown,
  scope: (name: string) => unknown = () => undefined,
): unknown {
  // Several named outputs build an object; one unnamed output is the result.
  if (params.length === 1 && params[0]!.name === undefined) return mapParameter(params[0]!, root, scope);
  const out: Record<string, unknown> = {};
  for (const p of params) out[p.name ?? 'value'] = mapParameter(p, root, scope);
  return out;
}

function mapParameter(param: OutputParameterSpec, node: unknown, scope: (name: string) => unknown): unknown {
  if (param.value !== undefined) return staticValue(param, scope);
  const selected = param.mapping === undefined ? node : selectPath(node, param.mapping);

  if (param.type === 'array') return mapArray(param, selected, scope);
  if (param.type === 'object' && param.properties !== undefined) {
    if (selected === undefined || selected === null) return null;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(param.properties)) out[key] = mapParameter(child, selected, scope);
    return out;
  }
  if (typeof selected === 'string' && param.maxLength !== undefined) return selected.slice(0, param.maxLength);
  return selected === undefined ? null : coerceScalar(param.type, selected);
}

function mapArray(param: OutputParameterSpec, selected: unknown, scope: (name: string) => unknown): unknown {
  if (!Array.isArray(selected)) return selected === undefined ? null : selected;
  const items = Array.isArray(param.items) ? param.items[0] : param.items;
  if (items === undefined) return selected;
  return selected.map((element) => mapParameter(items, element, scope));
}

/** A static `value`, rendered as a template and coerced to the declared type. */
function staticValue(param: OutputParameterSpec, scope: (name: string) => unknown): unknown {
  if (typeof param.value !== 'string') return param.value;
  const text = renderTemplate(compileTemplate(param.value), scope, (v) => stringifyValue(v ?? ''));
  if (param.type === 'number' || param.type === 'integer') {
    const n = Number(text);
    return Number.isFinite(n) && text.trim() !== '' ? n : text;
  }
  if (param.type === 'boolean') return text === 'true' ? true : text === 'false' ? false : text;
  return text;
}

/**
 * Evaluates a JSONPath against a value. `$` and `$.` are the root. Script
 * evaluation is disabled: a capability file must never run code through a
 * filter expression. Definite paths give one value, indefinite ones a list.
 */
export function selectPath(root: unknown, path: string): unknown {
  const p = path.trim();
  if (p === '$' || p === '$.') return root;
  if (root === null || typeof root !== 'object') return undefined;

  const results = JSONPath({
    path: p,
    json: root as object,
    eval: false,
    wrap: true,
    resultType: 'all',
  }) as { value: unknown }[];
  if (isDefinite(p)) return results[0]?.value;
  return results.map((r) => r.value);
}

function isDefinite(path: string): boolean {
  return !/\[\*\]|\.\.|\[\?|\[[^\]]*[,:][^\]]*\]|\.\*/.test(path);
}

/**
 * A mapped scalar takes its declared type where nothing is lost: XML and
 * CSV give every value as text, and a field declared `number` should read
 * as one on REST exactly as MCP's output schema promises. A value that
 * does not convert is left as it came.
 */
function coerceScalar(type: OutputParameterSpec['type'], value: unknown): unknown {
  if (type === 'number' || type === 'integer') {
    if (typeof value !== 'string' || !/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(value)) return value;
    const n = Number(value);
    return Number.isFinite(n) && (type === 'number' || Number.isSafeInteger(n)) ? n : value;
  }
  if (type === 'boolean') return value === 'true' ? true : value === 'false' ? false : value;
  if (type === 'string' && (typeof value === 'number' || typeof value === 'boolean')) return String(value);
  return value;
}
