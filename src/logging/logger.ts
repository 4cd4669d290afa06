import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export interface LoggerOptions {
  readonly level?: LevelWithSilent;
  /** Write to standard error: required when MCP speaks over standard output. */
  readonly stderr?: boolean;
}

/**
 * Paths redacted from every log line. Secrets must not reach the log even
 * when an error object carries a request: headers, credentials and any
 * value that came from a bind.
 */
export const REDACT_PATHS = [
  'headers.authorization',
  'headers.cookie',
  'headers["proxy-authorization"]',
  'headers["x-api-key"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'err.data.token',
  'binds',
];

/** The runtime's pino logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = pino.destination({ fd: options.stderr ? 2 : 1, sync: false });
  // A reader that goes away (`| head`) must not stop the server: without a
  // listener the write error would retry forever or crash the process. The
  // log is lost from then on; serving goes on.
  destination.on('error', () => {
    destination.write = () => true;
  });
  return pino(
    {
      level: options.level ?? 'info',
      base: { name: 'naftiko-ts' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination,
  );
}
