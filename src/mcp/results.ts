import type { Readable } from 'node:stream';
import { isJsonType, type CallResult } from '../binding/call.js';
import { emptyTableNotice } from '../binding/formats.js';
import { CapabilityError } from '../errors/capability-error.js';
import type { BoundTool } from './tools.js';

/** Default cap on one tool result (bytes of its JSON or text). */
export const DEFAULT_RESULT_CAP_BYTES = 256 * 1024;

/** Longest upstream error body quoted in an isError result (bytes). */
const ERROR_EXCERPT_BYTES = 2048;

export interface ToolResult {
  content: { type: 'text'; text: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
  [key: string]: unknown;
}

/** Shapes an upstream answer into a tool result no larger than `capBytes`. */
export async function toToolResult(result: CallResult, capBytes: number, tool: BoundTool): Promise<ToolResult> {
  if (result.kind === 'value') return valueResult(result.value, capBytes, tool);
  if (result.status === 304) {
    result.body.resume();
    return text('not modified: the upstream answered 304, so the copy the caller holds is current');
  }
  if (result.status >= 400) {
    const excerpt = await readCapped(result.body, ERROR_EXCERPT_BYTES);
    const more = excerpt.truncated ? ' [excerpt]' : '';
    return { ...text(`upstream returned HTTP ${result.status}: ${excerpt.text}${more}`), isError: true };
  }
  if (result.status === 204) {
    result.body.resume();
    return text('done: the upstream answered 204 with no content');
  }
  const read = await readCapped(result.body, capBytes);
  if (read.truncated) return cutText(read.text, capBytes, read.bytes, result.headers['content-length']);
  if (isJsonType(result.headers['content-type'])) {
    try {
      return valueResult(JSON.parse(read.text), capBytes, tool);
    } catch {
      // Declared JSON but is not: returned as the text it is.
    }
  }
  if (read.text === '') return text('the upstream returned an empty body');
  // A CSV with only its header row: say so, so an agent does not read an
  // empty table as a failure.
  const none = emptyTableNotice(result.headers['content-type'], read.text);
  return none === undefined ? text(read.text) : { content: [{ type: 'text', text: read.text }, { type: 'text', text: none }] };
}

function valueResult(value: unknown, capBytes: number, tool: BoundTool): ToolResult {
  const plan = tool.output;
  const shaped = plan.kind === 'passthrough' ? value : plan.conform(value);
  const structured = plan.kind === 'object' ? (shaped as Record<string, unknown>) : { result: shaped };
  const json = JSON.stringify(plan.kind === 'object' ? structured : shaped) ?? 'null';
  if (Buffer.byteLength(json) <= capBytes) return { content: [{ type: 'text', text: json }], structuredContent: structured };
  if (Array.isArray(shaped)) return cutArray(shaped, capBytes);
  throw new CapabilityError(
    'CAP_RESULT_TOO_LARGE',
    `the result is ${Buffer.byteLength(json)} bytes, over the ${capBytes}-byte cap for one tool result; ` +
      'narrow the request (filters, offset/limit) to get less',
    { data: { limit: capBytes } },
  );
}

/**
 * Keeps the longest prefix of whole items that fits, so the text is always
 * valid JSON and the structured content still matches its schema, and says
 * in a second block how many items were left out.
 */
function cutArray(items: readonly unknown[], capBytes: number): ToolResult {
  const budget = capBytes - 2;
  let used = 0;
  let kept = 0;
  for (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(item) ?? 'null') + 1;
    if (used + size > budget) break;
    used += size;
    kept++;
  }
  const prefix = items.slice(0, kept);
  return {
    content: [
      { type: 'text', text: JSON.stringify(prefix) },
      { type: 'text', text: `[result cut: ${kept} of ${items.length} items kept to stay under ${capBytes} bytes; ` +
          'ask for fewer (offset/limit, narrower filters) to get the rest]' },
    ],
    structuredContent: { result: prefix },
  };
}

/**
 * Text over the cap (CSV and other non-JSON bodies): keeps whole records,
 * ending at a line break outside a quoted field, then the notice.
 */
function cutText(value: string, capBytes: number, bytesRead: number, contentLength: string | undefined): ToolResult {
  const prefix = Buffer.from(value).subarray(0, capBytes).toString('utf8').replace(/\uFFFD$/, '');
  const end = lastRecordEnd(prefix);
  const kept = end > 0 ? prefix.slice(0, end) : prefix;
  const total = contentLength === undefined ? `more than ${bytesRead}` : contentLength;
  return {
    content: [
      { type: 'text', text: kept },
      { type: 'text', text: `[result cut: the first ${Buffer.byteLength(kept)} of ${total} bytes, whole rows only; ` +
          'the upstream read was stopped at the cap. Narrow the request (filters, offset/limit) to get the rest]' },
    ],
  };
}

/** Index just past the last line break that ends a CSV record (RFC 4180 quoting). */
export function lastRecordEnd(text: string): number {
  let inQuotes = false;
  let end = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) inQuotes = !inQuotes;
    else if (c === 10 && !inQuotes) end = i + 1;
  }
  return end;
}

function text(value: string): ToolResult {
  return { content: [{ type: 'text', text: value }] };
}

/** Reads at most `capBytes` (plus one chunk), then stops the upstream read. */
export async function readCapped(
  body: Readable,
  capBytes: number,
): Promise<{ text: string; truncated: boolean; bytes: number }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    chunks.push(buf);
    size += buf.length;
    if (size > capBytes) {
      body.destroy();
      return { text: Buffer.concat(chunks).toString('utf8'), truncated: true, bytes: size };
    }
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated: false, bytes: size };
}
