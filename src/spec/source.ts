import { readFile } from 'node:fs/promises';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { CapabilityError } from '../errors/capability-error.js';

/** Files above this size are refused before parsing (bytes). */
export const MAX_SOURCE_BYTES = 8 * 1024 * 1024;

/** A parsed capability file that can map JSON pointers back to lines. */
export interface SourceDocument {
  readonly file: string;
  readonly value: unknown;
  /** 1-based line and column of the node at `pointer`, or of its nearest parent. */
  locate(pointer: string): { line: number; column: number };
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

/** Parses YAML text (or bytes) into a {@link SourceDocument}. */
export function parseSource(file: string, input: string | Buffer): SourceDocument {
  if (input.length > MAX_SOURCE_BYTES) {
    throw yamlError(file, 1, 1, `file is larger than ${MAX_SOURCE_BYTES} bytes`);
  }
  const text = typeof input === 'string' ? input : decodeUtf8(file, input);
  const lineCounter = new LineCounter();

  // maxAliasCount bounds alias expansion, so a "billion laughs" file fails fast
  // instead of exhausting memory; uniqueKeys makes a duplicated key an error.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const first = doc.errors[0];
  if (first !== undefined) {
    const pos = lineCounter.linePos(first.pos[0]);
    throw yamlError(file, pos.line, pos.col, first.message.split('\n')[0] ?? first.message);
  }

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (cause) {
    throw yamlError(file, 1, 1, (cause as Error).message);
  }

  const locate = (pointer: string) => {
    const node = findNode(doc.contents as Node | null, pointer);
    const offset = node?.range?.[0] ?? 0;
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  return { file, value, locate };
}

function decodeUtf8(file: string, bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw yamlError(file, 1, 1, 'file is not valid UTF-8');
  }
}

function yamlError(file: string, line: number, column: number, reason: string): CapabilityError {
  return new CapabilityError('CAP_SPEC_YAML', `${file}:${line}:${column}: ${reason}`, {
    location: { file, line, column },
  });
}

/** Walks the YAML node tree along a JSON pointer, stopping at the deepest match. */
function findNode(root: Node | null, pointer: string): Node | null {
  let node: Node | null = root;
  const tokens = pointer.split('/').slice(1).map(unescapePointer);
  for (const token of tokens) {
    const next = childNode(node, token);
    if (next === null) return node;
    node = next;
  }
  return node;
}

function childNode(node: Node | null, token: string): Node | null {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (isScalar(pair.key) && String(pair.key.value) === token) {
        return (pair.value as Node | null) ?? (pair.key as Node);
      }
    }
    return null;
  }
  if (isSeq(node)) return (node.items[Number(token)] as Node | undefined) ?? null;
  return null;
}

function unescapePointer(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}
