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
 * the rare entry JSON.stringify cannot handle (a circular or BigInt value), and to a minimal
 * line when that fails too (e.g. a value nested deeper than the stack allows): a log call must
 * never throw into a request.
 */
const fastJson = winston.format((info) => {
  const out = info as Record<string | symbol, unknown>;
  try {
    out[MESSAGE] = JSON.stringify(info);
  } catch {
    try {
      return winston.format.json().transform(info) as winston.Logform.TransformableInfo;
    } catch {
      out[MESSAGE] = JSON.stringify({
        level: info.level,
        message: String(info.message).slice(0, 200),
        timestamp: out.timestamp,
        logError: 'this entry could not be serialised; its fields were dropped',
      });
    }
  }
  return info;
});

export function createLogger(options: { level?: LogLevel; service?: string; /** Default 1 (stdout). */ fd?: number } = {}): Logger {
  return winston.createLogger({
    level: options.level ?? 'info',
    levels: { error: 0, warn: 1, info: 2, debug: 3 },
    defaultMeta: options.service ? { service: options.service } : undefined,
    format: winston.format.combine(winston.format.timestamp({ format: isoNow }), fastJson()),
    transports: [new BufferedFdTransport({ fd: options.fd ?? 1 })],
  }) as unknown as Logger;
}
