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
});
