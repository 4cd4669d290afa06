import type { SemanticFinding, ConsumedSource } from './semantics.js';
import type { CapabilityDocument, InvocableSpec, OutputParameterSpec, StepSpec } from './types.js';

/**
 * What the spec allows and this runtime refuses rather than ignores, found
 * at validation time so that `validate` and `serve` agree on a file (the
 * binding refuses the same constructs again at start-up). docs/conformance.md
 * gives the reasons.
 */
export function checkSupport(input: {
  readonly file: string;
  readonly document: CapabilityDocument;
  readonly consumes: readonly ConsumedSource[];
}): SemanticFinding[] {
  const { file, document } = input;
  const findings: SemanticFinding[] = [];
  const refuse = (pointer: string, message: string, at = file) =>
    findings.push({ severity: 'error', code: 'CAP_SPEC_UNSUPPORTED', message, file: at, pointer });

  for (const [pointer, spec] of invocables(document)) {
    (spec.steps ?? []).forEach((step: StepSpec, s) => {
      if (step.type === 'script') {
        refuse(`${pointer}/steps/${s}/type`, `script step "${step.name}" cannot run: running capability-supplied code needs a sandbox this runtime does not have`);
      }
    });
    const format = mappedBinaryFormat(spec, input.consumes);
    if (format !== undefined) {
      refuse(`${pointer}/outputParameters`, `"${spec.call}" returns ${format}, which this runtime cannot decode for mapping (it needs a schema file and a binary decoder); pass the body through instead (one output with mapping "$" and no properties)`);
    }
  }
  (document.capability.exposes ?? []).forEach((expose, e) => {
    const type = (expose as { authentication?: { type?: string } }).authentication?.type;
    if (type !== undefined && !['bearer', 'basic', 'apikey'].includes(type)) {
      refuse(`/capability/exposes/${e}/authentication/type`, `inbound ${type} authentication is not supported; use bearer, basic or apikey`);
    }
    if (expose.type === 'mcp') {
      (expose.resources ?? []).forEach((resource, r) => {
        if (resource.steps !== undefined) refuse(`/capability/exposes/${e}/resources/${r}/steps`, `MCP resource "${String(resource.name)}" uses steps, which resources do not run here; use a call`);
      });
    }
  });
  for (const source of input.consumes) {
    if (source.spec.authentication?.type === 'oauth2') {
      refuse(`${source.pointer}/authentication/type`, `outbound oauth2 authentication of "${source.namespace}" has nothing to send: in 1.0.0-alpha2 oauth2 describes how callers reach an exposed adapter; use bearer with a bound token`, source.file);
    }
  }
  return findings;
}

/** Every place that runs something: operations, tools, resources and functions. */
function* invocables(document: CapabilityDocument): Generator<[string, InvocableSpec]> {
  for (const [e, expose] of (document.capability.exposes ?? []).entries()) {
    const base = `/capability/exposes/${e}`;
    if (expose.type === 'rest') {
      for (const [r, resource] of expose.resources.entries()) {
        for (const [o, op] of (resource.operations ?? []).entries()) yield [`${base}/resources/${r}/operations/${o}`, op];
      }
    } else if (expose.type === 'mcp') {
      for (const [t, tool] of expose.tools.entries()) yield [`${base}/tools/${t}`, tool];
      for (const [r, resource] of (expose.resources ?? []).entries()) yield [`${base}/resources/${r}`, resource as InvocableSpec];
    }
  }
  for (const [a, aggregate] of (document.capability.aggregates ?? []).entries()) {
    for (const [f, fn] of aggregate.functions.entries()) yield [`/capability/aggregates/${a}/functions/${f}`, fn];
  }
}

/** avro or protobuf behind a call whose outputs map fields (a pass-through is fine). */
function mappedBinaryFormat(spec: InvocableSpec, consumes: readonly ConsumedSource[]): string | undefined {
  const outputs = spec.outputParameters ?? [];
  if (spec.call === undefined || outputs.length === 0 || (outputs.length === 1 && isPassThrough(outputs[0]!))) return undefined;
  const [ns, name] = spec.call.split('.');
  const source = consumes.find((c) => c.namespace === ns);
  const operation = (source?.spec.resources ?? []).flatMap((r) => r.operations).find((o) => o.name === name);
  const format = operation?.outputRawFormat?.toLowerCase();
  return format === 'avro' || format === 'protobuf' ? format : undefined;
}

function isPassThrough(p: OutputParameterSpec): boolean {
  const path = p.mapping?.trim();
  return p.properties === undefined && p.items === undefined && p.value === undefined && (path === '$' || path === '$.');
}
