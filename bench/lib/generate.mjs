// Capability files generated for the scale scenarios, in the shape of the
// published generated capabilities (capabilities/prefect-download.yaml):
// typed consumed parameters, `with` mappings from `rest.`/`tools.`, and a
// pass-through `$.` output.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Document, isScalar, visit } from 'yaml';

/**
 * One capability with `services` consumed namespaces of `operations` GET
 * operations each (one resource per operation), a REST adapter with one
 * route per operation and an MCP adapter with one tool per operation.
 */
export function buildScaleCapability({ services, operations, baseUri }) {
  const consumes = [];
  const routes = [];
  const tools = [];
  for (let s = 0; s < services; s++) {
    const ns = `svc-${String(s).padStart(3, '0')}`;
    const resources = [];
    for (let o = 0; o < operations; o++) {
      const op = `getitems${o}`;
      resources.push(consumedResource(ns, o, op));
      routes.push(exposedRoute(ns, o, op));
      tools.push(exposedTool(ns, o, op));
    }
    consumes.push({
      type: 'http',
      namespace: ns,
      baseUri,
      authentication: { type: 'bearer', token: '{{PREFECT_API_KEY}}' },
      description: `Generated service ${ns}.`,
      resources,
    });
  }
  return {
    naftiko: '1.0.0-alpha2',
    info: {
      label: `Bench scale ${services}x${operations}`,
      description: `Generated for the benchmark: ${services} services × ${operations} operations.`,
      tags: ['bench'],
    },
    binds: [{ namespace: 'env', keys: { PREFECT_API_KEY: 'PREFECT_API_KEY' } }],
    capability: {
      consumes,
      exposes: [
        {
          type: 'rest',
          namespace: 'scale-rest',
          port: 8080,
          description: 'Generated REST adapter.',
          resources: routes,
        },
        {
          type: 'mcp',
          namespace: 'scale-mcp',
          port: 9090,
          transport: 'http',
          description: 'Generated MCP adapter.',
          tools,
        },
      ],
    },
  };
}

function consumedResource(ns, o, op) {
  return {
    name: `api-${ns}-items-${o}`,
    path: `/api/${ns}/items-${o}/{item_id}`,
    operations: [
      {
        name: op,
        method: 'GET',
        outputRawFormat: 'json',
        outputParameters: [{ name: 'result', type: 'object', value: '$.' }],
        inputParameters: [
          { name: 'item_id', in: 'path', type: 'string', required: true },
          { name: 'limit', in: 'query', type: 'integer' },
        ],
      },
    ],
  };
}

function exposedRoute(ns, o, op) {
  return {
    path: `/v1/api/${ns}/items-${o}/{item-id}`,
    name: `api-${ns}-items-${o}`,
    operations: [
      {
        method: 'GET',
        name: op,
        call: `${ns}.${op}`,
        with: { item_id: 'rest.item_id', limit: 'rest.limit' },
        outputParameters: [{ type: 'object', mapping: '$.' }],
      },
    ],
  };
}

function exposedTool(ns, o, op) {
  return {
    name: `${ns}-get-items-${o}`,
    description: `Get items ${o} of ${ns}`,
    hints: { readOnly: true, destructive: false, idempotent: true },
    call: `${ns}.${op}`,
    with: { item_id: 'tools.item_id', limit: 'tools.limit' },
    outputParameters: [{ type: 'object', mapping: '$.' }],
  };
}

/**
 * Written compactly, the same data in fewer bytes: small maps of scalars
 * (parameters, `with`, hints) in flow style, sequences not indented under
 * their key. The runtime refuses capability files over 4 MiB
 * (CAP_SPEC_LIMIT): 2000 operations come to about 1.9 MiB this way, and
 * only tools keep a description.
 */
export function writeScaleCapability(file, options) {
  const doc = new Document(buildScaleCapability(options));
  visit(doc, {
    Map(_key, node) {
      if (node.items.every((pair) => isScalar(pair.value))) node.flow = true;
    },
  });
  writeFileSync(file, doc.toString({ lineWidth: 0, indentSeq: false }));
  return file;
}

/**
 * `count` copies of a real capability in `dir`, each renamed (label and
 * namespaces) so no two files are byte-identical.
 */
export function writeValidationSet(dir, count, templateFile) {
  mkdirSync(dir, { recursive: true });
  const template = readFileSync(templateFile, 'utf8');
  for (let i = 0; i < count; i++) {
    const tag = String(i).padStart(3, '0');
    const text = template
      .replaceAll('prefect-download', `prefect-download-${tag}`)
      .replace(/^( {2}label: .*)$/m, `$1 (copy ${tag})`);
    writeFileSync(join(dir, `capability-${tag}.yaml`), text);
  }
  return dir;
}
