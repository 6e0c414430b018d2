/**
 * Where `npm run cluster` keeps its chats. nginx sends each request to any finance replica, so
 * with several replicas the chats must be shared, or a follow-up that lands on another replica
 * gets -43001. The choice, in order:
 *
 *   --memory                      per-replica memory, as asked (a warning with > 1 finance replica)
 *   --redis [url] / REDIS_URL     that Redis (it must answer, or the cluster does not start)
 *   (default) Redis answers on 127.0.0.1:6379          use it
 *   (default) else redis-server is installed            a private one on a free port, nothing saved,
 *                                                       stopped with the cluster
 *   (default) else                                      memory, ONE finance replica, saying why
 *
 * planStore() decides from facts (pure, unit-tested); probeDefaults() gathers the facts;
 * openStore() carries a plan out and gives the services' environment and a stop().
 */
'use strict';
const { DEFAULT_REDIS_URL, findRedisServer, redactUrl, redisProblemAsync, startRedisServer } = require('@arc/devkit');

const DEFAULT_KEY_PREFIX = 'arc:';

/**
 * The plan. `choice`: { memory?: true } | { redisUrl, from: 'flag' | 'env' } | {} (the default);
 * `facts` (needed only for the default): { redisAnswers: boolean, redisServer: string | null };
 * `financeReplicas`: what was asked for.
 *
 * Returns { store: 'redis', url, from: 'flag' | 'env' | 'default', financeReplicas }
 *       | { store: 'private-redis', binary, financeReplicas }
 *       | { store: 'memory', from: 'flag' | 'fallback', financeReplicas, note?: string }
 */
function planStore(choice, facts, financeReplicas) {
  if (choice.memory && choice.redisUrl) throw new Error('--memory and --redis / REDIS_URL contradict each other: choose one');
  if (choice.memory) {
    const note =
      financeReplicas > 1
        ? `--memory with ${financeReplicas} finance replicas: each keeps its own chats, so a follow-up that nginx sends to another replica gets -43001`
        : undefined;
    return { store: 'memory', from: 'flag', financeReplicas, ...(note ? { note } : {}) };
  }
  if (choice.redisUrl) return { store: 'redis', url: choice.redisUrl, from: choice.from, financeReplicas };
  if (!facts) throw new Error('planStore: the default needs the facts (probeDefaults())');
  if (facts.redisAnswers) return { store: 'redis', url: DEFAULT_REDIS_URL, from: 'default', financeReplicas };
  if (facts.redisServer) return { store: 'private-redis', binary: facts.redisServer, financeReplicas };
  return {
    store: 'memory',
    from: 'fallback',
    financeReplicas: 1,
    note:
      `no Redis answers at ${DEFAULT_REDIS_URL} and redis-server is not installed, so ONE finance replica runs ` +
      `(chats in its memory, conversations stay whole${financeReplicas > 1 ? `; ${financeReplicas} were asked for` : ''}). ` +
      'Install redis-server, or pass --redis <url>, to run several; --memory runs several anyway, each with its own chats.',
  };
}

/** The facts the default needs: does the machine's Redis answer, is redis-server installed. */
async function probeDefaults({ timeoutMs = 1000 } = {}) {
  return { redisAnswers: (await redisProblemAsync(DEFAULT_REDIS_URL, timeoutMs)) === null, redisServer: findRedisServer() };
}

/**
 * Carries out a plan: starts the private redis-server if the plan says so. Resolves
 * { env (REDIS_URL, REDIS_KEY_PREFIX for every service), summary (one line for the banner),
 *   redis (the private server or undefined), stop() }.
 */
async function openStore(plan, { keyPrefix = DEFAULT_KEY_PREFIX } = {}) {
  const keys = `keys ${keyPrefix}chat:<agent>:<chat>`;
  if (plan.store === 'memory') {
    const summary =
      plan.from === 'flag'
        ? `in memory, per replica (--memory)${plan.note ? `: ${plan.note}` : ''}`
        : `in memory, ONE finance replica: ${plan.note}`;
    // REDIS_URL '' = the in-memory store, whatever the environment says.
    return { env: { REDIS_URL: '', REDIS_KEY_PREFIX: keyPrefix }, summary, redis: undefined, stop: async () => undefined };
  }
  if (plan.store === 'redis') {
    const why = plan.from === 'default' ? ', the one answering there (the default; --memory keeps chats per replica)' : '';
    return {
      env: { REDIS_URL: plan.url, REDIS_KEY_PREFIX: keyPrefix },
      summary: `in Redis at ${redactUrl(plan.url)}${why}, ${keys}: any replica serves any chat`,
      redis: undefined,
      stop: async () => undefined,
    };
  }
  if (plan.store === 'private-redis') {
    const redis = await startRedisServer({ binary: plan.binary });
    return {
      env: { REDIS_URL: redis.url, REDIS_KEY_PREFIX: keyPrefix },
      summary:
        `in a private redis-server at ${redis.url} (pid ${redis.pid}, nothing saved, stopped with the cluster) as no Redis ` +
        `answers at ${DEFAULT_REDIS_URL}, ${keys}: any replica serves any chat`,
      redis,
      stop: async () => {
        await redis.stop('SIGTERM', 3000);
      },
    };
  }
  throw new Error(`openStore: unknown plan ${JSON.stringify(plan)}`);
}

module.exports = { DEFAULT_KEY_PREFIX, planStore, probeDefaults, openStore };
