/**
 * Runs the TaskStore contract against MemoryTaskStore and RedisTaskStore, plus what only the
 * Redis store has: its key layout, NOSCRIPT recovery, a bounded retry, and its failure modes.
 *
 * The Redis suite uses REDIS_URL (default redis://127.0.0.1:6379) under a key prefix unique to
 * this run, and deletes its keys afterwards. When Redis does not answer PING the suite is skipped
 * with a message, except in CI, where that is a failure (@arc/devkit's suiteNeeding).
 */
import {
  DEFAULT_REDIS_URL,
  deleteKeysUnder,
  findRedisServer,
  freePort,
  keysUnder,
  redisAt,
  startRedisServer,
  suiteNeeding,
  testKeyPrefix,
  type RedisServer,
} from '@arc/devkit';
import { Redis } from 'ioredis';
import { redisClientOptions } from '../../src/redis/redis-connection';
import { RedisTaskStore } from '../../src/redis/redis-task-store';
import { MemoryTaskStore } from '../../src/state/memory-task-store';
import type { TaskRecord, TaskStore } from '../../src/state/task-store';
import { describeTaskStoreContract } from './task-store.contract';

describeTaskStoreContract(
  'MemoryTaskStore',
  (options) => new MemoryTaskStore(options),
  (store) => store.dispose(),
);

const REDIS_URL = process.env.REDIS_URL || DEFAULT_REDIS_URL;

function task(agentId: string, taskId: string, extra: Partial<TaskRecord> = {}): TaskRecord {
  const at = new Date().toISOString();
  return {
    taskId,
    agentId,
    requestAgent: 'tester',
    status: 'SUBMITTED',
    priority: 'NORMAL',
    createdAt: at,
    updatedAt: at,
    messages: [],
    artifacts: [],
    attempt: 0,
    subscriptions: [],
    version: 1,
    ...extra,
  };
}

