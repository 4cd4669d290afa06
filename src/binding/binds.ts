import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { CapabilityError } from '../errors/capability-error.js';
import type { BindSpec } from '../spec/types.js';

/**
 * Resolved bind values: each variable is reachable as `VAR` and as
 * `namespace.VAR`. Values are secrets: never log them or echo them back.
 */
export type BoundVariables = ReadonlyMap<string, string>;

/**
 * Resolves every bind at start-up (spec 1.3). Without `location` each key is
 * read from the environment; with a `file:` location from a YAML or JSON
 * file, relative to the capability file (the reference engine uses the
 * working directory, which breaks as soon as the runtime starts elsewhere).
 * A missing variable stops start-up naming it.
 */
export async function resolveBinds(
  binds: readonly BindSpec[],
  capabilityFile: string,
  env: NodeJS.ProcessEnv,
): Promise<BoundVariables> {
  const out = new Map<string, string>();
  for (const bind of binds) {
    const source = bind.location === undefined
      ? envSource(env)
      : await fileSource(bind, capabilityFile);
    for (const [variable, key] of Object.entries(bind.keys)) {
      const value = source(key);
      if (value === undefined) throw missing(bind, variable, key, capabilityFile);
      out.set(variable, value);
      out.set(`${bind.namespace}.${variable}`, value);
    }
  }
  return out;
}

type KeySource = (key: string) => string | undefined;

function envSource(env: NodeJS.ProcessEnv): KeySource {
  return (key) => env[key];
}

async function fileSource(bind: BindSpec, capabilityFile: string): Promise<KeySource> {
  const path = bindFilePath(bind.location!, capabilityFile);
  if (path === undefined) {
    throw new CapabilityError(
      'CAP_SPEC_UNSUPPORTED',
      `${capabilityFile}: bind "${bind.namespace}" uses location ${bind.location}; ` +
        'only file: locations are supported',
      { data: { bind: bind.namespace } },
    );
  }
  let data: unknown;
  try {
    data = parseYaml(await readFile(path, 'utf8'));
  } catch (cause) {
    throw new CapabilityError(
      'CAP_CONFIG_BIND',
      `${capabilityFile}: bind "${bind.namespace}" cannot read ${path}: ${(cause as Error).message}`,
      { cause, data: { bind: bind.namespace } },
    );
  }
  const map = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  return (key) => (map[key] === undefined || map[key] === null ? undefined : String(map[key]));
}

/** `file:///./x`, `file://./x` and `file:///abs/x` to a filesystem path. */
function bindFilePath(location: string, capabilityFile: string): string | undefined {
  if (!location.startsWith('file:')) return undefined;
  const base = dirname(capabilityFile);
  const relative = location.replace(/^file:(\/\/\/?)?(?=\.)/, '');
  if (relative !== location) return resolve(base, relative);
  const path = location.startsWith('file://') ? fileURLToPath(location) : location.slice(5);
  return isAbsolute(path) ? path : resolve(base, path);
}

function missing(bind: BindSpec, variable: string, key: string, file: string): CapabilityError {
  const where = bind.location === undefined
    ? `environment variable ${key} is not set`
    : `key "${key}" is not in ${bind.location}`;
  return new CapabilityError(
    'CAP_CONFIG_BIND',
    `${file}: bind "${bind.namespace}" needs ${variable}: ${where}`,
    { data: { bind: bind.namespace, variable, key } },
  );
}
