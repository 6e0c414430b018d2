import { generateKeyPairSync } from 'node:crypto';
import { authOptionsFromConfig } from '../../src/auth/auth-config';
import { ConfigError, allowedWebhookHosts, loadConfig } from '../../src/config/config';

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
      HEADERS_TIMEOUT_MS: 10000,
      REQUEST_TIMEOUT_MS: 30000,
      KEEP_ALIVE_TIMEOUT_MS: 65000,
      REDIS_KEY_PREFIX: 'arc:',
      REDIS_TIMEOUT_MS: 1000,
      SHUTDOWN_GRACE_MS: 10000,
      MAX_METADATA_BYTES: 16384,
      CHAT_IDLE_TTL_SECONDS: 86400,
      MAX_ACTIVE_CHATS_PER_AGENT: 100000,
      SSE_HEARTBEAT_MS: 15000,
      AUTH_CLOCK_TOLERANCE_SECONDS: 30,
      AUTH_BIND_REQUEST_AGENT: false,
      AUTH_AGENT_CLAIM: 'sub',
      AUTH_PROTECT_AGENT_INFO: true,
      AUTH_TOKEN_CACHE_SIZE: 10000,
      AUTH_TOKEN_CACHE_SECONDS: 60,
      AUTH_JWKS_COOLDOWN_SECONDS: 30,
      AUTH_JWKS_CACHE_SECONDS: 600,
      TASK_CONCURRENCY: 4,
      TASK_TIMEOUT_MS: 600000,
      TASK_MAX_ATTEMPTS: 3,
      TASK_RETENTION_SECONDS: 604800,
      TASK_MAX_BYTES: 1048576,
      MAX_TASKS_PER_AGENT: 100000,
      TASK_LOCK_MS: 30000,
      WEBHOOK_ALLOWED_HOSTS: '',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: false,
      WEBHOOK_TIMEOUT_MS: 10000,
      WEBHOOK_RETRY_BASE_MS: 1000,
      WEBHOOK_RETRY_WINDOW_SECONDS: 900,
      RATE_LIMIT_REDIS_FAILURE: 'open',
      METRICS_ENABLED: true,
      AUTH_PROTECT_METRICS: true,
      AGENT_CALL_TIMEOUT_MS: 10000,
      AGENT_CALL_MAX_HOPS: 8,
      INSPECTOR: 'off',
    });
  });

  it('INSPECTOR: off by default, on where the deployment defaults it on, the environment deciding; on or off only', () => {
    expect(loadConfig({}, defaults).INSPECTOR).toBe('off');
    expect(loadConfig({}, { ...defaults, INSPECTOR: 'on' }).INSPECTOR).toBe('on');
    expect(loadConfig({ INSPECTOR: 'off' }, { ...defaults, INSPECTOR: 'on' }).INSPECTOR).toBe('off');
    expect(loadConfig({ INSPECTOR: 'on' }, defaults).INSPECTOR).toBe('on');
    expect(loadConfig({ INSPECTOR: '' }, { ...defaults, INSPECTOR: 'on' }).INSPECTOR).toBe('on');
    for (const bad of ['yes', 'ON', 'true', '1']) {
      expect(configError(() => loadConfig({ INSPECTOR: bad }, defaults)).message).toBe(
        `Invalid configuration: INSPECTOR=${JSON.stringify(bad)} must be on or off (the web inspector at /inspector)`,
      );
    }
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
        HEADERS_TIMEOUT_MS: '2000',
        REQUEST_TIMEOUT_MS: '4000',
        KEEP_ALIVE_TIMEOUT_MS: '5000',
        REDIS_URL: 'redis://127.0.0.1:6380/2',
        REDIS_KEY_PREFIX: 'team-a:',
        REDIS_TIMEOUT_MS: '3000',
        SHUTDOWN_GRACE_MS: '2500',
        MAX_METADATA_BYTES: '0',
        CHAT_IDLE_TTL_SECONDS: '60',
        MAX_ACTIVE_CHATS_PER_AGENT: '10',
        SSE_HEARTBEAT_MS: '0',
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
      HEADERS_TIMEOUT_MS: 2000,
      REQUEST_TIMEOUT_MS: 4000,
      KEEP_ALIVE_TIMEOUT_MS: 5000,
      REDIS_URL: 'redis://127.0.0.1:6380/2',
      REDIS_KEY_PREFIX: 'team-a:',
      REDIS_TIMEOUT_MS: 3000,
      SHUTDOWN_GRACE_MS: 2500,
      MAX_METADATA_BYTES: 0,
      CHAT_IDLE_TTL_SECONDS: 60,
      MAX_ACTIVE_CHATS_PER_AGENT: 10,
      SSE_HEARTBEAT_MS: 0,
      AUTH_CLOCK_TOLERANCE_SECONDS: 30,
      AUTH_BIND_REQUEST_AGENT: false,
      AUTH_AGENT_CLAIM: 'sub',
      AUTH_PROTECT_AGENT_INFO: true,
      AUTH_TOKEN_CACHE_SIZE: 10000,
      AUTH_TOKEN_CACHE_SECONDS: 60,
      AUTH_JWKS_COOLDOWN_SECONDS: 30,
      AUTH_JWKS_CACHE_SECONDS: 600,
      TASK_CONCURRENCY: 4,
      TASK_TIMEOUT_MS: 600000,
      TASK_MAX_ATTEMPTS: 3,
      TASK_RETENTION_SECONDS: 604800,
      TASK_MAX_BYTES: 1048576,
      MAX_TASKS_PER_AGENT: 100000,
      TASK_LOCK_MS: 30000,
      WEBHOOK_ALLOWED_HOSTS: '',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: false,
      WEBHOOK_TIMEOUT_MS: 10000,
      WEBHOOK_RETRY_BASE_MS: 1000,
      WEBHOOK_RETRY_WINDOW_SECONDS: 900,
      RATE_LIMIT_REDIS_FAILURE: 'open',
      METRICS_ENABLED: true,
      AUTH_PROTECT_METRICS: true,
      AGENT_CALL_TIMEOUT_MS: 10000,
      AGENT_CALL_MAX_HOPS: 8,
      INSPECTOR: 'off',
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

  it('rejects HTTP timeouts out of range, naming them', () => {
    const err = configError(() =>
      loadConfig({ HEADERS_TIMEOUT_MS: '50', REQUEST_TIMEOUT_MS: '0', KEEP_ALIVE_TIMEOUT_MS: 'long' }, defaults),
    );
    expect(err.message).toContain('HEADERS_TIMEOUT_MS="50" must be >= 100');
    expect(err.message).toContain('REQUEST_TIMEOUT_MS="0" must be >= 100');
    expect(err.message).toContain('KEEP_ALIVE_TIMEOUT_MS="long" must be integer');
    expect(() => loadConfig({ HEADERS_TIMEOUT_MS: '600001' }, defaults)).toThrow(/HEADERS_TIMEOUT_MS="600001" must be <= 600000/);
  });

  it('rejects a HEADERS_TIMEOUT_MS longer than REQUEST_TIMEOUT_MS, naming both', () => {
    expect(() => loadConfig({ HEADERS_TIMEOUT_MS: '20000', REQUEST_TIMEOUT_MS: '15000' }, defaults)).toThrow(
      /^Invalid configuration: HEADERS_TIMEOUT_MS="20000" must be <= REQUEST_TIMEOUT_MS \(15000\)$/,
    );
    expect(() => loadConfig({ HEADERS_TIMEOUT_MS: '40000' }, defaults)).toThrow(
      /HEADERS_TIMEOUT_MS="40000" must be <= REQUEST_TIMEOUT_MS \(30000\)/,
    );
  });

  it('an unset HEADERS_TIMEOUT_MS follows a REQUEST_TIMEOUT_MS shorter than its default', () => {
    const cfg = loadConfig({ REQUEST_TIMEOUT_MS: '5000' }, defaults);
    expect(cfg.HEADERS_TIMEOUT_MS).toBe(5000);
    expect(cfg.REQUEST_TIMEOUT_MS).toBe(5000);
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

  it('reads the task and webhook variables; the allowed hosts as a list; booleans from true/false', () => {
    const cfg = loadConfig(
      {
        TASK_CONCURRENCY: '8',
        TASK_TIMEOUT_MS: '5000',
        TASK_MAX_ATTEMPTS: '5',
        WEBHOOK_SECRET: 'sixteen-chars-at-least',
        WEBHOOK_ALLOWED_HOSTS: 'hooks.internal, 10.0.0.7,[fd00::1]',
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      },
      defaults,
    );
    expect(cfg).toMatchObject({ TASK_CONCURRENCY: 8, TASK_TIMEOUT_MS: 5000, TASK_MAX_ATTEMPTS: 5, WEBHOOK_ALLOW_PRIVATE_NETWORKS: true });
    expect(allowedWebhookHosts(cfg)).toEqual(['hooks.internal', '10.0.0.7', '[fd00::1]']);
    expect(allowedWebhookHosts(loadConfig({}, defaults))).toEqual([]);
  });

  it('never prints WEBHOOK_SECRET, even when it is refused', () => {
    const err = configError(() => loadConfig({ WEBHOOK_SECRET: 'short-secret' }, defaults));
    expect(err.message).toMatch(/WEBHOOK_SECRET=\(hidden\) must NOT have fewer than 16 characters/);
    expect(err.message).not.toContain('short-secret');
  });

  it('reads the rate limits: off unless set, the Redis-failure choice open by default', () => {
    const off = loadConfig({}, defaults);
    expect([off.RATE_LIMIT_CALLER, off.RATE_LIMIT_AGENT, off.RATE_LIMIT_REDIS_FAILURE]).toEqual([undefined, undefined, 'open']);
    const cfg = loadConfig({ RATE_LIMIT_CALLER: '100/1s', RATE_LIMIT_AGENT: '6000/1m', RATE_LIMIT_REDIS_FAILURE: 'closed' }, defaults);
    expect(cfg).toMatchObject({ RATE_LIMIT_CALLER: '100/1s', RATE_LIMIT_AGENT: '6000/1m', RATE_LIMIT_REDIS_FAILURE: 'closed' });
    expect(loadConfig({ RATE_LIMIT_CALLER: '' }, defaults).RATE_LIMIT_CALLER).toBeUndefined();
  });

  it.each(['100', '100/1', '0/1s', '100/0s', '100/1ms', '1.5/1s', '100/25h', '100 per second', '-5/1s'])(
    'refuses RATE_LIMIT_CALLER=%s and RATE_LIMIT_AGENT with the expected form in the message',
    (value) => {
      const err = configError(() => loadConfig({ RATE_LIMIT_CALLER: value, RATE_LIMIT_AGENT: value }, defaults));
      for (const name of ['RATE_LIMIT_CALLER', 'RATE_LIMIT_AGENT']) {
        expect(err.message).toContain(`${name}=${JSON.stringify(value)} `);
      }
      expect(err.message).toContain('<points>/<duration>, e.g. 100/1s');
    },
  );

  it('refuses a RATE_LIMIT_REDIS_FAILURE other than open or closed', () => {
    expect(() => loadConfig({ RATE_LIMIT_REDIS_FAILURE: 'fail-open' }, defaults)).toThrow(
      /RATE_LIMIT_REDIS_FAILURE="fail-open" must be equal to one of the allowed values/,
    );
  });

  it('refuses a bad task or webhook setting, naming it', () => {
    expect(() => loadConfig({ TASK_MAX_ATTEMPTS: '0' }, defaults)).toThrow(/TASK_MAX_ATTEMPTS="0" must be >= 1/);
    expect(() => loadConfig({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'maybe' }, defaults)).toThrow(
      /WEBHOOK_ALLOW_PRIVATE_NETWORKS="maybe" must be boolean/,
    );
    expect(() => loadConfig({ WEBHOOK_ALLOWED_HOSTS: 'a b' }, defaults)).toThrow(/WEBHOOK_ALLOWED_HOSTS="a b" must match pattern/);
  });
});

describe('loadConfig: auth variables (AUTH_*)', () => {
  const SECRET = 'dev-secret-0123456789abcdef-0123456789';
  const RSA_PEM = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();

  it('auth is off unless a key source is set', () => {
    const cfg = loadConfig({}, defaults);
    expect([cfg.AUTH_JWT_SECRET, cfg.AUTH_JWT_PUBLIC_KEY, cfg.AUTH_JWKS_URL]).toEqual([undefined, undefined, undefined]);
    expect(authOptionsFromConfig(cfg)).toBeUndefined();
  });

  it('reads a secret and the claims checks into installAuth options', () => {
    const cfg = loadConfig(
      {
        AUTH_JWT_SECRET: SECRET,
        AUTH_ISSUER: 'https://issuer.example, https://other.example',
        AUTH_AUDIENCE: 'arc-services',
        AUTH_ALGORITHMS: 'HS256,HS512',
        AUTH_CLOCK_TOLERANCE_SECONDS: '5',
        AUTH_BIND_REQUEST_AGENT: 'true',
        AUTH_AGENT_CLAIM: 'agent_id',
        AUTH_TOKEN_CACHE_SIZE: '0',
        AUTH_TOKEN_CACHE_SECONDS: '30',
      },
      defaults,
    );
    expect(authOptionsFromConfig(cfg)).toEqual({
      secret: SECRET,
      publicKey: undefined,
      jwksUrl: undefined,
      algorithms: ['HS256', 'HS512'],
      issuer: ['https://issuer.example', 'https://other.example'],
      audience: ['arc-services'],
      clockToleranceSeconds: 5,
      bindRequestAgent: true,
      agentClaim: 'agent_id',
      cacheSize: 0,
      cacheMaxAgeMs: 30000,
      jwksCooldownMs: 30000,
      jwksCacheMaxAgeMs: 600000,
    });
  });

  it('accepts a PEM public key (with \\n escapes) or a JWKS URL', () => {
    expect(loadConfig({ AUTH_JWT_PUBLIC_KEY: RSA_PEM.replace(/\n/g, '\\n') }, defaults).AUTH_JWT_PUBLIC_KEY).toContain('BEGIN PUBLIC KEY');
    const jwks = loadConfig({ AUTH_JWKS_URL: 'https://idp.example/.well-known/jwks.json', AUTH_JWKS_COOLDOWN_SECONDS: '10' }, defaults);
    expect(authOptionsFromConfig(jwks)).toMatchObject({ jwksUrl: 'https://idp.example/.well-known/jwks.json', jwksCooldownMs: 10000 });
  });

  it('refuses two key sources, naming them', () => {
    expect(() => loadConfig({ AUTH_JWT_SECRET: SECRET, AUTH_JWKS_URL: 'https://idp.example/jwks' }, defaults)).toThrow(
      'AUTH_JWT_SECRET and AUTH_JWKS_URL are all set: set exactly one key source (AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY, AUTH_JWKS_URL)',
    );
  });

  it('refuses auth settings without a key source (the service would run open)', () => {
    expect(() => loadConfig({ AUTH_ISSUER: 'https://issuer.example', AUTH_BIND_REQUEST_AGENT: 'true' }, defaults)).toThrow(
      'AUTH_ISSUER, AUTH_BIND_REQUEST_AGENT are set but auth is off: set one of AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY, AUTH_JWKS_URL',
    );
    expect(() => loadConfig({ AUTH_AUDIENCE: '' }, defaults)).not.toThrow();
  });

  it('never prints AUTH_JWT_SECRET; a short one is refused', () => {
    const err = configError(() => loadConfig({ AUTH_JWT_SECRET: 'too-short-secret' }, defaults));
    expect(err.message).toMatch(/AUTH_JWT_SECRET=\(hidden\) must NOT have fewer than 32 characters/);
    expect(err.message).not.toContain('too-short-secret');
  });

  it.each([
    [{ AUTH_ALGORITHMS: 'none' }, 'AUTH_ALGORITHMS: "none" (unsigned tokens) is never accepted'],
    [
      { AUTH_ALGORITHMS: 'RS256' },
      'AUTH_ALGORITHMS: RS256 does not fit AUTH_JWT_SECRET (an HMAC secret), which verifies HS256, HS384, HS512 only',
    ],
    [{ AUTH_ALGORITHMS: 'HS257' }, 'AUTH_ALGORITHMS: unknown algorithm "HS257"'],
  ])('refuses AUTH_ALGORITHMS that do not fit the key: %j', (env, message) => {
    expect(() => loadConfig({ AUTH_JWT_SECRET: SECRET, ...env }, defaults)).toThrow(message);
  });

  it('refuses HS algorithms with a public key, a private key as the public key, and a URL that is not http(s)', () => {
    expect(() => loadConfig({ AUTH_JWT_PUBLIC_KEY: RSA_PEM, AUTH_ALGORITHMS: 'HS256' }, defaults)).toThrow(
      'AUTH_ALGORITHMS: HS256 does not fit the rsa key of AUTH_JWT_PUBLIC_KEY, which verifies RS256, RS384, RS512, PS256, PS384, PS512 only',
    );
    const privatePem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => loadConfig({ AUTH_JWT_PUBLIC_KEY: privatePem }, defaults)).toThrow('AUTH_JWT_PUBLIC_KEY holds a private key');
    expect(() => loadConfig({ AUTH_JWT_PUBLIC_KEY: 'not a key' }, defaults)).toThrow(
      'AUTH_JWT_PUBLIC_KEY is not a PEM public key or certificate',
    );
    expect(() => loadConfig({ AUTH_JWKS_URL: 'ftp://idp.example/jwks' }, defaults)).toThrow(
      /AUTH_JWKS_URL="ftp:\/\/idp.example\/jwks" must match pattern/,
    );
  });

  it('refuses out-of-range numbers, naming them', () => {
    expect(() => loadConfig({ AUTH_JWT_SECRET: SECRET, AUTH_CLOCK_TOLERANCE_SECONDS: '600' }, defaults)).toThrow(
      /AUTH_CLOCK_TOLERANCE_SECONDS="600" must be <= 300/,
    );
    expect(() => loadConfig({ AUTH_JWT_SECRET: SECRET, AUTH_TOKEN_CACHE_SECONDS: '0' }, defaults)).toThrow(
      /AUTH_TOKEN_CACHE_SECONDS="0" must be >= 1/,
    );
  });
});
