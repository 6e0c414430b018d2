/** A Logger that keeps every line, to check what reaches the log (and what does not reach a client). */
import type { Logger, LogMeta } from '../../src/logging/logger';

export interface LogLine {
  level: string;
  message: string;
  meta?: LogMeta;
}

export function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: string) =>
    (message: string, meta?: LogMeta): void => {
      lines.push({ level, message, meta });
    };
  const logger: Logger = {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    log: ({ level, message, ...meta }) => lines.push({ level, message, meta }),
    child: () => logger, // children write to the same lines
  };
  return Object.assign(logger, { lines });
}
