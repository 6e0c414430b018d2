/**
 * Rate limits counted in Redis (redis/redis-rate-limiter.ts): two routers, each with its own
 * RedisRateCounterStore (two replicas), enforce one limit together; windows end; the keys are
 * the documented ones. Then Redis goes away (a private redis-server, stopped) and comes back:
 * 'open' lets requests through and warns, 'closed' answers -41002 / 503, and both count again by
 * themselves once Redis is back.
 */
import {
  TEST_REDIS_URL,
  deleteKeysUnder,
  findRedisServer,
  freePort,
  keysUnder,
  shortLivedClient,
  startRedisServer,
  suiteNeeding,
  testKeyPrefix,
  type RedisServer,
} from '@arc/devkit';
import { installRateLimits, type RateLimitOptions, type RateLimiter } from '../../src/limits/rate-limit-hook';
import { RedisRateCounterStore } from '../../src/redis/redis-rate-limiter';
import { ArcAgent } from '../../src/router/agent';
import { ArcRouter } from '../../src/router/router';
import { recordingLogger } from '../support/recording-logger';
import { envelope, jsonReply, sleep, userMessage } from '../support/util';

/** A request must be answered within this while Redis is down (1 s command timeout at most). */
const ANSWER_WITHIN_MS = 3000;
/** Counting must resume this soon after redis-server is back (reconnect backoff is at most 2 s). */
const RECOVERY_WITHIN_MS = 10_000;

const start = (requestAgent: string) =>
  envelope('chat.start', { initialMessage: userMessage('hello') }, { requestAgent, targetAgent: 'agent-a' });

interface Replica {
  router: ArcRouter;
  limiter: RateLimiter;
}

const replicas: Replica[] = [];
async function closeReplicas(): Promise<void> {
  for (const r of replicas.splice(0)) {
    await r.limiter.close();
    await r.router.close();
  }
}
afterEach(closeReplicas);

/** A router with agent-a, its limits counted in Redis at `url` under `keyPrefix`. */
function replica(url: string, keyPrefix: string, options: RateLimitOptions): Replica {
  const router = new ArcRouter({ serverId: `replica-${replicas.length + 1}` });
  router.addAgent(new ArcAgent('agent-a').on('chat.start', () => 'hi'));
  const limiter = installRateLimits(router, { ...options, store: new RedisRateCounterStore({ url, keyPrefix, commandTimeoutMs: 1000 }) })!;
  const r = { router, limiter };
  replicas.push(r);
  return r;
}

/** The code of the answer (0 for a result), failing if it takes longer than ANSWER_WITHIN_MS. */
async function code(r: Replica, caller: string): Promise<number> {
  const t0 = performance.now();
  const reply = await jsonReply(r.router.handle(start(caller)));
  const ms = performance.now() - t0;
  if (ms > ANSWER_WITHIN_MS) throw new Error(`answered after ${Math.round(ms)} ms`);
  return reply.body.error === null ? 0 : (reply.body.error.code as number);
}

async function codes(r: Replica, caller: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await code(r, caller));
  return out;
}

suiteNeeding(['redis'])('rate limits shared in Redis by two replicas', () => {
  const prefix = testKeyPrefix('arc-rl');
  afterAll(async () => {
    await deleteKeysUnder(prefix, TEST_REDIS_URL);
  });

  it('enforce one caller limit and one agent limit together', async () => {
    const one = replica(TEST_REDIS_URL, prefix, { caller: '5/1h', agent: '8/1h' });
    const two = replica(TEST_REDIS_URL, prefix, { caller: '5/1h', agent: '8/1h' });
    expect([...(await codes(one, 'alice', 3)), ...(await codes(two, 'alice', 3))]).toEqual([0, 0, 0, 0, 0, -44007]);
    const refused = await jsonReply(one.router.handle(start('alice')));
    expect(refused.status).toBe(429);
    expect(refused.body.error.details).toMatchObject({ scope: 'caller', limit: 5, windowMs: 3_600_000 });
    // The agent has had 5: three more from bob, across both, then the agent's limit.
    expect([await code(two, 'bob'), await code(one, 'bob'), await code(two, 'bob'), await code(one, 'bob')]).toEqual([0, 0, 0, -44007]);
    expect((await jsonReply(two.router.handle(start('carol')))).body.error.details).toMatchObject({ scope: 'agent', limit: 8 });

    // The documented keys, each expiring with its window.
    const client = shortLivedClient(TEST_REDIS_URL);
    try {
      await client.connect();
      const keys = (await keysUnder(client, prefix)).sort();
      expect(keys).toEqual(
        [
          `${prefix}rl:agent:agent-a`,
          `${prefix}rl:caller:agent-a:alice`,
          `${prefix}rl:caller:agent-a:bob`,
          `${prefix}rl:caller:agent-a:carol`,
        ].sort(),
      );
      const ttl = await client.pttl(`${prefix}rl:agent:agent-a`);
      expect(ttl).toBeGreaterThan(3_500_000);
      expect(ttl).toBeLessThanOrEqual(3_600_000);
    } finally {
      client.disconnect();
    }
  });

  it('let exactly the limit through when both replicas are sent requests at once', async () => {
    const one = replica(TEST_REDIS_URL, prefix, { caller: '50/1h' });
    const two = replica(TEST_REDIS_URL, prefix, { caller: '50/1h' });
    const all = await Promise.all(Array.from({ length: 120 }, (_, i) => code(i % 2 ? one : two, 'burst')));
    expect(all.filter((c) => c === 0)).toHaveLength(50);
    expect(all.filter((c) => c === -44007)).toHaveLength(70);
  });

  it('count again once the window is over', async () => {
    const one = replica(TEST_REDIS_URL, prefix, { caller: '2/1s' });
    const two = replica(TEST_REDIS_URL, prefix, { caller: '2/1s' });
    expect([await code(one, 'dave'), await code(two, 'dave')]).toEqual([0, 0]);
    const refused = await jsonReply(two.router.handle(start('dave')));
    const { retryAfterMs } = refused.body.error.details as { retryAfterMs: number };
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(1000);
    expect(refused.retryAfter).toBe(1);
    await sleep(retryAfterMs + 50);
    expect([await code(two, 'dave'), await code(one, 'dave'), await code(two, 'dave')]).toEqual([0, 0, -44007]);
  });
});

