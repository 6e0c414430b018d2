/**
 * The logger the core writes to. The winston adapter (logging/winston.ts) implements it; tests
 * pass `silentLogger`. Meta objects are structured fields, never interpolated into the message.
 */
import type { LogLevel } from './log-levels';

export type LogMeta = Record<string, unknown>;

/** A whole entry in one object: what the per-request access line uses. */
export type LogEntry = LogMeta & { level: LogLevel; message: string };

export interface Logger {
  error(message: string, meta?: LogMeta): void;
  warn(message: string, meta?: LogMeta): void;
  info(message: string, meta?: LogMeta): void;
  debug(message: string, meta?: LogMeta): void;
  /**
   * Writes an entry built by the caller, which gives the object away (the logger may add fields
   * to it). winston's own `log(info)`, its fastest path: no copy of the fields into a new object.
   */
  log(entry: LogEntry): void;
  child(bindings: LogMeta): Logger;
}

const noop = (): void => undefined;

export const silentLogger: Logger = {
  error: noop,
  warn: noop,
  info: noop,
  debug: noop,
  log: noop,
  child: () => silentLogger,
};
