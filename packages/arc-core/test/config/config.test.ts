import { ConfigError, loadConfig } from '../../src/config/config';

const defaults = { PORT: 8001, SERVER_ID: 'finance-server' };

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies defaults when the environment sets nothing', () => {
    expect(loadConfig({}, defaults)).toEqual({
      PORT: 8001,
      SERVER_ID: 'finance-server',
      HOST: '0.0.0.0',
      LOG_LEVEL: 'info',
      BODY_LIMIT_BYTES: 10 * 1024 * 1024,
      MAX_CONCURRENT_PER_AGENT: 100,
      HANDLER_TIMEOUT_MS: 120000,
      REDIS_KEY_PREFIX: 'arc:',
      REDIS_TIMEOUT_MS: 1000,
      SHUTDOWN_GRACE_MS: 10000,
    });
  });

  it('reads and coerces the variables', () => {
    const cfg = loadConfig(
      {
        PORT: '9000',
        HOST: '127.0.0.1',
        SERVER_ID: 'replica-2',
        LOG_LEVEL: 'debug',
        BODY_LIMIT_BYTES: '2048',
        MAX_CONCURRENT_PER_AGENT: '4',
        HANDLER_TIMEOUT_MS: '1500',
        REDIS_URL: 'redis://127.0.0.1:6380/2',
        REDIS_KEY_PREFIX: 'team-a:',
        REDIS_TIMEOUT_MS: '3000',
        SHUTDOWN_GRACE_MS: '2500',
      },
      defaults,
    );
    expect(cfg).toEqual({
      PORT: 9000,
      HOST: '127.0.0.1',
      SERVER_ID: 'replica-2',
      LOG_LEVEL: 'debug',
      BODY_LIMIT_BYTES: 2048,
      MAX_CONCURRENT_PER_AGENT: 4,
      HANDLER_TIMEOUT_MS: 1500,
      REDIS_URL: 'redis://127.0.0.1:6380/2',
      REDIS_KEY_PREFIX: 'team-a:',
      REDIS_TIMEOUT_MS: 3000,
      SHUTDOWN_GRACE_MS: 2500,
    });
    expect(typeof cfg.PORT).toBe('number');
    expect(typeof cfg.BODY_LIMIT_BYTES).toBe('number');
  });

  it('rejects a REDIS_URL that is not a redis:// URL, naming it', () => {
    expect(() => loadConfig({ REDIS_URL: 'http://localhost:6379' }, defaults)).toThrow(
      /REDIS_URL="http:\/\/localhost:6379" must match pattern/,
    );
  });

  it('rejects a REDIS_TIMEOUT_MS below 10 ms or that is not a number, naming it', () => {
    expect(() => loadConfig({ REDIS_TIMEOUT_MS: '5' }, defaults)).toThrow(/REDIS_TIMEOUT_MS="5" must be >= 10/);
    expect(() => loadConfig({ REDIS_TIMEOUT_MS: '1s' }, defaults)).toThrow(/REDIS_TIMEOUT_MS="1s" must be integer/);
  });

  it('accepts PORT=0 (OS-chosen port)', () => {
    expect(loadConfig({ PORT: '0' }, defaults).PORT).toBe(0);
  });

  it('treats an empty variable as unset', () => {
    const cfg = loadConfig({ PORT: '', LOG_LEVEL: '' }, defaults);
    expect(cfg.PORT).toBe(8001);
    expect(cfg.LOG_LEVEL).toBe('info');
  });

  it('ignores unrelated variables and returns a frozen object', () => {
    const cfg = loadConfig({ PATH: '/bin', REDIS_URL: 'redis://x' }, defaults);
    expect(Object.keys(cfg)).not.toContain('PATH');
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  it.each([
    ['PORT', 'abc', /PORT="abc"/],
    ['PORT', '70000', /PORT="70000"/],
    ['PORT', '80.5', /PORT="80.5"/],
    ['PORT', '-1', /PORT="-1"/],
    ['LOG_LEVEL', 'verbose', /LOG_LEVEL="verbose"/],
    ['LOG_LEVEL', 'INFO', /LOG_LEVEL="INFO"/],
    ['BODY_LIMIT_BYTES', '10', /BODY_LIMIT_BYTES="10"/],
    ['MAX_CONCURRENT_PER_AGENT', '0', /MAX_CONCURRENT_PER_AGENT="0"/],
    ['HANDLER_TIMEOUT_MS', 'soon', /HANDLER_TIMEOUT_MS="soon"/],
    ['SERVER_ID', 'has spaces', /SERVER_ID="has spaces"/],
  ])('a bad %s=%s throws ConfigError naming the variable and value', (name, value, pattern) => {
    const err = configError(() => loadConfig({ [name]: value }, defaults));
    expect(err.name).toBe('ConfigError');
    expect(err.message).toMatch(/^Invalid configuration: /);
    expect(err.message).toMatch(pattern);
  });

  it('lists every bad variable at once', () => {
    const err = configError(() => loadConfig({ PORT: 'x', LOG_LEVEL: 'loud' }, defaults));
    expect(err.message).toContain('PORT="x"');
    expect(err.message).toContain('LOG_LEVEL="loud"');
  });

  it('names the allowed values of an enum', () => {
    const err = configError(() => loadConfig({ LOG_LEVEL: 'trace' }, defaults));
    expect(err.message).toContain('LOG_LEVEL="trace" must be equal to one of the allowed values');
  });
});
