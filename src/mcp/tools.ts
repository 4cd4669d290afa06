import { Ajv, type ValidateFunction } from 'ajv';
import { dialectInputFields, type BoundInvocation, type CapabilityBinding } from '../binding/capability-binding.js';
import { inputSchemaOf, type InputField } from '../binding/inputs.js';
import { CapabilityError } from '../errors/capability-error.js';
import type { McpExposeSpec, McpToolSpec } from '../spec/types.js';
import { planOutput, type OutputPlan } from './output-schema.js';

/** A tool as `tools/list` advertises it, built once at start-up. */
export interface ToolDefinition {
  readonly name: string;
  readonly title?: string;
  readonly description?: string;
  readonly inputSchema: Record<string, unknown>;
  readonly outputSchema?: Record<string, unknown>;
  readonly annotations?: Record<string, unknown>;
}

/** A tool with its compiled argument validator and bound upstream call. */
export interface BoundTool {
  readonly definition: ToolDefinition;
  readonly output: OutputPlan;
  readonly fields: readonly InputField[];
  readonly validate: ValidateFunction;
  readonly call: BoundInvocation;
}

/** Builds every tool of one MCP adapter; a duplicated name stops start-up. */
export function bindTools(binding: CapabilityBinding, expose: McpExposeSpec, exposeIndex: number): Map<string, BoundTool> {
  const dialect = !binding.capability.strict;
  const prefixes = dialect ? [`${expose.namespace}.`, 'tools.'] : [`${expose.namespace}.`];
  const ajv = new Ajv({ allErrors: true, strict: false });
  const tools = new Map<string, BoundTool>();

  expose.tools.forEach((tool, t) => {
    const pointer = `/capability/exposes/${exposeIndex}/tools/${t}`;
    const call = binding.bindInvocable(tool, prefixes, pointer);
    const name = call.effective.name ?? `tool-${t}`;
    if (tools.has(name)) {
      throw new CapabilityError('CAP_SPEC_REF', `${binding.capability.file}: tool name "${name}" is used twice`, {
        location: { file: binding.capability.file, pointer: `${pointer}/name` },
      });
    }
    // A `ref` tool takes its description, inputs and hints from the function.
    const effective: McpToolSpec = { ...call.effective, hints: call.hints };
    const fields = effective.inputParameters !== undefined || !dialect
      ? declaredFields(effective)
      : dialectInputFields(call).map((f) => ({ ...f, in: undefined }));
    const output = planOutput(effective.outputParameters);
    const definition = defineTool(name, effective, fields, output);
    tools.set(name, { definition, output, fields, validate: ajv.compile(definition.inputSchema), call });
  });
  return tools;
}

function declaredFields(tool: McpToolSpec): InputField[] {
  return (tool.inputParameters ?? []).map((p) => ({
    name: p.name,
    type: p.type ?? 'string',
    // Spec McpToolInputParameter: `required` defaults to true.
    required: p.required ?? true,
    description: p.description,
  }));
}

function defineTool(name: string, tool: McpToolSpec, fields: readonly InputField[], output: OutputPlan): ToolDefinition {
  const annotations = toolAnnotations(tool);
  return {
    name,
    ...(tool.label === undefined ? {} : { title: tool.label }),
    ...(tool.description === undefined ? {} : { description: tool.description }),
    inputSchema: inputSchemaOf(fields),
    ...(output.kind === 'passthrough' ? {} : { outputSchema: output.schema }),
    ...(annotations === undefined ? {} : { annotations }),
  };
}

/** Spec McpToolHints to MCP ToolAnnotations; absent hints stay absent. */
function toolAnnotations(tool: McpToolSpec): Record<string, unknown> | undefined {
  const hints = tool.hints ?? {};
  const out: Record<string, unknown> = {};
  if (tool.label !== undefined) out.title = tool.label;
  if (hints.readOnly !== undefined) out.readOnlyHint = hints.readOnly;
  if (hints.destructive !== undefined) out.destructiveHint = hints.destructive;
  if (hints.idempotent !== undefined) out.idempotentHint = hints.idempotent;
  if (hints.openWorld !== undefined) out.openWorldHint = hints.openWorld;
  return Object.keys(out).length === 0 ? undefined : out;
}

/**
 * One message per bad argument, naming it, the expected type and the
 * value received (the SDK's own message omits the value).
 */
export function describeArgumentErrors(tool: BoundTool, args: Record<string, unknown>): string {
  const errors = tool.validate.errors ?? [];
  const missing = errors.some((e) => e.keyword === 'required');
  const messages = errors.map((e) => {
    if (e.keyword === 'required') {
      const name = (e.params as { missingProperty: string }).missingProperty;
      const field = tool.fields.find((f) => f.name === name);
      return `argument "${name}" is required (expected ${field?.type ?? 'a value'}); received nothing`;
    }
    const name = e.instancePath.split('/')[1] ?? '';
    const field = tool.fields.find((f) => f.name === name);
    const expected = field?.type ?? (e.params as { type?: string }).type ?? 'a valid value';
    const detail = e.keyword === 'type' && e.message?.startsWith('must be ') && !e.message.includes('within') ? '' : ` (${e.message ?? 'invalid'})`;
    return `argument "${name}" must be ${expected}${detail}; received ${JSON.stringify(args[name]) ?? String(args[name])}`;
  });
  const code = missing ? 'CAP_INPUT_MISSING' : 'CAP_INPUT_INVALID';
  return `${code}: ${[...new Set(messages)].join('; ')}`;
}