suiteNeeding([redisAt(REDIS_URL)])('RedisTaskStore', () => {
  const keyPrefix = testKeyPrefix('arc-test-tasks');
  let admin: Redis;

  beforeAll(() => {
    admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  });

  afterAll(async () => {
    await deleteKeysUnder(keyPrefix, REDIS_URL);
    expect(await keysUnder(admin, keyPrefix)).toEqual([]);
    await admin.quit();
  });

  describeTaskStoreContract(
    'RedisTaskStore',
    (options) => new RedisTaskStore({ url: REDIS_URL, keyPrefix, ...options }),
    (store) => store.dispose(),
    {
      sharedBackend: true,
      ttlMs: (store: TaskStore, agentId, taskId) => admin.pttl((store as RedisTaskStore).keyOf(agentId, taskId)),
    },
  );

  describe('RedisTaskStore specifics', () => {
    let store: RedisTaskStore;
    beforeEach(() => {
      store = new RedisTaskStore({ url: REDIS_URL, keyPrefix });
    });
    afterEach(() => store.dispose());

    it('writes one hash per task at <prefix>task:<agentId>:<taskId>: json, version, status', async () => {
      const t = task('layout-agent', 'task-1', { metadata: { a: 1 } });
      await store.create(t);
      const key = `${keyPrefix}task:layout-agent:task-1`;
      expect(store.keyOf('layout-agent', 'task-1')).toBe(key);
      expect(await admin.type(key)).toBe('hash');
      expect(await admin.hgetall(key)).toStrictEqual({ json: JSON.stringify(t), version: '1', status: 'SUBMITTED' });
      const outcome = await store.update('layout-agent', 'task-1', (r) => ({ ...r, status: 'WORKING' }));
      if (!outcome.found) throw new Error('task not found');
      expect(await admin.hgetall(key)).toStrictEqual({ json: JSON.stringify(outcome.task), version: '2', status: 'WORKING' });
      expect(await keysUnder(admin, `${keyPrefix}task:layout-agent:`)).toEqual([key]);
    });

    it('escapes ":" and "%" in ids', () => {
      expect(store.keyOf('a:b', 'c%d')).toBe(`${keyPrefix}task:a%3Ab:c%25d`);
    });

    it('recovers when Redis forgot the Lua scripts (NOSCRIPT → EVAL)', async () => {
      // SCRIPT FLUSH is server-wide; it only costs other clients one EVAL each.
      await admin.script('FLUSH');
      await expect(store.create(task('noscript-agent', 'ns'))).resolves.toBe(true);
      await admin.script('FLUSH');
      await expect(store.update('noscript-agent', 'ns', (t) => ({ ...t, status: 'WORKING' }))).resolves.toMatchObject({
        found: true,
        changed: true,
        task: { status: 'WORKING', version: 2 },
      });
    });

    it('retries a lost compare-and-set, and gives up after maxUpdateAttempts with a clear error', async () => {
      // The "other writer" uses the store's own connection, from inside the mutation: its write
      // reaches Redis before the store's compare-and-set, so every attempt conflicts, in order.
      const client = new Redis(REDIS_URL, redisClientOptions());
      const stubborn = new RedisTaskStore({ client, keyPrefix, maxUpdateAttempts: 3 });
      const key = stubborn.keyOf('cas-agent', 'c1');
      const writes: Array<Promise<unknown>> = [];
      const otherWriter = (current: TaskRecord): void => {
        const other = structuredClone(current);
        other.version += 1;
        other.messages.push({ role: 'agent', parts: [{ type: 'TextPart', content: `other-${other.version}` }] });
        writes.push(client.hset(key, 'json', JSON.stringify(other), 'version', String(other.version)));
      };
      try {
        await stubborn.create(task('cas-agent', 'c1'));
        let calls = 0;
        const failing = stubborn.update('cas-agent', 'c1', (t) => {
          calls += 1;
          otherWriter(t);
          return { ...t, status: 'WORKING' };
        });
        await expect(failing).rejects.toThrow(/^Redis task store update failed: the task changed under 3 attempts in a row/);
        await Promise.all(writes);
        expect(calls).toBe(3);
        // Nothing of ours was written; everything of the other writer was.
        const stored = await store.get('cas-agent', 'c1');
        expect(stored?.status).toBe('SUBMITTED');
        expect(stored?.version).toBe(4);

        // One conflict, then success: the second attempt sees the other writer's change and keeps it.
        calls = 0;
        const outcome = await stubborn.update('cas-agent', 'c1', (t) => {
          calls += 1;
          if (calls === 1) otherWriter(t);
          t.messages.push({ role: 'agent', parts: [{ type: 'TextPart', content: 'mine' }] });
          return t;
        });
        await Promise.all(writes);
        expect(calls).toBe(2);
        if (!outcome.found) throw new Error('task not found');
        expect(outcome.previous.version).toBe(5);
        expect(outcome.task.version).toBe(6);
        expect(outcome.task.messages.map((m) => (m.parts[0] as { content: string }).content)).toStrictEqual([
          'other-2',
          'other-3',
          'other-4',
          'other-5',
          'mine',
        ]);
        expect(await store.get('cas-agent', 'c1')).toStrictEqual(outcome.task);
      } finally {
        await stubborn.dispose();
        await client.quit();
      }
    });

    it('a wrong-type key or a malformed record is an error naming the store and operation', async () => {
      await admin.set(store.keyOf('wrongtype-agent', 'x'), 'not a hash');
      await expect(store.get('wrongtype-agent', 'x')).rejects.toThrow(/^Redis task store get failed: WRONGTYPE/);
      await expect(store.update('wrongtype-agent', 'x', (t) => t)).rejects.toThrow(/^Redis task store update failed: WRONGTYPE/);
      await expect(store.create(task('wrongtype-agent', 'x'))).resolves.toBe(false);
      await admin.hset(store.keyOf('malformed-agent', 'y'), 'json', '{"no":"version"', 'version', '1');
      await expect(store.get('malformed-agent', 'y')).rejects.toThrow(/^Redis task store get failed: malformed task record/);
      await admin.hset(store.keyOf('malformed-agent', 'z'), 'json', '[1]', 'version', '1');
      await expect(store.update('malformed-agent', 'z', (t) => t)).rejects.toThrow(
        /^Redis task store update failed: malformed task record/,
      );
    });

    it('dispose leaves an injected client open and does not quit it', async () => {
      const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
      const injected = new RedisTaskStore({ client, keyPrefix });
      await injected.ping();
      await injected.dispose();
      await expect(injected.ping()).rejects.toThrow(/^Redis task store ping: the store is disposed/);
      await expect(client.ping()).resolves.toBe('PONG');
      await client.quit();
    });

    it('refuses url and client together, a non-positive retention and a bad attempt count', () => {
      const client = new Redis(REDIS_URL, { lazyConnect: true });
      expect(() => new RedisTaskStore({ client, url: REDIS_URL })).toThrow(TypeError);
      client.disconnect();
      expect(() => new RedisTaskStore({ url: REDIS_URL, retentionSeconds: 0 })).toThrow(RangeError);
      expect(() => new RedisTaskStore({ url: REDIS_URL, maxUpdateAttempts: 0 })).toThrow(RangeError);
    });
  });
});

