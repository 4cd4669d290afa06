// Summarises a V8 .cpuprofile (written by `node --cpu-prof`) as the
// functions with the most self time.
import { readFileSync } from 'node:fs';

/** Top `limit` functions and packages by self time, with their share of busy time. */
export function summarizeProfile(file, root, limit = 15) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const packages = new Map();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const frame = byId.get(id).callFrame;
    // Waiting for I/O is not work: shares are of busy time.
    if (frame.functionName === '(idle)') return void (idle += dt);
    total += dt;
    const name = frame.functionName || '(anonymous)';
    const key = `${name} ${shorten(frame.url, root)}:${frame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    const where = packageOf(frame, root);
    packages.set(where, (packages.get(where) ?? 0) + dt);
  });
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, limit);
  return {
    busyMs: total / 1000,
    idleMs: idle / 1000,
    top: top.map(([fn, us]) => ({
      fn,
      selfMs: Math.round(us / 100) / 10,
      share: Math.round((us / total) * 1000) / 10,
    })),
    packages: [...packages.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10)
      .map(([name, us]) => ({
        name,
        selfMs: Math.round(us / 100) / 10,
        share: Math.round((us / total) * 1000) / 10,
      })),
  };
}

/** Where a frame's code lives: a package, our dist/, Node, or V8 itself (GC, program). */
function packageOf(frame, root) {
  const url = frame.url;
  if (!url) return frame.functionName || '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm !== -1) {
    const parts = path.slice(nm + '/node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  return path.startsWith(`${root}dist/`) ? 'runtime (dist/)' : shorten(url, root);
}

/** A frame's file relative to the repository or to node_modules. */
function shorten(url, root) {
  if (!url) return '(native)';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm !== -1) return path.slice(nm + '/node_modules/'.length);
  return path.startsWith(root) ? path.slice(root.length) : path;
}
