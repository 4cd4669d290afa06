import { readFile } from 'node:fs/promises';
import {
  Composer,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  Parser,
  type CST,
  type Document,
  type Node,
  type Pair,
} from 'yaml';
import { CapabilityError } from '../errors/capability-error.js';
import type { ErrorCode } from '../errors/codes.js';
import { diagnosticsError, type Diagnostic } from './diagnostic.js';

/**
 * Files above this size are refused before parsing (bytes). Real
 * capabilities are tens of kilobytes (the generated Prefect one is 12 KiB),
 * but a generated file covering a whole large API in the published style
 * reaches a few megabytes (2,000 operations: 3.3 MiB). The yaml parser reads
 * dense YAML at about 1 MiB/s on a busy machine, so 4 MiB bounds the worst
 * case to a few seconds.
 */
export const MAX_SOURCE_BYTES = 4 * 1024 * 1024;

/**
 * Deepest nesting of collections accepted. The yaml composer, `toJS`, ajv
 * and our own walks all recurse once per level, and the composer overflows
 * the default stack at a few hundred levels; real capabilities stay under 20.
 */
export const MAX_NESTING_DEPTH = 64;

/**
 * Bound on alias expansion, as yaml's `maxAliasCount` measures it, so a
 * "billion laughs" document fails fast instead of exhausting memory.
 */
export const MAX_ALIAS_COUNT = 100;

/** A parsed capability file that can map JSON pointers back to lines. */
export interface SourceDocument {
  readonly file: string;
  readonly value: unknown;
  /**
   * 1-based line and column of the node at `pointer`, or of its nearest
   * parent; with `key`, of the mapping key that names it.
   */
  locate(pointer: string, key?: boolean): { line: number; column: number };
}

/** Reads and parses a capability file, keeping source positions. */
export async function readSource(file: string): Promise<SourceDocument> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new CapabilityError('CAP_SPEC_READ', `${file}: cannot read the file (${reason})`, {
      location: { file },
      cause,
    });
  }
  return parseSource(file, bytes);
}

/**
 * Parses YAML text (or bytes) into a {@link SourceDocument}. Every problem
 * is a CapabilityError whose `data.diagnostics` locates it; nothing here
 * recurses deeper than {@link MAX_NESTING_DEPTH} or does more than linear
 * work in the size of the file.
 */
export function parseSource(file: string, input: string | Buffer): SourceDocument {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.length;
  if (size > MAX_SOURCE_BYTES) {
    const mib = (size / 1024 / 1024).toFixed(1);
    const limit = MAX_SOURCE_BYTES / 1024 / 1024;
    throw problem(file, 'CAP_SPEC_LIMIT', 1, 1, `the file is ${mib} MiB; the limit is ${limit} MiB`);
  }
  const text = typeof input === 'string' ? input : decodeUtf8(file, input);
  const lineCounter = new LineCounter();
  const at = (offset: number) => lineCounter.linePos(offset);

  // Lexer and parser are iterative; the composer recurses per level, so the
  // concrete syntax tree is measured before anything composes it.
  const tokens = Array.from(new Parser(lineCounter.addNewLine).parse(text));
  const tooDeep = findTooDeep(tokens, MAX_NESTING_DEPTH);
  if (tooDeep !== undefined) {
    const { line, col } = at(tooDeep);
    const message = `collections are nested more than ${MAX_NESTING_DEPTH} levels deep`;
    throw problem(file, 'CAP_SPEC_LIMIT', line, col, message);
  }

  const doc = composeOne(file, tokens, text.length, at);
  const value = toValue(file, doc, at);
  const keys = new WeakMap<object, Map<string, Pair>>();
  const locate = (pointer: string, key = false) => {
    const node = findNode(doc.contents as Node | null, pointer, key, keys);
    const { line, col } = at(node?.range?.[0] ?? 0);
    return { line, column: col };
  };
  return { file, value, locate };
}

