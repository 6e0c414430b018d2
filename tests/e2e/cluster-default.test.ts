/**
 * `npm run cluster` with no flags keeps conversations whole (issue 8, hole 11). Its finance
 * replicas sit behind nginx's round robin, so a conversation's requests land on different
 * replicas: the default must share chats (the machine's Redis if it answers, else a private
 * redis-server, else ONE finance replica). Before the fix, two in-memory finance replicas
 * failed 43-57 of 100 three-message conversations with -43001.
 *
 * Here: scripts/cluster.mjs is spawned as a user runs it (no store flag, no REDIS_URL inherited,
 * a key prefix of this run's own that is deleted afterwards), 100 conversations (chat.start,
 * chat.message, chat.end) go through nginx, mostly to finance, and none may fail; then SIGINT
 * must stop it with exit code 0 and leave none of its processes behind.
 *
 * The choice itself (which store for which machine) is checked without a cluster, for all three
 * cases, through planStore() and openStore().
 */
import { deleteKeysUnder, findRedisServer, processTree, redisProblem, stillRunning, suiteNeeding, testKeyPrefix } from '@arc/devkit';
import { DEFAULT_REDIS_URL, manifest, shortLivedClient, type ProcessEntry } from '@arc/devkit';
import { openStore, planStore } from '../../scripts/lib/cluster-store.cjs';
import { pool } from './support/conversations';
import { servedBy } from './support/distributed-checks';
import { ROOT, arcRequest, freePort, post, startProcess, userText, type Proc } from './support/processes';

describe('the store npm run cluster picks (planStore)', () => {
  const answers = { redisAnswers: true, redisServer: '/usr/bin/redis-server' };
  const installedOnly = { redisAnswers: false, redisServer: '/usr/bin/redis-server' };
  const neither = { redisAnswers: false, redisServer: null };

  it('uses the machine’s Redis when it answers on 127.0.0.1:6379', () => {
    expect(planStore({}, answers, 2)).toEqual({ store: 'redis', url: 'redis://127.0.0.1:6379', from: 'default', financeReplicas: 2 });
  });

  it('else starts a private redis-server when the program is installed', () => {
    expect(planStore({}, installedOnly, 2)).toEqual({ store: 'private-redis', binary: '/usr/bin/redis-server', financeReplicas: 2 });
  });

  it('else runs ONE finance replica in memory, and says why', () => {
    const plan = planStore({}, neither, 3);
    expect(plan).toMatchObject({ store: 'memory', from: 'fallback', financeReplicas: 1 });
    expect(plan.store === 'memory' && plan.note).toMatch(
      /no Redis answers at redis:\/\/127\.0\.0\.1:6379 and redis-server is not installed.*ONE finance replica.*3 were asked for/,
    );
  });

  it('keeps explicit choices: --redis / REDIS_URL, and --memory (warning with several finance replicas)', () => {
    for (const facts of [answers, installedOnly, neither]) {
      expect(planStore({ redisUrl: 'redis://h:1/2', from: 'flag' }, facts, 2)).toEqual({
        store: 'redis',
        url: 'redis://h:1/2',
        from: 'flag',
        financeReplicas: 2,
      });
      expect(planStore({ redisUrl: 'redis://h:1', from: 'env' }, facts, 2)).toMatchObject({ store: 'redis', from: 'env' });
      expect(planStore({ memory: true }, facts, 2)).toMatchObject({ store: 'memory', from: 'flag', financeReplicas: 2 });
    }
    expect(planStore({ memory: true }, undefined, 2)).toMatchObject({ note: expect.stringContaining('-43001') });
    expect(planStore({ memory: true }, undefined, 1)).not.toHaveProperty('note');
    expect(() => planStore({ memory: true, redisUrl: 'redis://h:1' } as never, undefined, 2)).toThrow(/contradict/);
  });

  it('the memory plans give the services an empty REDIS_URL (the in-memory store), whatever the environment says', async () => {
    const store = await openStore(planStore({}, neither, 2), { keyPrefix: 'x:' });
    expect(store.env).toEqual({ REDIS_URL: '', REDIS_KEY_PREFIX: 'x:' });
    expect(store.summary).toMatch(/^in memory, ONE finance replica: no Redis answers/);
  });

  const withRedisServer = suiteNeeding(['redis-server']);
  withRedisServer('the private redis-server plan', () => {
    it('starts redis-server on a free port with nothing saved, hands its URL to the services, and stop() ends it', async () => {
      const store = await openStore(planStore({}, { redisAnswers: false, redisServer: findRedisServer() }, 2), { keyPrefix: 'p:' });
      const redis = store.redis!;
      try {
        expect(store.env).toEqual({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'p:' });
        expect(redis.url).not.toBe(DEFAULT_REDIS_URL);
        expect(store.summary).toContain(`private redis-server at ${redis.url}`);
        const client = shortLivedClient(redis.url);
        await client.connect();
        expect(await client.config('GET', 'save')).toEqual(['save', '']);
        expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
        client.disconnect();
      } finally {
        await store.stop();
      }
      expect(redis.isRunning()).toBe(false);
      expect(await redis.exited).toMatchObject({ code: 0 }); // SIGTERM: a clean shutdown
    });
  });
});

/** The routes and agents of the mix: finance gets most conversations; the supervisor's go on to finance through nginx. */
const MIX = [
  { route: 'finance', agent: 'finance-agent', start: 'invoice please', weight: 6 },
  { route: 'hr', agent: 'hr-agent', start: 'salary question', weight: 2 },
  { route: 'support', agent: 'support-agent', start: 'hello', weight: 2 },
  { route: 'supervisor', agent: 'supervisor', start: 'invoice please', weight: 1 },
] as const;
const CONVERSATIONS = 100;
const CONCURRENCY = 8;