suiteNeeding(['redis-server'])('rate limits when Redis goes away and comes back', () => {
  let redis: RedisServer | undefined;
  let port: number;

  beforeEach(async () => {
    port = await freePort();
    redis = await startRedisServer({ binary: findRedisServer(), port });
  });
  afterEach(async () => {
    await closeReplicas();
    await redis?.stop('SIGKILL');
  });

  /** Sends from fresh callers until an answer is neither a result let through unchecked nor -41002: the store counts again. */
  async function untilCounting(r: Replica, logger: ReturnType<typeof recordingLogger>): Promise<number> {
    const back = performance.now();
    while (performance.now() - back < RECOVERY_WITHIN_MS) {
      const c = await code(r, 'probe');
      if (c !== -41002 && logger.lines.some((l) => l.message.startsWith('rate limits enforced again'))) return performance.now() - back;
      await sleep(200);
    }
    throw new Error(`rate limits not counted again within ${RECOVERY_WITHIN_MS} ms of Redis coming back`);
  }

  it("'open': requests go through with one warning while Redis is down; limits hold again when it is back", async () => {
    const logger = recordingLogger();
    const r = replica(redis!.url, 'arc:', { caller: '3/1h', logger });
    expect(await codes(r, 'alice', 4)).toEqual([0, 0, 0, -44007]);

    await redis!.stop('SIGKILL');
    // alice was over her limit: this replica remembers that until the window ends, Redis or not.
    expect(await code(r, 'alice')).toBe(-44007);
    // Everyone else is let through, unchecked.
    expect(await codes(r, 'bob', 10)).toEqual(Array(10).fill(0));
    const warnings = logger.lines.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      message: expect.stringContaining('requests are let through'),
      meta: { store: 'redis', onStoreFailure: 'open' },
    });

    redis = await startRedisServer({ binary: findRedisServer(), port });
    const ms = await untilCounting(r, logger);
    // A new redis-server starts empty: bob starts from zero.
    expect(await codes(r, 'bob', 4)).toEqual([0, 0, 0, -44007]);
    console.log(`open: counting again ${Math.round(ms)} ms after redis-server was back`);
  }, 30_000);

  it("'closed': -41002 / 503 with Retry-After while Redis is down; limits hold again when it is back", async () => {
    const logger = recordingLogger();
    const r = replica(redis!.url, 'arc:', { caller: '3/1h', logger, onStoreFailure: 'closed' });
    expect(await codes(r, 'alice', 2)).toEqual([0, 0]);

    await redis!.stop('SIGKILL');
    const refused = await jsonReply(r.router.handle(start('bob')));
    expect(refused.status).toBe(503);
    expect(refused.retryAfter).toBe(1);
    expect(refused.body.error).toMatchObject({ code: -41002, details: { scope: 'caller', agentId: 'agent-a' } });
    expect(await codes(r, 'bob', 5)).toEqual(Array(5).fill(-41002));
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);

    redis = await startRedisServer({ binary: findRedisServer(), port });
    const ms = await untilCounting(r, logger);
    expect(await codes(r, 'bob', 4)).toEqual([0, 0, 0, -44007]);
    console.log(`closed: counting again ${Math.round(ms)} ms after redis-server was back`);
  }, 30_000);
});
