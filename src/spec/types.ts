/**
 * Types of a capability document as our loader hands it to the adapters.
 * They follow the `1.0.0-alpha2` field names one to one; the loader has
 * validated the shape before anything is typed as one of these.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type ParameterLocation = 'query' | 'header' | 'path' | 'cookie' | 'body' | 'environment';
export type ScalarType = 'string' | 'number' | 'integer' | 'boolean' | 'array' | 'object';

export interface BindSpec {
  readonly namespace: string;
  readonly description?: string;
  readonly location?: string;
  /** Variable name (as used in `{{VAR}}`) to provider key. */
  readonly keys: Readonly<Record<string, string>>;
}

export type AuthenticationSpec =
  | { readonly type: 'bearer'; readonly token: string }
  | { readonly type: 'basic' | 'digest'; readonly username: string; readonly password: string }
  | {
      readonly type: 'apikey';
      readonly key: string;
      readonly value: string;
      readonly placement?: 'header' | 'query';
    }
  | { readonly type: 'oauth2'; readonly [key: string]: unknown };

export interface ConsumedParameterSpec {
  readonly name: string;
  readonly in: ParameterLocation;
  readonly value?: string;
  // The generated dialect writes these three on consumed parameters.
  readonly type?: ScalarType;
  readonly required?: boolean;
  readonly description?: string;
}

export type BodySpec =
  | string
  | { readonly type: string; readonly data?: unknown };

export interface OutputParameterSpec {
  readonly name?: string;
  readonly type?: ScalarType;
  readonly mapping?: string;
  readonly value?: unknown;
  readonly const?: unknown;
  readonly maxLength?: number;
  readonly description?: string;
  readonly properties?: Readonly<Record<string, OutputParameterSpec>>;
  readonly items?: OutputParameterSpec | readonly OutputParameterSpec[];
  readonly values?: OutputParameterSpec;
}

export interface ConsumedOperationSpec {
  readonly name: string;
  readonly method: HttpMethod;
  readonly label?: string;
  readonly description?: string;
  readonly inputParameters?: readonly ConsumedParameterSpec[];
  readonly outputRawFormat?: string;
  readonly outputSchema?: string;
  readonly outputParameters?: readonly OutputParameterSpec[];
  readonly body?: BodySpec;
}

export interface ConsumedResourceSpec {
  readonly name: string;
  readonly path: string;
  readonly label?: string;
  readonly description?: string;
  readonly inputParameters?: readonly ConsumedParameterSpec[];
  readonly operations: readonly ConsumedOperationSpec[];
}

export interface ConsumesSpec {
  readonly type: 'http';
  readonly namespace: string;
  readonly baseUri: string;
  readonly description?: string;
  readonly authentication?: AuthenticationSpec;
  readonly inputParameters?: readonly ConsumedParameterSpec[];
  readonly resources?: readonly ConsumedResourceSpec[];
}

export interface ImportedConsumesSpec {
  readonly location: string;
  readonly import: string;
  readonly as?: string;
  readonly description?: string;
}

export interface ExposedInputParameterSpec {
  readonly name: string;
  readonly in?: ParameterLocation;
  readonly type?: ScalarType;
  readonly description?: string;
  readonly required?: boolean;
  readonly pattern?: string;
  readonly value?: string;
}

export type WithSpec = Readonly<Record<string, string | number | boolean>>;

export interface StepSpec {
  readonly type: 'call' | 'lookup' | 'script';
  readonly name: string;
  readonly call?: string;
  readonly with?: WithSpec;
  readonly index?: string;
  readonly match?: string;
  readonly lookupValue?: string;
  readonly outputParameters?: readonly string[];
  readonly [key: string]: unknown;
}

export interface MappingSpec {
  readonly targetName: string;
  readonly value: string;
}

/** What an exposed operation or tool does: call, steps, ref or mock. */
export interface InvocableSpec {
  readonly name?: string;
  readonly label?: string;
  readonly description?: string;
  readonly inputParameters?: readonly ExposedInputParameterSpec[];
  readonly call?: string;
  readonly with?: WithSpec;
  readonly steps?: readonly StepSpec[];
  readonly mappings?: readonly MappingSpec[];
  readonly ref?: string;
  readonly outputParameters?: readonly OutputParameterSpec[];
}

export interface ExposedOperationSpec extends InvocableSpec {
  readonly method?: HttpMethod;
}

export interface ExposedResourceSpec {
  readonly path: string;
  readonly name?: string;
  readonly label?: string;
  readonly description?: string;
  readonly inputParameters?: readonly ExposedInputParameterSpec[];
  readonly operations?: readonly ExposedOperationSpec[];
  readonly forward?: { readonly targetNamespace: string; readonly trustedHeaders?: readonly string[] };
}

export interface RestExposeSpec {
  readonly type: 'rest';
  readonly namespace: string;
  readonly port: number;
  readonly address?: string;
  readonly description?: string;
  readonly authentication?: AuthenticationSpec;
  readonly inputParameters?: readonly ExposedInputParameterSpec[];
  readonly resources: readonly ExposedResourceSpec[];
}

export interface McpToolHintsSpec {
  readonly readOnly?: boolean;
  readonly destructive?: boolean;
  readonly idempotent?: boolean;
  readonly openWorld?: boolean;
}

export interface McpToolSpec extends InvocableSpec {
  readonly hints?: McpToolHintsSpec;
}

export interface McpExposeSpec {
  readonly type: 'mcp';
  readonly namespace: string;
  readonly transport?: 'http' | 'stdio';
  readonly port?: number;
  readonly address?: string;
  readonly description?: string;
  readonly authentication?: AuthenticationSpec;
  readonly tools: readonly McpToolSpec[];
  readonly resources?: readonly Readonly<Record<string, unknown>>[];
  readonly prompts?: readonly Readonly<Record<string, unknown>>[];
}

export interface OtherExposeSpec {
  readonly type: 'skill' | 'control';
  readonly namespace?: string;
  readonly port: number;
  readonly address?: string;
  readonly [key: string]: unknown;
}

export type ExposeSpec = RestExposeSpec | McpExposeSpec | OtherExposeSpec;

export interface AggregateFunctionSpec extends InvocableSpec {
  readonly name: string;
  readonly description: string;
  readonly semantics?: { readonly safe?: boolean; readonly idempotent?: boolean; readonly cacheable?: boolean };
}

export interface AggregateSpec {
  readonly namespace: string;
  readonly label?: string;
  readonly functions: readonly AggregateFunctionSpec[];
}

export interface CapabilityDocument {
  readonly naftiko: string;
  readonly info?: { readonly label: string; readonly description: string; readonly [key: string]: unknown };
  readonly binds?: readonly BindSpec[];
  readonly capability: {
    readonly consumes?: readonly (ConsumesSpec | ImportedConsumesSpec)[];
    readonly exposes?: readonly ExposeSpec[];
    readonly aggregates?: readonly AggregateSpec[];
    readonly binds?: readonly BindSpec[];
  };
}
