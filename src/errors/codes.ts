/**
 * The table of every error code the runtime can raise. Codes are a public
 * contract: callers match on `code`, never on message text, so a released
 * code is never renamed or reused. `docs/errors.md` carries one row per code
 * (cause and fix) and `test/unit/errors/codes.test.ts` keeps the two in step.
 */
export interface ErrorCodeEntry {
  /** HTTP status used when this error reaches a REST caller. */
  readonly status: number;
  /** Short human title, used as `title` in problem+json bodies. */
  readonly title: string;
}

export const ERROR_CODES = {
  // Loading and validating a capability file.
  CAP_SPEC_READ: { status: 500, title: 'Capability file cannot be read' },
  CAP_SPEC_YAML: { status: 500, title: 'Capability file is not valid YAML' },
  CAP_SPEC_INVALID: { status: 500, title: 'Capability file violates the schema' },
  CAP_SPEC_VERSION: { status: 500, title: 'Unsupported spec version' },
  CAP_SPEC_DIALECT: { status: 500, title: 'Generated-dialect construct' },
  CAP_SPEC_REF: { status: 500, title: 'Reference to something that does not exist' },
  CAP_SPEC_UNSUPPORTED: { status: 500, title: 'Feature not supported by this runtime' },

  // Configuration given on the command line or in the environment.
  CAP_CONFIG_BASE_URI: { status: 500, title: 'No base URI for a consumed namespace' },
  CAP_CONFIG_BIND: { status: 500, title: 'Bound variable is missing' },
  CAP_CONFIG_USAGE: { status: 500, title: 'Bad command-line usage' },
  CAP_CONFIG_PORT: { status: 500, title: 'Adapter port cannot be used' },

  // Routing on an exposed adapter.
  CAP_ROUTE_NOT_FOUND: { status: 404, title: 'No such route' },
  CAP_ROUTE_METHOD: { status: 405, title: 'Method not allowed on this route' },

  // A caller of an adapter that declares inbound authentication.
  CAP_AUTH_REQUIRED: { status: 401, title: 'Missing or wrong credentials' },
  CAP_HOST_NOT_ALLOWED: { status: 403, title: 'Host or Origin not allowed' },

  // Caller input, checked before any upstream call.
  CAP_INPUT_INVALID: { status: 400, title: 'Invalid input parameter' },
  CAP_INPUT_MISSING: { status: 400, title: 'Missing required input parameter' },

  // The upstream call.
  CAP_UPSTREAM_UNREACHABLE: { status: 502, title: 'Upstream unreachable' },
  CAP_UPSTREAM_TIMEOUT: { status: 504, title: 'Upstream timed out' },
  CAP_UPSTREAM_AUTH: { status: 502, title: 'Upstream refused the runtime credentials' },
  CAP_UPSTREAM_BODY: { status: 502, title: 'Upstream body cannot be mapped' },
  CAP_UPSTREAM_TOO_LARGE: { status: 502, title: 'Upstream body exceeds the buffer cap' },
  CAP_UPSTREAM_INCOMPLETE: { status: 502, title: 'Upstream body ended early' },
  CAP_UPSTREAM_REDIRECT: { status: 502, title: 'Upstream redirect not followed' },

  // An MCP tool result over the result cap that cannot be cut into a valid prefix.
  CAP_RESULT_TOO_LARGE: { status: 502, title: 'Tool result exceeds the result cap' },

  // Our own bug: never used for anything a caller or upstream did.
  CAP_INTERNAL: { status: 500, title: 'Internal error' },

  // Loading a capability file: safety limits and the semantic stage (checks
  // the schema cannot express), run by `validate` and before `serve`.
  CAP_SPEC_LIMIT: { status: 500, title: 'Capability file exceeds a safety limit' },
  CAP_SPEC_CALL: { status: 500, title: 'Call names no consumed operation' },
  CAP_SPEC_WITH: { status: 500, title: 'With key is not a parameter of the called operation' },
  CAP_SPEC_PATH_PARAM: { status: 500, title: 'Consumed path parameter is never provided' },
  CAP_SPEC_INPUT: { status: 500, title: 'Reference to an input the adapter cannot receive' },
  CAP_SPEC_TEMPLATE: { status: 500, title: 'Template variable names nothing in scope' },
  CAP_SPEC_DUPLICATE: { status: 500, title: 'Name declared twice' },
  CAP_SPEC_PORT: { status: 500, title: 'Two adapters claim one port' },
  CAP_SPEC_IMPORT: { status: 500, title: 'Imported consumes file cannot be used' },
  CAP_SPEC_CONSUMES_ONLY: { status: 500, title: 'Consumes-only document cannot be served' },
} as const satisfies Record<string, ErrorCodeEntry>;

export type ErrorCode = keyof typeof ERROR_CODES;
