import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { zipSync } from 'fflate';
import { CapabilityError } from '../errors/capability-error.js';
import { locationPath } from '../mcp/resources.js';
import { frameworkErrorAsProblem, sendProblem, toProblem } from '../rest/problem.js';
import type { ExposeSpec } from '../spec/types.js';

interface SkillToolSpec {
  readonly name: string;
  readonly description?: string;
  readonly from?: { readonly sourceNamespace: string; readonly action: string };
  readonly instruction?: string;
}

interface SkillSpec {
  readonly name: string;
  readonly description: string;
  readonly license?: string;
  readonly compatibility?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly 'allowed-tools'?: string;
  readonly 'argument-hint'?: string;
  readonly 'user-invocable'?: boolean;
  readonly 'disable-model-invocation'?: boolean;
  readonly location?: string;
  readonly tools?: readonly SkillToolSpec[];
}

export interface SkillAdapterOptions {
  readonly file: string;
  readonly expose: ExposeSpec & { readonly skills?: readonly SkillSpec[] };
  readonly exposeIndex: number;
  /** Every exposed adapter of the capability, to resolve `from.sourceNamespace`. */
  readonly exposes: readonly ExposeSpec[];
}

/**
 * The skill adapter (spec 1.8): a read-only catalogue over HTTP that tells
 * agents which tools of the capability's REST and MCP adapters belong
 * together, plus the files of a skill's `location`. It runs nothing itself.
 */
export function createSkillAdapter(options: SkillAdapterOptions): { app: FastifyInstance; skills: readonly string[] } {
  const skills = validateSkills(options);
  const app = Fastify({ logger: false, forceCloseConnections: 'idle', frameworkErrors: frameworkErrorAsProblem });

  app.get('/skills', async () => ({ count: skills.size, skills: [...skills.values()].map(summary) }));
  app.get<{ Params: { name: string } }>('/skills/:name', async (req, reply) =>
    withSkill(skills, req.params.name, reply, (s) => details(s, options.exposes)));
  app.get<{ Params: { name: string } }>('/skills/:name/contents', async (req, reply) =>
    withSkill(skills, req.params.name, reply, async (s) => ({ name: s.spec.name, files: await listFiles(requireDir(s)) })));
  app.get<{ Params: { name: string; '*': string } }>('/skills/:name/contents/*', async (req, reply) =>
    withSkill(skills, req.params.name, reply, async (s) => {
      const content = await readSafe(requireDir(s), req.params['*']);
      return reply.header('content-type', 'application/octet-stream').send(content);
    }));
  app.get<{ Params: { name: string } }>('/skills/:name/download', async (req, reply) =>
    withSkill(skills, req.params.name, reply, async (s) => {
      const dir = requireDir(s);
      const entries: Record<string, Uint8Array> = {};
      for (const f of await listFiles(dir)) entries[f.path] = await readFile(join(dir, f.path));
      return reply
        .header('content-type', 'application/zip')
        .header('content-disposition', `attachment; filename="${s.spec.name}.zip"`)
        .send(Buffer.from(zipSync(entries)));
    }));
  app.setNotFoundHandler((req, reply) => sendProblem(reply, toProblem(new CapabilityError('CAP_ROUTE_NOT_FOUND', `no route for ${req.method} ${req.url.split('?')[0]}`))));
  return { app, skills: [...skills.keys()] };
}

interface BoundSkill {
  readonly spec: SkillSpec;
  readonly directory?: string;
}

