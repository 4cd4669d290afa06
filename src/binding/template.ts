/**
 * Mustache-style variable templates, compiled once at load time.
 *
 * The spec uses `{{name}}` (and `{{namespace.NAME}}` for binds). Sections,
 * partials and HTML escaping are not part of how capabilities use templates,
 * so only variables are recognised; anything else stays literal text.
 */

export type TemplatePart =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'var'; readonly name: string };

export interface Template {
  readonly source: string;
  readonly parts: readonly TemplatePart[];
  /** Names of the variables, in order of first use. */
  readonly variables: readonly string[];
}

export interface TemplateOptions {
  /** Also accept single-brace `{name}` (OpenAPI style; generated dialect). */
  readonly singleBraces?: boolean;
}

const DOUBLE = /\{\{\s*([A-Za-z0-9_.*-]+)\s*\}\}/g;
const DOUBLE_OR_SINGLE = /\{\{\s*([A-Za-z0-9_.*-]+)\s*\}\}|\{([A-Za-z0-9_.*-]+)\}/g;

/** Splits a template string into literal text and variable references. */
export function compileTemplate(source: string, options: TemplateOptions = {}): Template {
  const pattern = new RegExp(options.singleBraces ? DOUBLE_OR_SINGLE : DOUBLE);
  const parts: TemplatePart[] = [];
  const variables: string[] = [];
  let last = 0;

  for (const match of source.matchAll(pattern)) {
    const name = (match[1] ?? match[2])!;
    if (match.index > last) parts.push({ kind: 'text', text: source.slice(last, match.index) });
    parts.push({ kind: 'var', name });
    if (!variables.includes(name)) variables.push(name);
    last = match.index + match[0].length;
  }
  if (last < source.length) parts.push({ kind: 'text', text: source.slice(last) });
  return { source, parts, variables };
}

/** True when the template is one variable and nothing else. */
export function isSingleVariable(template: Template): boolean {
  return template.parts.length === 1 && template.parts[0]!.kind === 'var';
}

/**
 * Renders a template. `lookup` returns undefined for a name it does not
 * know; `onMissing` decides what that means at this place (an error, an
 * empty string, a JSON null), so one engine serves paths, headers and bodies.
 */
export function renderTemplate(
  template: Template,
  lookup: (name: string) => unknown,
  format: (value: unknown, name: string) => string,
): string {
  let out = '';
  for (const part of template.parts) {
    out += part.kind === 'text' ? part.text : format(lookup(part.name), part.name);
  }
  return out;
}

/** Plain text form of an input value: strings as is, the rest as JSON. */
export function stringifyValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  return JSON.stringify(value) ?? '';
}
