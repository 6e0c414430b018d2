/**
 * `npm run token` (scripts/token.mjs): run as a user runs it, its output decoded and verified
 * with jose: only the token on stdout, the claims (sub, scope with bundles expanded, iat/exp
 * from --ttl, iss/aud from options or AUTH_ISSUER/AUTH_AUDIENCE, or from --env-file), the HS256
 * signature with the secret; --help; clear errors (no secret, a short one, no scopes, a bad
 * option, a missing env file) with nothing on stdout.
 *
 * Then the deployment's promise (issue 10): `npm run cluster -- --env-file docker/security.env`
 * turns auth on in every replica, its banner names the variables but never shows a value, an
 * unauthenticated call through nginx gets -44001 / 401 with a Bearer challenge, and a token from
 * `npm run -s token -- --env-file docker/security.env` is served.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { ROOT, deleteKeysUnder, redisProblem, suiteNeeding, testKeyPrefix } from '@arc/devkit';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { arcRequest, freePort, post, startProcess, userText, type Proc } from './support/processes';

const SECRET = 'dev-secret-0123456789-abcdefghijklmnop';
const ALL = ['arc.chat.controller', 'arc.task.controller', 'arc.task.notify', 'arc.agent.caller', 'arc.agent.receiver'];

/** Runs the script with a clean auth environment plus `env`. */
function token(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const base = { ...process.env };
  for (const name of ['AUTH_JWT_SECRET', 'AUTH_ISSUER', 'AUTH_AUDIENCE']) delete base[name];
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'token.mjs'), ...args], {
    cwd: ROOT,
    env: { ...base, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const scopesOf = (jwt: string): string[] => String(decodeJwt(jwt).scope).split(' ');

describe('npm run token', () => {
  it('prints only a token: HS256, signed with AUTH_JWT_SECRET, with the scopes, subject and lifetime asked for', async () => {
    const before = Math.floor(Date.now() / 1000);
    const r = token(['--scopes', 'arc.chat.controller arc.agent.caller', '--sub', 'my-app', '--ttl', '600'], { AUTH_JWT_SECRET: SECRET });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const jwt = r.stdout.trim();
    expect(decodeProtectedHeader(jwt)).toEqual({ alg: 'HS256', typ: 'JWT' });
    const claims = decodeJwt(jwt);
    expect(claims).toMatchObject({ sub: 'my-app', scope: 'arc.chat.controller arc.agent.caller' });
    expect(claims.iss).toBeUndefined();
    expect(claims.aud).toBeUndefined();
    expect(typeof claims.jti).toBe('string');
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.exp! - claims.iat!).toBe(600);
    const { payload } = await jwtVerify(jwt, Buffer.from(SECRET, 'utf8'), { algorithms: ['HS256'] });
    expect(payload.sub).toBe('my-app');
    await expect(jwtVerify(jwt, Buffer.from(`${SECRET}x`, 'utf8'))).rejects.toThrow(/signature/);
  });

  it('expands the bundles (all, chat, tasks, notify), mixed with names, without duplicates; default sub and ttl', () => {
    const run = (scopes: string): string => token(['--scopes', scopes], { AUTH_JWT_SECRET: SECRET }).stdout.trim();
    expect(scopesOf(run('all'))).toEqual(ALL);
    expect(scopesOf(run('chat'))).toEqual(['arc.chat.controller', 'arc.agent.caller']);
    expect(scopesOf(run('tasks'))).toEqual(['arc.task.controller', 'arc.agent.caller']);
    expect(scopesOf(run('chat,tasks notify'))).toEqual([
      'arc.chat.controller',
      'arc.agent.caller',
      'arc.task.controller',
      'arc.task.notify',
      'arc.agent.receiver',
    ]);
    expect(scopesOf(run('chat reports.read'))).toEqual(['arc.chat.controller', 'arc.agent.caller', 'reports.read']);
    const claims = decodeJwt(run('chat'));
    expect(claims.sub).toBe('arc-dev-client');
    expect(claims.exp! - claims.iat!).toBe(3600);
  });

  it('--secret, --issuer, --audience; issuer and audience default to AUTH_ISSUER / AUTH_AUDIENCE (first entry)', async () => {
    const given = token(['--scopes', 'chat', '--secret', SECRET, '--issuer', 'arc-dev', '--audience', 'arc-api']).stdout.trim();
    await expect(jwtVerify(given, Buffer.from(SECRET), { issuer: 'arc-dev', audience: 'arc-api' })).resolves.toBeDefined();
    const fromEnv = token(['--scopes', 'chat'], {
      AUTH_JWT_SECRET: SECRET,
      AUTH_ISSUER: ' https://idp.dev , other',
      AUTH_AUDIENCE: 'arc',
    }).stdout.trim();
    expect(decodeJwt(fromEnv)).toMatchObject({ iss: 'https://idp.dev', aud: 'arc' });
  });

  it('--env-file: secret, issuer and audience from the file docker compose and the cluster take (over the environment)', async () => {
    const file = parseEnv(readFileSync(join(ROOT, 'docker', 'security.env'), 'utf8'));
    const r = token(['--env-file', 'docker/security.env', '--scopes', 'chat'], { AUTH_JWT_SECRET: SECRET, AUTH_ISSUER: 'elsewhere' });
    expect(r.stderr).toBe('');
    const jwt = r.stdout.trim();
    const { payload } = await jwtVerify(jwt, Buffer.from(file.AUTH_JWT_SECRET!, 'utf8'), {
      issuer: file.AUTH_ISSUER,
      audience: file.AUTH_AUDIENCE,
      algorithms: ['HS256'],
    });
    expect(payload.scope).toBe('arc.chat.controller arc.agent.caller');
    // An option still beats the file.
    const given = token(['--env-file', 'docker/security.env', '--scopes', 'chat', '--issuer', 'mine']).stdout.trim();
    expect(decodeJwt(given).iss).toBe('mine');
  });

  it('a missing --env-file fails, naming the file, with nothing on stdout', () => {
    // Node itself looks at a script's `--env-file` argument (nodejs/node#54232): it stops with
    // exit code 9 ("node: <file>: not found") before the script runs; a Node without that bug
    // gets the script's own message.
    const r = token(['--scopes', 'chat', '--env-file', 'nope.env'], { AUTH_JWT_SECRET: SECRET });
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/nope\.env: (not found|no such file)/);
  });

  it('works through npm (`npm run -s token`): the token alone on stdout', () => {
    const r = spawnSync('npm', ['run', '-s', 'token', '--', '--scopes', 'all'], {
      cwd: ROOT,
      env: { ...process.env, AUTH_JWT_SECRET: SECRET },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(0);
    expect(scopesOf(r.stdout.trim())).toEqual(ALL);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('--help prints the usage with an example', () => {
    const r = token(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: npm run -s token -- --scopes <scopes>');
    expect(r.stdout).toContain('TOKEN=$(npm run -s token -- --scopes');
  });

  it.each<[string, string[], Record<string, string>, RegExp]>([
    ['no secret', ['--scopes', 'chat'], {}, /no secret: set AUTH_JWT_SECRET/],
    ['a short secret', ['--scopes', 'chat'], { AUTH_JWT_SECRET: 'short' }, /at least 32 bytes/],
    ['no --scopes', [], { AUTH_JWT_SECRET: SECRET }, /--scopes is required/],
    ['an empty --scopes', ['--scopes', ' '], { AUTH_JWT_SECRET: SECRET }, /--scopes is empty/],
    ['a bad scope name', ['--scopes', 'chat "quoted"'], { AUTH_JWT_SECRET: SECRET }, /is not a scope name/],
    ['a bad --ttl', ['--scopes', 'chat', '--ttl', '1h'], { AUTH_JWT_SECRET: SECRET }, /--ttl must be a whole number/],
    ['an unknown option', ['--scopes', 'chat', '--scope', 'x'], { AUTH_JWT_SECRET: SECRET }, /Unknown option '--scope'/],
  ])('%s → exit 2, a clear message on stderr, nothing on stdout', (_name, args, env, message) => {
    const r = token(args, env);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('--help');
  });
});

const withNginx = suiteNeeding(['nginx']);

withNginx('npm run cluster -- --env-file docker/security.env: auth on in every replica, dev tokens served', () => {
  const settings = parseEnv(readFileSync(join(ROOT, 'docker', 'security.env'), 'utf8'));
  // The cluster's default store is the machine's Redis when it answers (rate-limit counters
  // too): this run's keys get a prefix of their own, deleted afterwards.
  const keyPrefix = testKeyPrefix('arc-cluster-env-file');
  let cluster: Proc;
  let devToken = '';

  const chatStart = (requestAgent: string): object => ({
    ...arcRequest('chat.start', 'finance-agent', { initialMessage: userText('invoice please') }),
    requestAgent,
  });
  const withToken = (jwt: string): Record<string, string> => ({ 'Content-Type': 'application/arc+json', Authorization: `Bearer ${jwt}` });

  beforeAll(async () => {
    const port = await freePort();
    cluster = await startProcess({
      name: 'npm run cluster -- --env-file docker/security.env',
      command: 'npm',
      args: ['run', 'cluster', '--', '--env-file', 'docker/security.env', '--no-build'],
      port,
      // As a user runs it: nothing inherited that would choose a store or set auth another way.
      unsetEnv: ['REDIS_URL', 'FINANCE_REPLICAS', 'HR_REPLICAS', 'SUPPORT_REPLICAS', 'CLUSTER_HOST', ...Object.keys(settings)],
      env: { CLUSTER_PORT: String(port), REDIS_KEY_PREFIX: keyPrefix, LOG_LEVEL: 'info' },
      readyOutput: 'Ctrl-C stops everything.',
      timeoutMs: 90_000,
    });
    const r = spawnSync(
      'npm',
      ['run', '-s', 'token', '--', '--env-file', 'docker/security.env', '--scopes', 'chat', '--sub', 'env-file-test'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(r.status).toBe(0);
    devToken = r.stdout.trim();
  }, 150_000);

  afterAll(async () => {
    if (cluster !== undefined && cluster.child.exitCode === null) {
      // Ctrl-C: SIGINT to the process group, as a terminal sends it; the cluster stops its children.
      process.kill(-cluster.child.pid!, 'SIGINT');
      for (let i = 0; i < 150 && !cluster.output().includes('cluster: stopped'); i++) await new Promise((r) => setTimeout(r, 100));
      await cluster.stop();
    }
    if (redisProblem() === null) await deleteKeysUnder(keyPrefix);
  }, 30_000);

  it('names the file and its variables in the banner, never a value', () => {
    const banner = cluster.output();
    expect(banner).toContain(`settings: ${Object.keys(settings).join(', ')} from docker/security.env`);
    expect(Object.keys(settings)).toEqual(
      expect.arrayContaining([
        'AUTH_JWT_SECRET',
        'AUTH_ISSUER',
        'AUTH_AUDIENCE',
        'RATE_LIMIT_CALLER',
        'RATE_LIMIT_AGENT',
        'RATE_LIMIT_REDIS_FAILURE',
      ]),
    );
    expect(banner).not.toContain(settings.AUTH_JWT_SECRET);
  });

  it('refuses an unauthenticated call through nginx: -44001, HTTP 401, a Bearer challenge', async () => {
    const res = await post(`${cluster.url}/arc/finance`, chatStart('env-file-test'));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="arc"/);
    expect(res.json.error).toMatchObject({ code: -44001, details: { reason: 'missing_token' } });
  });

  it('every replica of every service has auth on (direct calls without a token get 401)', async () => {
    const replicas = [...cluster.output().matchAll(/^ {4}((finance|hr|support)-\d+) +(http:\/\/\S+)/gm)].map((m) => ({
      name: m[1]!,
      service: m[2]!,
      url: m[3]!,
    }));
    expect(new Set(replicas.map((r) => r.service))).toEqual(new Set(['finance', 'hr', 'support']));
    const agents: Record<string, string> = { finance: 'finance-agent', hr: 'hr-agent', support: 'support-agent' };
    for (const { name, service, url } of replicas) {
      const agent = agents[service]!;
      const body = { ...arcRequest('chat.start', agent, { initialMessage: userText('hello') }), requestAgent: 'env-file-test' };
      const refused = await post(`${url}/arc`, body);
      expect([name, refused.status, refused.json?.error?.code]).toEqual([name, 401, -44001]);
      const served = await post(`${url}/arc`, body, withToken(devToken));
      expect([name, served.status, served.json?.error]).toEqual([name, 200, null]);
    }
  });

  it('serves a call with a token from `npm run -s token -- --env-file docker/security.env` (issuer and audience checked)', async () => {
    const claims = decodeJwt(devToken);
    expect(claims).toMatchObject({ iss: settings.AUTH_ISSUER, aud: settings.AUTH_AUDIENCE, sub: 'env-file-test' });
    const res = await post(`${cluster.url}/arc/finance`, chatStart('env-file-test'), withToken(devToken));
    expect(res.status).toBe(200);
    expect(res.json.error).toBeNull();
    expect(res.json.result.chat.status).toBe('ACTIVE');
    // A token for another audience is refused: the file's AUTH_AUDIENCE reached the services.
    const other = token(['--scopes', 'chat', '--issuer', settings.AUTH_ISSUER!, '--audience', 'someone-else'], {
      AUTH_JWT_SECRET: settings.AUTH_JWT_SECRET!,
    }).stdout.trim();
    const refused = await post(`${cluster.url}/arc/finance`, chatStart('env-file-test'), withToken(other));
    expect(refused.status).toBe(401);
    expect(refused.json.error).toMatchObject({ code: -44001, details: { reason: 'wrong_audience' } });
  });

  it('logs no token and no secret', () => {
    const output = cluster.output();
    expect(output).toContain('auth refused');
    expect(output).not.toContain(devToken);
    expect(output).not.toContain(devToken.split('.')[2]!);
    expect(output).not.toContain(settings.AUTH_JWT_SECRET);
  });
});