/** A bounded operation must settle well within this (1 s connect wait + 1 s command timeout at most). */
const HANG_LIMIT_MS = 3000;

/** How an operation settled: its error, or 'resolved' / 'hung' (not settled within HANG_LIMIT_MS). */
async function settle(op: Promise<unknown>): Promise<Error | 'resolved' | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((r) => {
    timer = setTimeout(() => r('hung'), HANG_LIMIT_MS);
  });
  try {
    return await Promise.race([op.then(() => 'resolved' as const), hung]);
  } catch (err) {
    return err as Error;
  } finally {
    clearTimeout(timer);
  }
}

suiteNeeding(['redis-server'])('RedisTaskStore when Redis hangs or is down', () => {
  let redis: RedisServer | undefined;
  let store: RedisTaskStore;

  beforeAll(async () => {
    redis = await startRedisServer({ binary: findRedisServer(), port: await freePort() });
    store = new RedisTaskStore({ url: redis.url, keyPrefix: 'outage:' });
    await store.create(task('outage-agent', 't1'));
  });

  afterAll(async () => {
    await store?.dispose();
    await redis?.stop('SIGKILL');
  });

  const operations = (): Array<[string, () => Promise<unknown>]> => [
    ['create', () => store.create(task('outage-agent', 't2'))],
    ['get', () => store.get('outage-agent', 't1')],
    ['update', () => store.update('outage-agent', 't1', (t) => ({ ...t, status: 'WORKING' }))],
    ['ping', () => store.ping()],
  ];

  it('a hung Redis (SIGSTOP) makes every operation time out instead of hanging; they work after SIGCONT', async () => {
    redis?.kill('SIGSTOP');
    try {
      for (const [name, op] of operations()) {
        const outcome = await settle(op());
        expect(outcome).toBeInstanceOf(Error);
        expect((outcome as Error).message).toMatch(new RegExp(`^Redis task store ${name} failed: .*(timed out|no answer)`));
      }
    } finally {
      redis?.kill('SIGCONT');
    }
    await expect(store.ping()).resolves.toBeUndefined();
    expect((await store.get('outage-agent', 't1'))?.taskId).toBe('t1');
  });

  it('while Redis is down every operation rejects at once, naming the store and operation', async () => {
    await redis?.stop('SIGKILL');
    for (const [name, op] of operations()) {
      const outcome = await settle(op());
      expect(outcome).toBeInstanceOf(Error);
      expect((outcome as Error).message).toMatch(new RegExp(`^Redis task store ${name} failed: `));
      // Refused because the connection is down (nothing queued), not after a timeout.
      expect((outcome as Error).message).not.toMatch(/timed out|no answer/);
    }
  });
});
