/**
 * DNS-rebinding protection for every HTTP adapter: a web page can make a
 * browser reach a loopback server under a name the page controls, and the
 * runtime would then spend its upstream credentials for that page. So the
 * Host must be one of ours, and a browser's Origin too.
 */

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]', '::1'];

export function allowedHostnames(listenHost: string, extra: readonly string[]): Set<string> {
  const names = new Set([...LOOPBACK_NAMES, ...extra.map((h) => h.toLowerCase())]);
  if (listenHost !== '0.0.0.0' && listenHost !== '::') names.add(listenHost.toLowerCase());
  return names;
}

/** Why a request's Host or Origin is refused, or undefined when both are ours. */
export function rebindingReason(host: string | undefined, origin: string | undefined, allowed: ReadonlySet<string>): string | undefined {
  const hostname = hostnameOf(host);
  if (hostname === undefined || !allowed.has(hostname)) {
    return `Host ${JSON.stringify(host ?? '')} is not allowed; start with --allowed-host <name> to accept it`;
  }
  if (origin === undefined) return undefined;
  let originHost: string;
  try {
    originHost = new URL(origin).hostname.toLowerCase();
  } catch {
    return `Origin ${JSON.stringify(origin)} is not a URL`;
  }
  const bracketed = originHost.includes(':') ? `[${originHost}]` : originHost;
  return allowed.has(originHost) || allowed.has(bracketed) ? undefined : `Origin ${origin} is not allowed`;
}

function hostnameOf(host: string | undefined): string | undefined {
  if (host === undefined || host === '') return undefined;
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1).toLowerCase();
  return host.split(':')[0]!.toLowerCase();
}

