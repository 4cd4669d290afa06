/**
 * Template variables as the runtime finds them (src/binding/template.ts):
 * `{{name}}`, and in the generated dialect also single-brace `{name}` in a
 * consumed path. The spec stage cannot import binding/, so the two patterns
 * are repeated here; test/unit/spec/templates.test.ts keeps them in step.
 */
const DOUBLE = /\{\{\s*([A-Za-z0-9_.*-]+)\s*\}\}/g;
const DOUBLE_OR_SINGLE = /\{\{\s*([A-Za-z0-9_.*-]+)\s*\}\}|\{([A-Za-z0-9_.*-]+)\}/g;

/** Variable names of a template, in order of first use. */
export function templateVariables(text: string, singleBraces = false): string[] {
  const names: string[] = [];
  for (const match of text.matchAll(new RegExp(singleBraces ? DOUBLE_OR_SINGLE : DOUBLE))) {
    const name = (match[1] ?? match[2])!;
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

/** Every string inside a JSON-like value, found without recursion. */
export function collectStrings(value: unknown): string[] {
  const out: string[] = [];
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node === 'string') out.push(node);
    else if (typeof node === 'object' && node !== null) for (const child of Object.values(node)) stack.push(child);
  }
  return out;
}