type Position = (offset: number) => { line: number; col: number };

function composeOne(file: string, tokens: CST.Token[], end: number, at: Position): Document.Parsed {
  // uniqueKeys is off: yaml compares every pair of keys of a map, which is
  // quadratic; findDuplicateKeys does the same check in linear time.
  const composer = new Composer({ uniqueKeys: false, prettyErrors: false });
  const docs = Array.from(composer.compose(tokens, true, end));
  const doc = docs[0]!;
  if (docs.length > 1) {
    const { line, col } = at(docs[1]!.range[0]);
    const message = 'a second YAML document starts here; a capability file holds exactly one';
    throw problem(file, 'CAP_SPEC_YAML', line, col, message);
  }

  const first = doc.errors[0];
  if (first !== undefined) {
    const { line, col } = at(first.pos[0]);
    throw problem(file, 'CAP_SPEC_YAML', line, col, describeYamlError(first.message));
  }
  const duplicates = findDuplicateKeys(doc.contents as Node | null);
  if (duplicates.length > 0) {
    throw diagnosticsError(file, duplicates.map(({ key, offset }) => {
      const { line, col } = at(offset);
      const message = `the key \`${shorten(key)}\` appears twice in one mapping; keep one`;
      return diagnostic(file, 'CAP_SPEC_YAML', line, col, message);
    }));
  }
  return doc;
}

/** The document as plain data; limit errors point at its first node. */
function toValue(file: string, doc: Document.Parsed, at: Position): unknown {
  const { line, col } = at((doc.contents as Node | null)?.range?.[0] ?? 0);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (cause) {
    const reason = (cause as Error).message;
    const why = /alias/i.test(reason) ? `aliases expand more than ${MAX_ALIAS_COUNT} times` : reason;
    throw problem(file, 'CAP_SPEC_LIMIT', line, col, why);
  }
  // An alias can nest its target inside itself one level at a time, so the
  // value may be deeper than the syntax tree that was measured.
  if (exceedsDepth(value, MAX_NESTING_DEPTH)) {
    const message = `once aliases are expanded, collections are nested more than ${MAX_NESTING_DEPTH} levels deep`;
    throw problem(file, 'CAP_SPEC_LIMIT', line, col, message);
  }
  return value;
}

/** yaml's message, first line only, with our advice where it helps. */
function describeYamlError(message: string): string {
  const first = message.split('\n')[0] ?? message;
  if (!/\btabs?\b/i.test(first)) return first;
  // yaml's tab messages mostly say already that tabs are not allowed; add
  // only the fix then, so the reason is not stated twice.
  if (/not allowed|cannot/i.test(first)) return `${first}; indent with spaces`;
  return `${first}; YAML does not allow tabs there, use spaces`;
}

// ---------------------------------------------------------------------------
// Encoding.

function decodeUtf8(file: string, bytes: Buffer): string {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw problem(file, 'CAP_SPEC_YAML', 1, 1, 'the file is UTF-16 encoded; save it as UTF-8');
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const offset = firstInvalidUtf8(bytes);
    const before = new TextDecoder('utf-8').decode(bytes.subarray(0, offset));
    const line = before.split('\n').length;
    const column = [...before.slice(before.lastIndexOf('\n') + 1)].length + 1;
    const hex = bytes[offset]!.toString(16).toUpperCase().padStart(2, '0');
    throw problem(file, 'CAP_SPEC_YAML', line, column, `byte 0x${hex} is not valid UTF-8; save the file as UTF-8`);
  }
}

/** Offset of the first byte that does not start a well-formed UTF-8 sequence. */
function firstInvalidUtf8(bytes: Buffer): number {
  const strict = new TextDecoder('utf-8', { fatal: true });
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const length = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    if (length === 0) return i;
    try {
      strict.decode(bytes.subarray(i, i + length));
    } catch {
      return i;
    }
    i += length;
  }
  return bytes.length;
}