interface Outcome {
  route: string;
  chatId?: string;
  /** The replica that answered each request. */
  servedBy: string[];
  failure?: string;
}

/** chat.start, chat.message, chat.end on one route; the first failed step ends it. */
async function conversation(baseUrl: string, i: number): Promise<Outcome> {
  const slot = i % MIX.reduce((n, m) => n + m.weight, 0);
  let acc = 0;
  const { route, agent, start } = MIX.find((m) => slot < (acc += m.weight))!;
  const url = `${baseUrl}/arc/${route}`;
  const outcome: Outcome = { route, servedBy: [] };
  const step = async (what: string, body: object, check: (json: any) => boolean): Promise<any> => {
    const res = await post(url, JSON.stringify(body));
    outcome.servedBy.push(servedBy(res.headers));
    if (res.status !== 200 || res.json?.error || !check(res.json)) {
      outcome.failure = `${what} on ${servedBy(res.headers)}: HTTP ${res.status} ${JSON.stringify(res.json?.error ?? res.text.slice(0, 200))}`;
      return undefined;
    }
    return res.json;
  };
  const started = await step(
    'chat.start',
    arcRequest('chat.start', agent, { initialMessage: userText(start) }),
    (j) => j.result?.chat?.status === 'ACTIVE',
  );
  if (!started) return outcome;
  const chatId = (outcome.chatId = started.result.chat.chatId as string);
  const message = await step('chat.message', arcRequest('chat.message', agent, { chatId, message: userText(`follow-up ${i}`) }), (j) =>
    Boolean(j.result?.chat?.message),
  );
  if (!message) return outcome;
  await step('chat.end', arcRequest('chat.end', agent, { chatId }), (j) => j.result?.chat?.status === 'CLOSED');
  return outcome;
}

const suite = suiteNeeding(['nginx']);

suite('npm run cluster, no flags: conversations stay whole through nginx', () => {
  const keyPrefix = testKeyPrefix('arc-cluster-default');
  let cluster: Proc;
  let tree: ProcessEntry[] = [];

  beforeAll(async () => {
    const port = await freePort();
    cluster = await startProcess({
      name: 'scripts/cluster.mjs',
      command: process.execPath,
      args: [`${ROOT}/scripts/cluster.mjs`, '--no-build'],
      port,
      // As a user runs it: no store chosen, nothing inherited that would choose one.
      unsetEnv: ['REDIS_URL', ...manifest.ids.map((id) => `${id.toUpperCase()}_REPLICAS`), 'CLUSTER_HOST'],
      env: { CLUSTER_PORT: String(port), REDIS_KEY_PREFIX: keyPrefix, LOG_LEVEL: 'warn' },
      readyOutput: 'Ctrl-C stops everything.',
      timeoutMs: 60_000,
    });
    tree = processTree(cluster.child.pid!);
  }, 90_000);

  afterAll(async () => {
    await cluster?.stop('SIGKILL');
    if (redisProblem() === null) await deleteKeysUnder(keyPrefix);
  });

  it('says in its banner where the chats are, and runs two finance replicas unless it has no store to share', () => {
    const banner = cluster.output();
    const chats = banner.match(/^ {2}chats: +(.*)$/m)?.[1] ?? '';
    expect(chats).toMatch(/^in (Redis at |a private redis-server at |memory, ONE finance replica)/);
    const financeReplicas = banner.match(/^ {4}finance-\d+ /gm)?.length;
    expect(financeReplicas).toBe(chats.startsWith('in memory') ? 1 : 2);
    if (redisProblem() === null) expect(chats).toContain(`in Redis at redis://127.0.0.1:6379, the one answering there (the default`);
    console.log(`cluster default: chats ${chats}`);
  });

  it(`runs ${CONVERSATIONS} three-message conversations (finance, hr, support, supervisor) with no failure`, async () => {
    const outcomes = await pool(CONVERSATIONS, CONCURRENCY, (i) => conversation(cluster.url, i));
    const failures = outcomes.filter((o) => o.failure).map((o) => `${o.route} ${o.chatId ?? ''}: ${o.failure}`);
    expect(failures).toEqual([]);
    const finance = outcomes.filter((o) => o.route === 'finance');
    expect(finance.length).toBeGreaterThan(CONVERSATIONS / 2);
    // The point of the test: finance conversations did cross replicas (round robin), and worked.
    const crossed = finance.filter((o) => new Set(o.servedBy).size > 1).length;
    const replicas = new Set(finance.flatMap((o) => o.servedBy)).size;
    console.log(`cluster default: ${finance.length} finance conversations over ${replicas} replicas, ${crossed} of them crossed replicas`);
    if (replicas > 1) expect(crossed).toBeGreaterThan(0);
  }, 120_000);

  it('stops on SIGINT with exit code 0, leaving none of its processes behind', async () => {
    // itself, the services' replicas (one finance replica fewer with chats in memory), nginx (+ workers, + a private redis-server)
    const replicas = Object.values(manifest.replicas('cluster')).reduce((n, r) => n + r, 0);
    expect(tree.length).toBeGreaterThanOrEqual(1 + (replicas - 1) + 1);
    const exit = cluster.child.exitCode === null ? new Promise<number | null>((r) => cluster.child.once('exit', (code) => r(code))) : null;
    process.kill(cluster.child.pid!, 'SIGINT');
    expect(await exit).toBe(0);
    expect(cluster.output()).toContain('cluster: stopped');
    expect(stillRunning(tree)).toEqual([]);
    await expect(fetch(`${cluster.url}/health`)).rejects.toThrow();
  }, 30_000);
});
