import { timingSafeEqual } from 'node:crypto';
import type { AuthenticationSpec } from '../spec/types.js';
import { compileTemplate, renderTemplate, stringifyValue } from './template.js';

/** Checks the credentials a caller presents to an exposed adapter. */
export type InboundCheck = (headers: Record<string, string | string[] | undefined>, query: URLSearchParams) => boolean;

/**
 * Builds the check for an adapter's `authentication` (spec 2.11). Secrets
 * are rendered once from binds; comparison is constant-time so response
 * timing does not reveal how much of a guess was right.
 */
export function createInboundCheck(
  auth: AuthenticationSpec,
  binds: ReadonlyMap<string, string>,
): InboundCheck | undefined {
  const render = (text: string) =>
    renderTemplate(compileTemplate(text), (n) => binds.get(n), (v) => stringifyValue(v ?? ''));
  switch (auth.type) {
    case 'bearer': {
      const expected = `Bearer ${render(auth.token)}`;
      return (headers) => safeEqual(header(headers, 'authorization'), expected);
    }
    case 'basic': {
      const pair = `${render(auth.username)}:${render(auth.password)}`;
      const expected = `Basic ${Buffer.from(pair).toString('base64')}`;
      return (headers) => safeEqual(header(headers, 'authorization'), expected);
    }
    case 'apikey': {
      const key = render(auth.key);
      const expected = render(auth.value);
      return auth.placement === 'query'
        ? (_headers, query) => safeEqual(query.get(key) ?? undefined, expected)
        : (headers) => safeEqual(header(headers, key.toLowerCase()), expected);
    }
    default:
      return undefined;
  }
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function safeEqual(actual: string | undefined, expected: string): boolean {
  if (actual === undefined) return false;
  const a = Buffer.from(actual);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
