import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli } from '../support/cli.js';
import { writeFaultCapability } from '../integration/upstream-support.js';

// A TLS upstream signed by a private CA is trusted once NODE_EXTRA_CA_CERTS
// names that CA, and refused (502, never retried) without it.

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let dir: string;
let server: Server;
let url: string;

/** A throwaway CA and a certificate for IP 127.0.0.1 signed by it, valid one day. */
function makeCertificates(): void {
  dir = mkdtempSync(join(tmpdir(), 'naftiko-ca-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=naftiko test CA');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n');
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'ext.cnf');
}

describe.skipIf(!hasOpenssl())('NODE_EXTRA_CA_CERTS', () => {
  beforeAll(async () => {
    makeCertificates();
    server = createServer({ key: readFileSync(join(dir, 'server.key')), cert: readFileSync(join(dir, 'server.pem')) }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"tls":true}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  const args = () => [writeFaultCapability(), '--base-uri', `faults=${url}`, '--port', 'faults-rest=0', '--port', 'faults-mcp=0'];

  it('trusts an upstream signed by the CA it names', async () => {
    const cli = await startCli(args(), { NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem'), NO_PROXY: '127.0.0.1' }, { routes: 3, tools: 1 });
    try {
      const res = await fetch(`${cli.restUrl()}/raw`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ tls: true });
    } finally {
      expect(await cli.stop()).toBe(0);
    }
  });

  it('without it, refuses the certificate: 502 CAP_UPSTREAM_UNREACHABLE', async () => {
    const cli = await startCli(args(), { NO_PROXY: '127.0.0.1' }, { routes: 3, tools: 1 });
    try {
      const res = await fetch(`${cli.restUrl()}/raw`);
      expect(res.status).toBe(502);
      const problem = (await res.json()) as { code: string; detail: string };
      expect(problem.code).toBe('CAP_UPSTREAM_UNREACHABLE');
      expect(problem.detail).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/);
      expect(cli.lines.some((l) => l.includes('upstream retry'))).toBe(false);
    } finally {
      await cli.stop();
    }
  });
});
