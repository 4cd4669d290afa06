import { CapabilityError } from '../errors/capability-error.js';
import type { ParameterLocation, ScalarType } from '../spec/types.js';

/** One input an exposed operation or tool accepts from its caller. */
export interface InputField {
  readonly name: string;
  /** Where a REST caller puts it; MCP arguments have no location. */
  readonly in?: ParameterLocation;
  readonly type: ScalarType;
  readonly required: boolean;
  readonly description?: string;
  readonly pattern?: string;
  /**
   * Spec ExposedInputParameter `value`: a constant, or a JSONPath (`$...`)
   * into the JSON request body.
   */
  readonly value?: string;
}

const INTEGER_TEXT = /^-?(0|[1-9]\d*)$/;
const NUMBER_TEXT = /^-?(0|[1-9]\d*)(\.\d+)?$/;

/** Names equal modulo `-`/`_` and case: `account-id` is `ACCOUNT_ID`. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/-/g, '_');
}

/**
 * Converts a REST string (path segment, query value, header) to the field's
 * type. A value that does not fit is refused naming the parameter, before
 * any upstream call.
 */
export function coerceText(field: InputField, raw: string): unknown {
  switch (field.type) {
    case 'integer':
    case 'number': {
      // Plain decimal only: Number() would also take '0x10', '1e3', ' 5'
      // and send the caller's value on rewritten.
      const pattern = field.type === 'integer' ? INTEGER_TEXT : NUMBER_TEXT;
      const n = pattern.test(raw) ? Number(raw) : Number.NaN;
      const ok = Number.isFinite(n) && (field.type === 'number' || Number.isSafeInteger(n));
      if (!ok) throw invalidInput(field, raw);
      return n;
    }
    case 'boolean':
      if (raw === 'true' || raw === 'false') return raw === 'true';
      throw invalidInput(field, raw);
    case 'array':
    case 'object':
      return parseStructured(field, raw);
    default:
      checkPattern(field, raw);
      return raw;
  }
}

function parseStructured(field: InputField, raw: string): unknown {
  try {
    const value: unknown = JSON.parse(raw);
    const isArray = Array.isArray(value);
    if ((field.type === 'array') === isArray && typeof value === 'object' && value !== null) return value;
  } catch {
    // falls through to the error below
  }
  throw invalidInput(field, raw);
}

function checkPattern(field: InputField, raw: string): void {
  if (field.pattern !== undefined && !new RegExp(field.pattern, 'u').test(raw)) {
    throw new CapabilityError(
      'CAP_INPUT_INVALID',
      `parameter "${field.name}" must match ${field.pattern}; received ${JSON.stringify(raw)}`,
      { data: { parameter: field.name, pattern: field.pattern, received: raw } },
    );
  }
}

/** Checks a value that arrived typed (JSON body, MCP argument) against the field. */
export function checkTyped(field: InputField, value: unknown): unknown {
  const ok =
    field.type === 'string' ? typeof value === 'string'
    : field.type === 'integer' ? Number.isSafeInteger(value)
    : field.type === 'number' ? typeof value === 'number' && Number.isFinite(value)
    : field.type === 'boolean' ? typeof value === 'boolean'
    : field.type === 'array' ? Array.isArray(value)
    : typeof value === 'object' && value !== null && !Array.isArray(value);
  if (!ok) throw invalidInput(field, value);
  if (typeof value === 'string') checkPattern(field, value);
  return value;
}

export function invalidInput(field: InputField, received: unknown): CapabilityError {
  const where = field.in === undefined ? '' : ` (${field.in})`;
  return new CapabilityError(
    'CAP_INPUT_INVALID',
    `parameter "${field.name}"${where} must be ${article(field.type)} ${field.type}; ` +
      `received ${JSON.stringify(received)}`,
    { data: { parameter: field.name, expected: field.type, received } },
  );
}

export function missingInput(field: InputField): CapabilityError {
  const where = field.in === undefined ? '' : ` ${field.in}`;
  return new CapabilityError('CAP_INPUT_MISSING', `required${where} parameter "${field.name}" is missing`, {
    data: { parameter: field.name, expected: field.type },
  });
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? 'an' : 'a';
}

/** JSON Schema of a set of fields, as MCP `inputSchema` advertises it. */
export function inputSchemaOf(fields: readonly InputField[]): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const f of fields) {
    const prop: Record<string, unknown> = { type: f.type };
    if (f.description !== undefined) prop.description = f.description;
    if (f.pattern !== undefined) prop.pattern = f.pattern;
    properties[f.name] = prop;
  }
  const required = fields.filter((f) => f.required).map((f) => f.name);
  return required.length === 0
    ? { type: 'object', properties }
    : { type: 'object', properties, required };
}
