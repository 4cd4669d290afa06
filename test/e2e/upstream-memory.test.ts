import { existsSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli, type StartedCli } from '../support/cli.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { writeFaultCapability } from '../integration/upstream-support.js';

// A pass-through download far larger than the buffer cap goes through the
// built CLI with flat memory: once warm, the peak resident set of the
// process no longer grows with the size of the download.

const MiB = 1024 * 1024;
const hasProc = existsSync('/proc/self/status');

let upstream: FakeUpstream;
let cli: StartedCli;

/** Sends `bytes` of generated data, waiting for drain, never holding it all. */
async function sendGenerated(res: ServerResponse, bytes: number): Promise<void> {
  const chunk = Buffer.alloc(256 * 1024, 120);
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  for (let sent = 0; sent < bytes && !res.destroyed; sent += chunk.length) {
    if (!res.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  res.end();
}

/** Peak resident set size of a process (VmHWM), in bytes. */
function peakRss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? 0) * 1024;
}

async function download(): Promise<number> {
  const res = await request(`${cli.restUrl()}/raw`);
  let received = 0;
  for await (const chunk of res.body) received += (chunk as Buffer).length;
  return received;
}

beforeAll(async () => {
  upstream = await startFakeUpstream((_req, res) => sendGenerated(res, MiB));
  cli = await startCli(
    [writeFaultCapability(), '--base-uri', `faults=${upstream.url}`, '--port', 'faults-rest=0', '--port', 'faults-mcp=0', '--buffer-cap', '1MiB'],
    { NO_PROXY: '127.0.0.1' },
    { routes: 3, tools: 1 },
  );
});
afterAll(async () => {
  await cli?.stop();
  await upstream?.close();
});

describe.skipIf(!hasProc)('memory while streaming', () => {
  it('streams 256 MiB, then 1 GiB, through a 1 MiB buffer cap: the peak RSS stops growing whatever the size', async () => {
    upstream.handle((_req, res) => sendGenerated(res, MiB));
    for (let i = 0; i < 3; i++) expect(await download()).toBe(MiB);
    const warm = peakRss(cli.child.pid!);

    upstream.handle((_req, res) => sendGenerated(res, 256 * MiB));
    expect(await download()).toBe(256 * MiB);
    const afterQuarter = peakRss(cli.child.pid!);

    upstream.handle((_req, res) => sendGenerated(res, 1024 * MiB));
    expect(await download()).toBe(1024 * MiB);
    const afterGiB = peakRss(cli.child.pid!);

    // Garbage collection lets a streaming process grow a little before it
    // settles; four times the data must not move the peak again.
    expect(afterQuarter - warm).toBeLessThan(96 * MiB);
    expect(afterGiB - afterQuarter).toBeLessThan(24 * MiB);
  }, 60_000);
});
