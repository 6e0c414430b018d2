/** Structured JSON logging with winston: one JSON object per line on stdout, written in batches. */
import winston from 'winston';
import { BufferedFdTransport } from './buffered-stdout';
import type { LogLevel } from './log-levels';
import { isoNow } from '../util/iso-now';
import type { Logger } from './logger';

const MESSAGE = Symbol.for('message');

/**
 * Serialises a log entry with JSON.stringify (several times faster than winston's default
 * `json()` format, which sorts keys with safe-stable-stringify); falls back to the default for
 * the rare entry JSON.stringify cannot handle (a circular or BigInt value).
 */
const fastJson = winston.format((info) => {
  const out = info as Record<string | symbol, unknown>;
  try {
    out[MESSAGE] = JSON.stringify(info);
  } catch {
    return winston.format.json().transform(info) as winston.Logform.TransformableInfo;
  }
  return info;
});

export function createLogger(options: { level?: LogLevel; service?: string } = {}): Logger {
  return winston.createLogger({
    level: options.level ?? 'info',
    levels: { error: 0, warn: 1, info: 2, debug: 3 },
    defaultMeta: options.service ? { service: options.service } : undefined,
    format: winston.format.combine(winston.format.timestamp({ format: isoNow }), fastJson()),
    transports: [new BufferedFdTransport({ fd: 1 })],
  }) as unknown as Logger;
}
