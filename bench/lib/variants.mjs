/**
 * The variant rows (plan.mjs): what their servers are started with, the bearer token the auth
 * row sends, and the checks that a variant's server really runs with its setting, so that a row
 * cannot silently measure an open server, one without a limiter, metrics that are not there or
 * a supervisor that answers by itself.
 *
 *   auth       AUTH_JWT_SECRET = a random secret of this session (64 hex characters; nothing
 *              else of auth is set: HS256, no issuer or audience, the default token cache).
 *              The token is signed here with jose, as scripts/token.mjs signs a dev token
 *              (resolved from packages/arc-core, as @arc/devkit resolves ioredis): subject
 *              `bench` (the requestAgent of every request), scope `arc.chat.controller
 *              arc.agent.caller` (what chat.start needs, ARC-PROTOCOL.md §10), valid for 6 h.
 *              Checked on the server before the warm-up and again after the last run: no token
 *              → 401 -44001 with a Bearer challenge; a token without the chat scope → 403
 *              -44003; the token → a chat.start success.
 *   ratelimit  RATE_LIMIT_CALLER = RATE_LIMIT_AGENT = RATE_LIMIT_SETTING (1,000,000 a second:
 *              nothing is refused, any 429 counts as an error of the run). Checked: in memory,
 *              a probe server of the same build started with RATE_LIMIT_CALLER=2/1h refuses
 *              the third request with 429 -44007 (the variables are honoured); with Redis, the
 *              counter keys appear under the target's key prefix during its warm-up (the
 *              counters live in Redis, shared by the replicas).
 *   metrics-off  METRICS_ENABLED = false. Checked when it starts: GET /metrics of the plain
 *              target (its base, metrics on by default) is a 200 with the ARC request counter,
 *              this server's a 404; after the last run, the plain target's counter of
 *              finance-agent's chat.starts is at least the requests its runs measured (metrics
 *              were recorded all along).
 *   supervisor no setting (targets.mjs starts the gateway's supervisor replica). Checked before
 *              the warm-up: one chat.start to `supervisor` comes back as supervisor's success
 *              whose message is finance-agent's answer (START_REPLY): routed, and the hop made.
 *
 * Neither the token nor the secret is ever printed or written to the JSON.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { keysUnder, shortLivedClient } from '@arc/devkit';
import { AGENT, REQUEST_AGENT, START_REPLY, START_TEXT, chatStartBody, checkReply, get, post } from './arc.mjs';
import { RATE_LIMIT_SETTING } from './plan.mjs';
import { ROOT, startTarget, targetKeyPrefix } from './targets.mjs';

/** What chat.start needs (scripts/token.mjs's `chat` bundle). */
export const CHAT_SCOPES = ['arc.chat.controller', 'arc.agent.caller'];
/** A valid token that lacks the chat scope (the `tasks` bundle). */
const OTHER_SCOPES = ['arc.task.controller', 'arc.agent.caller'];
const TOKEN_TTL = '6h';

async function loadJose() {
  const require = createRequire(join(ROOT, 'packages', 'arc-core', 'package.json'));
  return import(pathToFileURL(require.resolve('jose')).href);
}

async function signToken(secret, scopes) {
  const { SignJWT } = await loadJose();
  return new SignJWT({ scope: scopes.join(' ') })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(REQUEST_AGENT)
    .setIssuedAt()
    .setExpirationTime(TOKEN_TTL)
    .setJti(randomUUID())
    .sign(Buffer.from(secret, 'utf8'));
}

/**
 * The session's variant settings: `env(variant)` for the servers, `headers(variant)` for every
 * request of the variant's runs, and `describe()` for the JSON (no token, no secret).
 */
export async function variantSettings() {
  const secret = randomBytes(32).toString('hex');
  const token = await signToken(secret, CHAT_SCOPES);
  const otherScopeToken = await signToken(secret, OTHER_SCOPES);
  return {
    env(variant) {
      if (variant === 'auth') return { AUTH_JWT_SECRET: secret };
      if (variant === 'ratelimit') return { RATE_LIMIT_CALLER: RATE_LIMIT_SETTING, RATE_LIMIT_AGENT: RATE_LIMIT_SETTING };
      if (variant === 'metrics-off') return { METRICS_ENABLED: 'false' };
      return {};
    },
    headers: (variant) => (variant === 'auth' ? { authorization: `Bearer ${token}` } : undefined),
    tokens: { valid: token, otherScope: otherScopeToken },
    describe: () => ({
      auth: { env: ['AUTH_JWT_SECRET'], secretBytes: 64, alg: 'HS256', subject: REQUEST_AGENT, scopes: CHAT_SCOPES, ttl: TOKEN_TTL },
      ratelimit: { RATE_LIMIT_CALLER: RATE_LIMIT_SETTING, RATE_LIMIT_AGENT: RATE_LIMIT_SETTING },
      'metrics-off': { METRICS_ENABLED: 'false' },
      supervisor: { targetAgent: 'supervisor', text: START_TEXT, expectedReply: START_REPLY, routedTo: AGENT },
    }),
  };
}

/** The ARC error code of a reply body, or null. */
function errorCode(body) {
  try {
    return JSON.parse(body)?.error?.code ?? null;
  } catch {
    return null;
  }
}

/**
 * Whether the auth variant's server at `url` enforces auth: resolves { ok, checks: [{ what,
 * expected, status, code, ok }] } (no token in it).
 */
