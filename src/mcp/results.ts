import type { Readable } from 'node:stream';
import type { CallResult } from '../binding/call.js';
import { isJsonType } from '../binding/call.js';

/** Default cap on one tool result's text (bytes). */
export const DEFAULT_RESULT_CAP_BYTES = 256 * 1024;

/** Longest upstream error body quoted in an isError result (bytes). */
const ERROR_EXCERPT_BYTES = 2048;

export interface ToolResult {
  content: { type: 'text'; text: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
  [key: string]: unknown;
}

/** Shapes an upstream answer into a tool result. */
export async function toToolResult(result: CallResult, capBytes: number): Promise<ToolResult> {
  if (result.kind === 'value') return valueResult(result.value, capBytes);
  if (result.status === 304) {
    result.body.resume();
    return text('not modified: the upstream answered 304, the caller\'s cached copy is current');
  }
  if (result.status >= 400) {
    const excerpt = await readCapped(result.body, ERROR_EXCERPT_BYTES);
    const more = excerpt.truncated ? ' [excerpt]' : '';
    return { ...text(`upstream returned HTTP ${result.status}: ${excerpt.text}${more}`), isError: true };
  }
  const read = await readCapped(result.body, capBytes);
  if (isJsonType(result.headers['content-type']) && !read.truncated) {
    try {
      return valueResult(JSON.parse(read.text), capBytes);
    } catch {
      // Not JSON after all: returned as text below.
    }
  }
  return text(read.truncated ? cutText(read.text, capBytes) : read.text);
}

function valueResult(value: unknown, capBytes: number): ToolResult {
  const json = JSON.stringify(value) ?? 'null';
  if (Buffer.byteLength(json) > capBytes) {
    // TODO(#4): keep whole array items instead of a text prefix.
    return text(cutText(json, capBytes));
  }
  // A pass-through cannot promise a shape, so no outputSchema is advertised
  // and the value rides under `result` (structuredContent must be an object).
  return { content: [{ type: 'text', text: json }], structuredContent: { result: value } };
}

function text(value: string): ToolResult {
  return { content: [{ type: 'text', text: value }] };
}

/** Keeps whole lines under the cap and says that the result was cut. */
function cutText(value: string, capBytes: number): string {
  const prefix = Buffer.from(value).subarray(0, capBytes).toString('utf8');
  const lastLine = prefix.lastIndexOf('\n');
  const kept = lastLine > 0 ? prefix.slice(0, lastLine + 1) : prefix;
  return `${kept}\n[result cut at ${capBytes} bytes: narrow the request (filters, offset/limit) to get the rest]`;
}

/** Reads at most `capBytes`, then stops the upstream read. */
export async function readCapped(body: Readable, capBytes: number): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    chunks.push(buf);
    size += buf.length;
    if (size > capBytes) {
      body.destroy();
      return { text: Buffer.concat(chunks).subarray(0, capBytes + 1).toString('utf8'), truncated: true };
    }
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated: false };
}