function validateSkills(options: SkillAdapterOptions): Map<string, BoundSkill> {
  const { file, exposeIndex } = options;
  const sources = new Map(options.exposes.filter((e) => e.type === 'rest' || e.type === 'mcp').map((e) => [e.namespace, e.type]));
  const out = new Map<string, BoundSkill>();
  (options.expose.skills ?? []).forEach((skill, s) => {
    const pointer = `/capability/exposes/${exposeIndex}/skills/${s}`;
    (skill.tools ?? []).forEach((tool, t) => {
      const at = `${pointer}/tools/${t}`;
      const fail = (message: string) => new CapabilityError('CAP_SPEC_REF', `${file}: skill "${skill.name}" tool "${tool.name}" ${message}`, { location: { file, pointer: at } });
      if ((tool.from === undefined) === (tool.instruction === undefined)) throw fail('needs exactly one of `from` and `instruction`');
      if (tool.from !== undefined && !sources.has(tool.from.sourceNamespace)) {
        throw fail(`names source namespace "${tool.from.sourceNamespace}", which is not a REST or MCP adapter of this capability`);
      }
      if (tool.instruction !== undefined && skill.location === undefined) throw fail('is an instruction, which needs the skill to declare a `location`');
    });
    out.set(skill.name, { spec: skill, directory: skill.location === undefined ? undefined : locationPath(file, skill.location, `${pointer}/location`) });
  });
  return out;
}

function summary(s: BoundSkill): Record<string, unknown> {
  return {
    name: s.spec.name,
    description: s.spec.description,
    ...(s.spec.license === undefined ? {} : { license: s.spec.license }),
    tools: (s.spec.tools ?? []).map((t) => t.name),
  };
}

function details(s: BoundSkill, exposes: readonly ExposeSpec[]): Record<string, unknown> {
  const { tools, location: _location, ...rest } = s.spec;
  return {
    ...rest,
    tools: (tools ?? []).map((t) =>
      t.from === undefined
        ? { name: t.name, description: t.description, type: 'instruction', instruction: t.instruction }
        : {
            name: t.name,
            description: t.description,
            type: 'derived',
            invocationRef: {
              targetNamespace: t.from.sourceNamespace,
              action: t.from.action,
              mode: exposes.find((e) => e.type !== 'skill' && e.type !== 'control' && e.namespace === t.from!.sourceNamespace)?.type,
            },
          },
    ),
  };
}

async function withSkill(
  skills: ReadonlyMap<string, BoundSkill>,
  name: string,
  reply: FastifyReply,
  then: (s: BoundSkill) => unknown,
): Promise<unknown> {
  const skill = skills.get(name);
  try {
    if (skill === undefined) throw new CapabilityError('CAP_ROUTE_NOT_FOUND', `no skill named "${name}"; known: ${[...skills.keys()].join(', ')}`);
    return await then(skill);
  } catch (err) {
    return sendProblem(reply, toProblem(err));
  }
}

function requireDir(s: BoundSkill): string {
  if (s.directory === undefined) throw new CapabilityError('CAP_ROUTE_NOT_FOUND', `skill "${s.spec.name}" declares no location`);
  return s.directory;
}

async function listFiles(dir: string): Promise<{ path: string; size: number; type: string }[]> {
  let entries;
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch {
    throw new CapabilityError('CAP_ROUTE_NOT_FOUND', `skill location ${dir} cannot be read`);
  }
  const files = entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  const out = [];
  for (const f of files.sort()) out.push({ path: relative(dir, f).split(sep).join('/'), size: (await stat(f)).size, type: 'file' });
  return out;
}

/** Reads a file under `dir` only: plain segments, and the real path must stay inside. */
async function readSafe(dir: string, path: string): Promise<Buffer> {
  const segments = path.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..' || s.includes('\\'))) {
    throw new CapabilityError('CAP_INPUT_INVALID', `file path "${path}" is not a plain relative path`, { data: { parameter: 'path', received: path } });
  }
  try {
    const root = await realpath(dir);
    const target = await realpath(resolve(root, ...segments));
    if (!target.startsWith(root + sep) || !(await stat(target)).isFile()) throw new Error('outside');
    return await readFile(target);
  } catch {
    throw new CapabilityError('CAP_ROUTE_NOT_FOUND', `no file "${path}" in this skill`);
  }
}
