/**
 * The logger the core writes to. The winston adapter (logging/winston.ts) implements it; tests
 * pass `silentLogger`. Meta objects are structured fields, never interpolated into the message.
 */
export type LogMeta = Record<string, unknown>;

export interface Logger {
  error(message: string, meta?: LogMeta): void;
  warn(message: string, meta?: LogMeta): void;
  info(message: string, meta?: LogMeta): void;
  debug(message: string, meta?: LogMeta): void;
  child(bindings: LogMeta): Logger;
}

const noop = (): void => undefined;

export const silentLogger: Logger = {
  error: noop, warn: noop, info: noop, debug: noop,
  child: () => silentLogger,
};
