import { createHash, randomBytes } from 'node:crypto';

/**
 * HTTP Digest authentication (RFC 7616), client side: the first request
 * goes without credentials, the 401 carries a challenge, and the request
 * is sent once more with the computed response. MD5 and SHA-256, qop
 * `auth` or none; `auth-int` is not offered by the servers we call.
 */
export function digestAuthorization(
  challenge: string,
  credentials: { readonly username: string; readonly password: string },
  method: string,
  uri: string,
): string | undefined {
  if (!/^digest\s/i.test(challenge)) return undefined;
  const params = parseChallenge(challenge.replace(/^digest\s+/i, ''));
  const realm = params.get('realm') ?? '';
  const nonce = params.get('nonce');
  if (nonce === undefined) return undefined;

  const algorithm = (params.get('algorithm') ?? 'MD5').toUpperCase();
  const hashName = algorithm.startsWith('SHA-256') ? 'sha256' : algorithm.startsWith('MD5') ? 'md5' : undefined;
  if (hashName === undefined) return undefined;
  const hash = (text: string) => createHash(hashName).update(text, 'utf8').digest('hex');

  const qops = (params.get('qop') ?? '').split(',').map((q) => q.trim());
  const qop = qops.includes('auth') ? 'auth' : undefined;
  const cnonce = randomBytes(12).toString('hex');
  const nc = '00000001';
  let ha1 = hash(`${credentials.username}:${realm}:${credentials.password}`);
  if (algorithm.endsWith('-SESS')) ha1 = hash(`${ha1}:${nonce}:${cnonce}`);
  const ha2 = hash(`${method}:${uri}`);
  const response = qop === undefined ? hash(`${ha1}:${nonce}:${ha2}`) : hash(`${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`);

  const fields = [
    `username="${quote(credentials.username)}"`,
    `realm="${quote(realm)}"`,
    `nonce="${quote(nonce)}"`,
    `uri="${quote(uri)}"`,
    `algorithm=${algorithm}`,
    `response="${response}"`,
  ];
  if (qop !== undefined) fields.push(`qop=${qop}`, `nc=${nc}`, `cnonce="${cnonce}"`);
  const opaque = params.get('opaque');
  if (opaque !== undefined) fields.push(`opaque="${quote(opaque)}"`);
  return `Digest ${fields.join(', ')}`;
}

/** `key="quoted, value", key2=token` to a map; quoted strings may contain commas. */
function parseChallenge(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (const m of text.matchAll(re)) out.set(m[1]!.toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!);
  return out;
}

function quote(value: string): string {
  return value.replace(/["\\]/g, '\\$&');
}
