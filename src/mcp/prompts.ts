import { readFile } from 'node:fs/promises';
import { ProtocolError } from '@modelcontextprotocol/server';
import type { McpExposeSpec } from '../spec/types.js';
import { locationPath } from './resources.js';

interface PromptArgument {
  readonly name: string;
  readonly label?: string;
  readonly description?: string;
  readonly required?: boolean;
}

interface PromptSpec {
  readonly name: string;
  readonly label?: string;
  readonly description?: string;
  readonly arguments?: readonly PromptArgument[];
  readonly template?: readonly { readonly role: 'user' | 'assistant'; readonly content: string }[];
  readonly location?: string;
}

export interface PromptCatalog {
  readonly isEmpty: boolean;
  list(): { prompts: Record<string, unknown>[] };
  get(name: string, args: Record<string, string>): Promise<{ description?: string; messages: Record<string, unknown>[] }>;
}

/** Binds the `prompts` of an MCP adapter (spec McpPrompt): templates or a file. */
export function bindPrompts(file: string, expose: McpExposeSpec, exposeIndex: number): PromptCatalog {
  const prompts = new Map<string, PromptSpec & { path?: string }>();
  (expose.prompts ?? []).forEach((raw, p) => {
    const spec = raw as unknown as PromptSpec;
    const pointer = `/capability/exposes/${exposeIndex}/prompts/${p}`;
    prompts.set(spec.name, spec.location === undefined ? spec : { ...spec, path: locationPath(file, spec.location, pointer) });
  });

  const list = () => ({
    prompts: [...prompts.values()].map((p) => ({
      name: p.name,
      ...(p.label === undefined ? {} : { title: p.label }),
      ...(p.description === undefined ? {} : { description: p.description }),
      ...(p.arguments === undefined ? {} : { arguments: p.arguments.map(describeArgument) }),
    })),
  });

  const get = async (name: string, args: Record<string, string>) => {
    const prompt = prompts.get(name);
    if (prompt === undefined) throw new ProtocolError(-32602, `Unknown prompt: ${name}; available: ${[...prompts.keys()].join(', ')}`);
    const missing = (prompt.arguments ?? []).filter((a) => (a.required ?? true) && args[a.name] === undefined).map((a) => a.name);
    if (missing.length > 0) throw new ProtocolError(-32602, `Prompt "${name}" is missing required argument(s): ${missing.join(', ')}`);

    const messages = prompt.path === undefined
      ? (prompt.template ?? []).map((m) => message(m.role, substitute(m.content, args, prompt.arguments)))
      : [message('user', substitute(await readFile(prompt.path, 'utf8'), args, prompt.arguments))];
    return { ...(prompt.description === undefined ? {} : { description: prompt.description }), messages };
  };
  return { isEmpty: prompts.size === 0, list, get };
}

function describeArgument(a: PromptArgument): Record<string, unknown> {
  return {
    name: a.name,
    ...(a.label === undefined ? {} : { title: a.label }),
    ...(a.description === undefined ? {} : { description: a.description }),
    // Spec McpPromptArgument: `required` defaults to true.
    required: a.required ?? true,
  };
}

function message(role: 'user' | 'assistant', text: string): Record<string, unknown> {
  return { role, content: { type: 'text', text } };
}

/**
 * `{{name}}` placeholders of declared arguments take the argument's text
 * (an optional one left out renders as empty text); other placeholders
 * stay as written. Values are inserted once, never re-interpreted, so an
 * argument containing `{{x}}` stays literal.
 */
function substitute(template: string, args: Record<string, string>, declared: readonly PromptArgument[] = []): string {
  const names = new Set(declared.map((a) => a.name));
  return template.replace(/\{\{\s*([A-Za-z0-9_-]+)\s*\}\}/g, (whole, name: string) =>
    args[name] ?? (names.has(name) ? '' : whole),
  );
}
