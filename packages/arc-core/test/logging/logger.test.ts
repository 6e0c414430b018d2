import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOG_LEVELS } from '../../src/logging/log-levels';
import { silentLogger } from '../../src/logging/logger';
import { createLogger } from '../../src/logging/winston';

describe('logging', () => {
  it('has the four levels in order of severity', () => {
    expect(LOG_LEVELS).toEqual(['error', 'warn', 'info', 'debug']);
  });

  it('silentLogger accepts every call and its children are silent too', () => {
    expect(silentLogger.child({ a: 1 })).toBe(silentLogger);
    for (const level of LOG_LEVELS) expect(silentLogger[level]('x', { y: 1 })).toBeUndefined();
  });

  it('createLogger returns a Logger with the configured level', () => {
    const logger = createLogger({ level: 'warn', service: 'unit' }) as unknown as {
      level: string;
      child: (m: object) => unknown;
      close: () => void;
    };
    expect(logger.level).toBe('warn');
    expect(typeof logger.child({ traceId: 't' })).toBe('object');
    logger.close();
  });

  it('never throws on an entry it cannot serialise (circular, BigInt, nested beyond the stack)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'arc-log-'));
    const fd = openSync(join(dir, 'log'), 'w');
    try {
      const logger = createLogger({ level: 'info', fd });
      const circular: Record<string, unknown> = { a: 1 };
      circular.self = circular;
      let deep: unknown = 'leaf';
      for (let i = 0; i < 200_000; i++) deep = { d: deep };
      expect(() => logger.info('circular', { circular })).not.toThrow();
      expect(() => logger.info('bigint', { n: 10n })).not.toThrow();
      expect(() => logger.info('deep', { deep })).not.toThrow();
      expect(() => logger.info('after', { ok: true })).not.toThrow();
      await new Promise((r) => setImmediate(r));
      const lines = readFileSync(join(dir, 'log'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.map((l) => l.message)).toEqual(['circular', 'bigint', 'deep', 'after']);
      expect(lines[2]!.logError).toMatch(/could not be serialised/);
      expect(lines[3]!.ok).toBe(true);
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