export async function checkAuthEnforced(url, tokens) {
  const body = chatStartBody('auth-check');
  const checks = [];
  const none = await post(url, body);
  const challenge = String(none.headers['www-authenticate'] ?? '');
  checks.push({
    what: 'no token',
    expected: '401 -44001 + WWW-Authenticate: Bearer',
    status: none.status,
    code: errorCode(none.body),
    ok: none.status === 401 && errorCode(none.body) === -44001 && challenge.startsWith('Bearer '),
  });
  const other = await post(url, body, { authorization: `Bearer ${tokens.otherScope}` });
  checks.push({
    what: 'token without arc.chat.controller',
    expected: '403 -44003',
    status: other.status,
    code: errorCode(other.body),
    ok: other.status === 403 && errorCode(other.body) === -44003,
  });
  const valid = await post(url, body, { authorization: `Bearer ${tokens.valid}` });
  const problem = valid.status === 200 ? checkReply(valid.body, 'chat.start', { id: 'auth-check' }) : `HTTP ${valid.status}`;
  checks.push({
    what: 'the bench token',
    expected: '200, a chat.start success',
    status: valid.status,
    code: errorCode(valid.body),
    ok: problem === null,
  });
  return { ok: checks.every((c) => c.ok), checks };
}

/**
 * Whether this build honours RATE_LIMIT_CALLER with the in-memory counters: a probe server of
 * `base` started with RATE_LIMIT_CALLER=2/1h must refuse the third chat.start (429 -44007).
 * Resolves { ok, statuses, code, pid, startupMs }; the probe is stopped.
 */
export async function probeMemoryRateLimit(base, runTag, extraEnv) {
  const probe = await startTarget(base, 'memory', null, `${runTag}-rl-probe`, { ...extraEnv, RATE_LIMIT_CALLER: '2/1h' });
  try {
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await post(probe.url, chatStartBody(`rl-probe-${i}`)));
    const last = answers[2];
    const retryAfter = Number(last.headers['retry-after']);
    return {
      ok:
        answers[0].status === 200 && answers[1].status === 200 && last.status === 429 && errorCode(last.body) === -44007 && retryAfter > 0,
      statuses: answers.map((a) => a.status),
      code: errorCode(last.body),
      pid: probe.processes[0].pid,
      startupMs: probe.processes[0].startupMs,
    };
  } finally {
    await probe.stop();
  }
}

/**
 * Watches the rate-limit counters of a Redis variant target while load runs on it (its
 * warm-up): the keys under its `<prefix>rl:`, polled every 50 ms. A counter of a 1 s window
 * lives 1 s, so it is looked for during the load, not after. `stop()` resolves the most keys
 * seen at once (the caller's and the agent's counter: 2).
 */
export function watchCounterKeys(redis, target) {
  const client = shortLivedClient(redis.url, 2000);
  const prefix = `${targetKeyPrefix(redis, target)}rl:`;
  let most = 0;
  let stopped = false;
  const polling = (async () => {
    await client.connect();
    while (!stopped) {
      most = Math.max(most, (await keysUnder(client, prefix)).length);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    async stop() {
      stopped = true;
      try {
        await polling;
      } finally {
        await client.quit().catch(() => client.disconnect());
      }
      return most;
    },
  };
}

/** The ARC request counter of prom-client's text format (arc-core metrics/). */
const REQUEST_COUNTER = 'arc_requests_total';

/**
 * Whether /metrics is on where it should be: `onServer` (the plain target, its server's base
 * URL) must answer GET /metrics with 200 and the ARC request counter, `offServer` (started with
 * METRICS_ENABLED=false) with 404. Resolves { ok, checks: [{ what, expected, status, ok }] }.
 */
export async function checkMetrics(onServer, offServer) {
  const on = await get(`${onServer}/metrics`);
  const off = await get(`${offServer}/metrics`);
  const checks = [
    {
      what: 'metrics on (the plain target)',
      expected: `200 with ${REQUEST_COUNTER}`,
      status: on.status,
      ok: on.status === 200 && on.body.includes(`# TYPE ${REQUEST_COUNTER} counter`),
    },
    { what: 'METRICS_ENABLED=false', expected: '404', status: off.status, ok: off.status === 404 },
  ];
  return { ok: checks.every((c) => c.ok), checks };
}

/** The successful requests of `method` to `agent` that the server at `server` has counted (its /metrics), or null. */
export async function countedRequests(server, agent, method) {
  const { status, body } = await get(`${server}/metrics`);
  if (status !== 200) return null;
  const labels = [`agent="${agent}"`, `method="${method}"`, 'code="ok"'];
  const line = body.split('\n').find((l) => l.startsWith(`${REQUEST_COUNTER}{`) && labels.every((x) => l.includes(x)));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/**
 * Whether chat.start to `agent` at `url` is answered as the supervisor rows expect: an ARC
 * success from `agent` whose message is finance-agent's reply (routed and handed on, one hop).
 * Resolves { ok, status, responseAgent, reply, problem } (for the JSON).
 */
export async function checkAgentReply(url, agent) {
  const { status, body } = await post(url, chatStartBody('agent-check', agent));
  const problem = status === 200 ? checkReply(body, 'chat.start', { id: 'agent-check', agent, text: START_REPLY }) : `HTTP ${status}`;
  let msg = null;
  try {
    msg = JSON.parse(body);
  } catch {
    // the problem says so
  }
  return {
    ok: problem === null,
    status,
    responseAgent: msg?.responseAgent ?? null,
    reply: msg?.result?.chat?.message?.parts?.[0]?.content ?? null,
    problem,
  };
}
