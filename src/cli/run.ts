import { readFileSync } from 'node:fs';
import { isCapabilityError } from '../errors/capability-error.js';
import { createLogger } from '../logging/logger.js';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS, parseCommand, USAGE } from './options.js';
import { serveCapability, type RunningCapability } from './serve.js';
import { readSource } from '../spec/source.js';

const EXIT_OK = 0;
const EXIT_INVALID = 1;
const EXIT_USAGE = 2;

/** The package version, read once from package.json. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Runs the command line. Resolves with the exit code for one-shot commands;
 * for `serve` it resolves once the adapters listen and keeps the process
 * alive until SIGTERM or SIGINT.
 */
export async function runCli(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  let command;
  try {
    command = parseCommand(argv, env);
  } catch (err) {
    process.stderr.write(`naftiko-ts: ${(err as { code?: string }).code ?? 'CAP_CONFIG_USAGE'} ${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
  if (command.kind === 'help') {
    process.stdout.write(USAGE);
    return EXIT_OK;
  }
  if (command.kind === 'version') {
    process.stdout.write(`${packageVersion()}\n`);
    return EXIT_OK;
  }
  if (command.kind === 'validate') {
    const { runValidate } = await import('./validate.js');
    return runValidate(command.files, command.strict, command.format);
  }

  // When MCP speaks over stdout, every log line must go to stderr.
  const stdio = command.options.stdio || (await declaresStdio(command.options.file));
  const logger = createLogger({ level: command.options.logLevel as never, stderr: stdio });
  // Handlers go in before start-up, so a signal during it is not fatal: the
  // stop waits for the adapters and then closes them gracefully.
  let running: RunningCapability | undefined;
  let stopping: string | undefined;
  const graceMs = command.options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
  const exit = () => logger.flush(() => process.exit(EXIT_OK));
  const drain = (current: RunningCapability) => {
    void current.close(graceMs).then(({ cut }) => {
      logger.info({ cut }, cut ? 'stopped; requests over the grace period were cut' : 'stopped');
      exit();
    });
  };
  const stop = (signal: string) => {
    // A second signal while draining means "now".
    if (stopping !== undefined) return exit();
    stopping = signal;
    logger.info({ signal, graceMs }, 'shutting down');
    if (running !== undefined) drain(running);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // SIGHUP reloads the file in place; a file that fails keeps the old one serving.
  process.on('SIGHUP', () => {
    running?.reload().catch((err: unknown) => {
      const code = isCapabilityError(err) ? err.code : 'CAP_INTERNAL';
      // A mistake in the file is the user's to read, not a stack trace.
      logger.error(isCapabilityError(err) ? { code } : { code, err }, `reload refused, still serving the previous version: ${(err as Error).message}`);
    });
  });
  try {
    running = await serveCapability(command.options, logger, env, packageVersion());
    if (stopping !== undefined) drain(running);
    // MCP stdio binding: the server exits once its client closes stdin.
    if (stdio) process.stdin.once('end', () => stop('stdin closed'));
    return EXIT_OK;
  } catch (err) {
    const message = isCapabilityError(err) ? `${err.code} ${err.message}` : String((err as Error).stack ?? err);
    logger.fatal({ code: isCapabilityError(err) ? err.code : 'CAP_INTERNAL' }, 'cannot start');
    logger.flush();
    // A signal that came in during a failed start has nothing left to stop.
    process.removeAllListeners('SIGTERM');
    process.removeAllListeners('SIGINT');
    process.removeAllListeners('SIGHUP');
    process.stderr.write(`naftiko-ts: cannot start: ${message}\n`);
    return isCapabilityError(err) && err.code === 'CAP_CONFIG_USAGE' ? EXIT_USAGE : EXIT_INVALID;
  }
}

/** True when the file declares an MCP adapter on stdio; errors are left to the loader. */
async function declaresStdio(file: string): Promise<boolean> {
  try {
    const doc = (await readSource(file)).value as { capability?: { exposes?: { type?: string; transport?: string }[] } };
    return (doc.capability?.exposes ?? []).some((e) => e.type === 'mcp' && e.transport === 'stdio');
  } catch {
    return false;
  }
}
