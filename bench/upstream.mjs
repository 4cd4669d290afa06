// The benchmark's stand-in for Prefect: a plain node:http server, run in
// its own process so it never shares an event loop with the load
// generator or the runtime under test.
//
//   GET .../flow_runs/{id}/logs           a fixed 1 KiB JSON array
//   GET .../flow_runs/{id}/logs/download  BENCH_LARGE_MB MiB of CSV, chunked
//
// Environment: PORT (0 picks one), BENCH_LARGE_MB (default 1024).
// Prints one line `{"port":N}` on stdout once it listens.
import { createServer } from 'node:http';
import { logsBody } from './lib/fixtures.mjs';

const LOGS = /^\/api\/accounts\/[^/]+\/workspaces\/[^/]+\/flow_runs\/[^/]+\/logs(\?|$)/;
const DOWNLOAD =
  /^\/api\/accounts\/[^/]+\/workspaces\/[^/]+\/flow_runs\/[^/]+\/logs\/download(\?|$)/;

const body = logsBody();
const largeBytes = Number(process.env.BENCH_LARGE_MB ?? 1024) * 1024 * 1024;
const csvChunk = buildCsvChunk();

const server = createServer((req, res) => {
  const url = req.url ?? '';
  if (req.method === 'GET' && LOGS.test(url)) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
    return;
  }
  if (req.method === 'GET' && DOWNLOAD.test(url)) {
    res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8' });
    streamCsv(res, largeBytes);
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
});
// Many keep-alive connections from several clients: keep them open for the
// whole round instead of Node's 5 s default.
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));

/**
 * 64 KiB of 128-byte CSV lines: every multiple of it ends on a line, so a
 * download of N MiB is N × 16 whole chunks, written without copying.
 */
function buildCsvChunk() {
  const lines = [];
  for (let i = 0; i < 512; i++) {
    const head = `2026-05-19T12:${String(i % 60).padStart(2, '0')}:00.000Z,INFO,prefect.flow_runs,`;
    lines.push(`${head}message ${i} `.padEnd(127, 'x') + '\n');
  }
  return Buffer.from(lines.join(''));
}

/** Writes `total` bytes, honouring backpressure; stops if the client leaves. */
function streamCsv(res, total) {
  let left = total;
  const pump = () => {
    while (left > 0) {
      const piece = left >= csvChunk.length ? csvChunk : csvChunk.subarray(0, left);
      left -= piece.length;
      if (!res.write(piece)) return void res.once('drain', pump);
    }
    res.end();
  };
  res.once('close', () => {
    left = 0;
  });
  pump();
}
