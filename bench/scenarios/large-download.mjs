// Scenario 3: a large CSV download streamed through the REST route, against
// the same download straight from the upstream, and the memory the runtime
// needs for it.
import { Client } from 'undici';
import { REST_DOWNLOAD_PATH, UPSTREAM_DOWNLOAD_PATH } from '../lib/fixtures.mjs';
import { memoryOf, stopProcess } from '../lib/processes.mjs';
import { row } from '../lib/report.mjs';
import { alternate, combine, medianRatio, summarize } from '../lib/rounds.mjs';
import { PREFECT_ADAPTERS, PREFECT_FILE, startRuntime } from '../lib/runtime.mjs';

const MiB = 1024 * 1024;

export async function runLargeDownload(ctx) {
  const { opts, upstream } = ctx;
  const runtime = await startRuntime({
    name: 'runtime (download)',
    file: PREFECT_FILE,
    adapters: PREFECT_ADAPTERS,
    baseUris: { 'prefect-download': upstream.url },
    logFile: ctx.logFile('runtime-download'),
  });
  try {
    const afterStart = memoryOf(runtime.proc.pid);
    const targets = [
      { name: 'direct', origin: upstream.url, path: UPSTREAM_DOWNLOAD_PATH },
      { name: 'ours', origin: runtime.urls.rest, path: REST_DOWNLOAD_PATH },
    ];
    const expected = opts.largeMiB * MiB;
    ctx.progress(
      `${opts.largeRounds} rounds × ${targets.length} targets × ${opts.largeMiB} MiB ` +
        `(each bounded to ${opts.largeTimeoutS} s)`,
    );
    let sampledPeak = 0;
    const raw = await alternate(targets, opts.largeRounds, async (t) => {
      const sampler =
        t.name === 'ours'
          ? setInterval(
              () => (sampledPeak = Math.max(sampledPeak, memoryOf(runtime.proc.pid).rssMiB)),
              50,
            )
          : undefined;
      try {
        return await download(t, expected, opts.largeTimeoutS);
      } finally {
        clearInterval(sampler);
      }
    });
    const peak = memoryOf(runtime.proc.pid).peakRssMiB;
    const ours = summarize(raw.ours, 'mibPerS');
    const direct = summarize(raw.direct, 'mibPerS');
    const rows = [
      row({
        scenario: '3',
        measure: `download ${opts.largeMiB} MiB`,
        unit: 'MiB/s',
        ours: ours.median,
        baseline: direct.median,
        baselineName: 'direct',
        ratio: medianRatio(raw.ours, raw.direct, 'mibPerS'),
        target: { on: 'ratio', op: '>=', value: 0.8 },
        summary: combine(ours, direct),
      }),
      row({
        scenario: '3',
        measure: 'runtime peak RSS (VmHWM)',
        unit: 'MiB',
        ours: peak,
        baseline: afterStart.rssMiB,
        baselineName: 'after start',
        target: { on: 'ours', op: '<', value: 150 },
      }),
    ];
    return {
      rows,
      raw: {
        ...raw,
        rssAfterStartMiB: afterStart.rssMiB,
        sampledPeakRssMiB: sampledPeak,
        peakRssMiB: peak,
      },
    };
  } finally {
    await stopProcess(runtime.proc);
  }
}

/** Reads the whole body, counting bytes; the round is void past the deadline. */
async function download(target, expected, timeoutS) {
  const client = new Client(target.origin);
  const started = process.hrtime.bigint();
  let bytes = 0;
  let status = 0;
  let error;
  try {
    const res = await client.request({
      path: target.path,
      method: 'GET',
      signal: AbortSignal.timeout(timeoutS * 1000),
    });
    status = res.statusCode;
    for await (const chunk of res.body) bytes += chunk.length;
  } catch (err) {
    error =
      err.name === 'TimeoutError' || err.name === 'AbortError'
        ? `over ${timeoutS} s`
        : String(err.code ?? err.message);
  } finally {
    await client.destroy();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const non2xx = status >= 200 && status < 300 ? 0 : 1;
  return {
    bytes,
    seconds,
    mibPerS: bytes / MiB / seconds,
    non2xx,
    errors: error === undefined ? 0 : 1,
    error,
    valid: non2xx === 0 && error === undefined && bytes === expected,
  };
}