// ---------------------------------------------------------------------------
// Bounded walks: every one is iterative.

/** Offset of a collection nested deeper than `limit`, if any. */
function findTooDeep(tokens: readonly CST.Token[], limit: number): number | undefined {
  const stack: [CST.Token, number][] = tokens.map((token) => [token, 0]);
  while (stack.length > 0) {
    const [token, depth] = stack.pop()!;
    if (token.type === 'document') {
      if (token.value !== undefined) stack.push([token.value, depth]);
      continue;
    }
    if (token.type !== 'block-map' && token.type !== 'block-seq' && token.type !== 'flow-collection') continue;
    if (depth >= limit) return token.offset;
    for (const item of token.items as CST.CollectionItem[]) {
      if (item.key) stack.push([item.key, depth + 1]);
      if (item.value) stack.push([item.value, depth + 1]);
    }
  }
  return undefined;
}

/** Every key that repeats an earlier key of the same mapping, as JavaScript sees keys. */
function findDuplicateKeys(root: Node | null): { key: string; offset: number }[] {
  const found: { key: string; offset: number }[] = [];
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isSeq(node)) {
      for (const item of node.items) stack.push(item);
    } else if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        if (isScalar(pair.key)) {
          const key = String(pair.key.value);
          if (seen.has(key)) found.push({ key, offset: pair.key.range?.[0] ?? 0 });
          seen.add(key);
        } else {
          stack.push(pair.key);
        }
        stack.push(pair.value);
      }
    }
  }
  return found.sort((a, b) => a.offset - b.offset);
}

/** True when `value` nests objects or arrays more than `limit` levels deep; shared nodes count once per level. */
export function exceedsDepth(value: unknown, limit: number): boolean {
  let level = isContainer(value) ? [value] : [];
  for (let depth = 1; level.length > 0; depth++) {
    if (depth > limit) return true;
    const next = new Set<object>();
    for (const node of level) {
      for (const child of Object.values(node)) if (isContainer(child)) next.add(child);
    }
    level = [...next];
  }
  return false;
}

function isContainer(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

/** Walks the YAML node tree along a JSON pointer, stopping at the deepest match. */
function findNode(root: Node | null, pointer: string, key: boolean, index: KeyIndex): Node | null {
  let node: Node | null = root;
  const tokens = pointer.split('/').slice(1).map(unescapePointer);
  for (const [position, token] of tokens.entries()) {
    const next = childNode(node, token, key && position === tokens.length - 1, index);
    if (next === null) return node;
    node = next;
  }
  return node;
}

/**
 * Each mapping's pairs by key, built on first use: a file with many
 * findings in one huge mapping must not scan it once per finding.
 */
type KeyIndex = WeakMap<object, Map<string, Pair>>;

function childNode(node: Node | null, token: string, key: boolean, index: KeyIndex): Node | null {
  if (isMap(node)) {
    let pairs = index.get(node);
    if (pairs === undefined) {
      pairs = new Map();
      for (const pair of node.items) {
        if (isScalar(pair.key) && !pairs.has(String(pair.key.value))) pairs.set(String(pair.key.value), pair as Pair);
      }
      index.set(node, pairs);
    }
    const pair = pairs.get(token);
    if (pair === undefined) return null;
    return key ? (pair.key as Node) : ((pair.value as Node | null) ?? (pair.key as Node));
  }
  if (isSeq(node)) return (node.items[Number(token)] as Node | undefined) ?? null;
  return null;
}

function unescapePointer(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

// ---------------------------------------------------------------------------
// Errors.

function diagnostic(file: string, code: ErrorCode, line: number, column: number, message: string): Diagnostic {
  return { severity: 'error', code, message, file, pointer: '', line, column };
}

function problem(file: string, code: ErrorCode, line: number, column: number, message: string): CapabilityError {
  return diagnosticsError(file, [diagnostic(file, code, line, column, message)]);
}

function shorten(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
