import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../../src/binding/client.js';
import { parseDuration, parseRetryList, parseSize, parseTimeoutList, resolvePolicy } from '../../../src/binding/policy.js';
import { parseCommand, USAGE } from '../../../src/cli/options.js';

describe('upstream policy settings', () => {
  it('has documented defaults: connect 10s, headers 30s, idle 60s, deadline 60s; 3 tries, 250ms backoff, 30s max wait', () => {
    expect(DEFAULT_POLICY).toEqual({
      timeouts: { connectMs: 10_000, headersMs: 30_000, idleMs: 60_000, deadlineMs: 60_000 },
      retry: { attempts: 3, backoffMs: 250, maxWaitMs: 30_000 },
    });
  });

  it('parses durations with a unit, lists of timeouts and retry settings', () => {
    expect([parseDuration('500ms', 'x'), parseDuration('2s', 'x'), parseDuration('1.5m', 'x')]).toEqual([500, 2000, 90_000]);
    expect(parseTimeoutList('connect:2s, headers:10s,idle:30s,deadline:60s')).toEqual({ connectMs: 2000, headersMs: 10_000, idleMs: 30_000, deadlineMs: 60_000 });
    expect(parseRetryList('attempts:1,backoff:100ms,max-wait:5s')).toEqual({ attempts: 1, backoffMs: 100, maxWaitMs: 5000 });
    expect([parseSize('16MiB', 'x'), parseSize('512KiB', 'x'), parseSize('2048', 'x')]).toEqual([16 * 1024 ** 2, 512 * 1024, 2048]);
  });

  it.each([
    [() => parseDuration('30', 'timeout headers'), 'such as 500ms, 10s or 2m; got "30"'],
    [() => parseTimeoutList('header:1s'), 'unknown timeout "header"; use connect, headers, idle, deadline'],
    [() => parseRetryList('attempts:0'), 'from 1 (no retry) to 10'],
    [() => parseSize('10', '--buffer-cap'), 'at least 1KiB'],
  ])('refuses a bad value, saying what is expected (%#)', (run, message) => {
    expect(run).toThrow(message);
  });

  it('layers settings per key: environment for all, for one namespace, then the command line for all, for one', () => {
    const cmd = parseCommand(
      ['cap.yaml', '--timeout', 'headers:5s', '--timeout', 'prefect-download=idle:9s', '--retry', 'prefect-download=attempts:1'],
      { NAFTIKO_TIMEOUT: 'headers:1s,connect:1s', NAFTIKO_TIMEOUT_PREFECT_DOWNLOAD: 'idle:2s,deadline:7s', NAFTIKO_RETRY: 'max-wait:3s' },
    );
    if (cmd.kind !== 'serve') throw new Error('expected serve');
    const layers = cmd.options.upstreamPolicies ?? [];
    expect(resolvePolicy(layers, 'prefect-download')).toEqual({
      timeouts: { connectMs: 1000, headersMs: 5000, idleMs: 9000, deadlineMs: 7000 },
      retry: { attempts: 1, backoffMs: 250, maxWaitMs: 3000 },
    });
    expect(resolvePolicy(layers, 'other')).toEqual({
      timeouts: { connectMs: 1000, headersMs: 5000, idleMs: 60_000, deadlineMs: 60_000 },
      retry: { attempts: 3, backoffMs: 250, maxWaitMs: 3000 },
    });
  });

  it('reads --buffer-cap and --shutdown-timeout, or their environment variables', () => {
    const cli = parseCommand(['cap.yaml', '--buffer-cap', '1MiB', '--shutdown-timeout', '3s'], { NAFTIKO_BUFFER_CAP: '2MiB', NAFTIKO_SHUTDOWN_TIMEOUT: '9s' });
    const env = parseCommand(['cap.yaml'], { NAFTIKO_BUFFER_CAP: '2MiB', NAFTIKO_SHUTDOWN_TIMEOUT: '9s' });
    if (cli.kind !== 'serve' || env.kind !== 'serve') throw new Error('expected serve');
    expect([cli.options.bufferCapBytes, cli.options.shutdownTimeoutMs]).toEqual([1024 ** 2, 3000]);
    expect([env.options.bufferCapBytes, env.options.shutdownTimeoutMs]).toEqual([2 * 1024 ** 2, 9000]);
  });

  it.each([
    [['cap.yaml', '--timeout', 'ns=headers:ten'], '--timeout: timeout headers must be a duration'],
    [['cap.yaml', '--retry', 'tries:3'], '--retry: unknown retry setting "tries"'],
    [['cap.yaml', '--shutdown-timeout', '10'], '--shutdown-timeout: --shutdown-timeout must be a duration'],
  ])('turns a bad %j into a usage error', (argv, message) => {
    expect(() => parseCommand(argv, {})).toThrow(expect.objectContaining({ code: 'CAP_CONFIG_USAGE', message: expect.stringContaining(message) }));
  });

  it('lists every new flag and its environment variable in --help and in the README', () => {
    const readme = readFileSync('README.md', 'utf8');
    for (const word of ['--timeout', 'NAFTIKO_TIMEOUT_<NS>', '--retry', 'NAFTIKO_RETRY_<NS>', '--buffer-cap', 'NAFTIKO_BUFFER_CAP',
      '--shutdown-timeout', 'NAFTIKO_SHUTDOWN_TIMEOUT', 'HTTP_PROXY', 'NO_PROXY', 'NODE_EXTRA_CA_CERTS']) {
      expect(USAGE, word).toContain(word);
      expect(readme, word).toContain(word);
    }
  });
});
