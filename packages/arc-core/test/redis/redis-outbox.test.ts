/**
 * RedisOutbox against a real Redis: order per subscription under retries, subscriptions in
 * parallel, 410 and the retry window, deliveries surviving the outbox that queued them, and the
 * sweep that gives a job back to a list that lost it. "Another replica" is a second outbox with
 * connections of its own. The deliverer is a stub: what is sent over HTTP is the dispatcher's job.
 *
 * Uses REDIS_URL (default redis://127.0.0.1:6379), under a key prefix unique to each test, deleted
 * afterwards; skipped with a message when Redis does not answer (a failure in CI). The outage suite
 * runs a private redis-server (no persistence) that it can kill and start again.
 */
import { randomUUID } from 'node:crypto';
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
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { bullPrefix, deliveryJobId, webhookListKey, webhookPendingKey } from '../../src/redis/keys';
import { RedisOutbox, type RedisOutboxOptions } from '../../src/redis/redis-outbox';
import { PUSH_DELIVERY, runScriptOn } from '../../src/redis/scripts';
import type { AttemptResult, Delivery } from '../../src/webhooks/outbox';

const REDIS_URL = process.env.REDIS_URL || DEFAULT_REDIS_URL;
const FAST: RedisOutboxOptions = {
  retry: { baseDelayMs: 20, maxDelayMs: 100, windowMs: 60_000 },
  lockDurationMs: 1000,
  stalledIntervalMs: 500,
  sweepIntervalMs: 60_000, // the sweep at start only, unless a test says otherwise: it must not cover for the normal path
};
const OK: AttemptResult = { outcome: 'delivered', status: 200 };
const DOWN: AttemptResult = { outcome: 'retry', status: 503 };

type Final = 'delivered' | 'gone' | 'given-up';

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Polls `check` until it holds (bounded by the test's timeout). */
async function until(check: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 20));
}

function delivery(subscriptionId: string, n: number): Delivery {
  return {
    deliveryId: randomUUID(),
    agentId: 'outbox-agent',
    taskId: 'task-outbox',
    subscriptionId,
    callbackUrl: 'https://receiver.example/hooks',
    event: 'STATUS_CHANGE',
    body: JSON.stringify({ n }),
    queuedAt: Date.now(),
  };
}

const n = (d: Delivery): number => (JSON.parse(d.body) as { n: number }).n;

/** What a deliverer saw and what `done` was told, as `<n>#<attempt>` and `<n> <final> <attempts>`. */
function recorder(answer: (d: Delivery, attempt: number) => AttemptResult | Promise<AttemptResult>) {
  const attempts: string[] = [];
  const finals: string[] = [];
  const waiters: Array<{ count: number; d: Deferred<void> }> = [];
  return {
    attempts,
    finals,
    deliver: async (d: Delivery, attempt: number): Promise<AttemptResult> => {
      attempts.push(`${n(d)}#${attempt}`);
      return answer(d, attempt);
    },
    done: async (d: Delivery, final: Final, count: number): Promise<void> => {
      finals.push(`${n(d)} ${final} ${count}`);
      for (const w of waiters) if (finals.length >= w.count) w.d.resolve();
    },
    /** Resolves once `count` deliveries are done. */
    finished(count: number): Promise<void> {
      const d = deferred();
      if (finals.length >= count) d.resolve();
      else waiters.push({ count, d });
      return d.promise;
    },
  };
}

suiteNeeding([redisAt(REDIS_URL)])('RedisOutbox', () => {
  const prefixes: string[] = [];
  const opened: RedisOutbox[] = [];
  let keyPrefix = '';
  let admin: Redis;
  let inspect: Queue;

  function outbox(options: RedisOutboxOptions = {}): RedisOutbox {
    const o = new RedisOutbox({ url: REDIS_URL, keyPrefix, ...FAST, ...options });
    opened.push(o);
    return o;
  }

  /** Jobs of the outbox's queue not yet done. */
  async function jobs(): Promise<{ waiting: number; delayed: number; active: number }> {
    const c = await inspect.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
    return { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), delayed: c.delayed ?? 0, active: c.active ?? 0 };
  }

  beforeAll(() => {
    admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  });

  beforeEach(() => {
    keyPrefix = testKeyPrefix('arc-test-outbox');
    prefixes.push(keyPrefix);
    inspect = new Queue('webhooks', { connection: admin, prefix: bullPrefix(keyPrefix) });
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((o) => o.close()));
    await inspect.close();
  });

  afterAll(async () => {
    for (const prefix of prefixes) await deleteKeysUnder(prefix, REDIS_URL);
    admin.disconnect();
  });

  it('keeps a subscription in order under retries: later events wait for the failing one', async () => {
    const o = outbox();
    const r = recorder((d, attempt) => (n(d) === 1 && attempt <= 2 ? DOWN : OK));
    o.start(r.deliver, r.done);
    for (let i = 1; i <= 3; i++) await o.push(delivery('sub-order', i));
    await r.finished(3);
    expect(r.attempts).toEqual(['1#1', '1#2', '1#3', '2#1', '3#1']);
    expect(r.finals).toEqual(['1 delivered 3', '2 delivered 1', '3 delivered 1']);
  });

  it('does not let a failing subscription hold back another', async () => {
    const o = outbox({ retry: { baseDelayMs: 50, maxDelayMs: 200, windowMs: 60_000 } });
    const r = recorder((d) => (d.subscriptionId === 'sub-down' ? DOWN : OK));
    o.start(r.deliver, r.done);
    await o.push(delivery('sub-down', 1));
    for (let i = 2; i <= 4; i++) await o.push(delivery('sub-up', i));
    await r.finished(3);
    expect(r.finals).toEqual(['2 delivered 1', '3 delivered 1', '4 delivered 1']);
    expect(r.attempts.filter((a) => a.startsWith('1#')).length).toBeGreaterThanOrEqual(1); // tried, still waiting
    expect(await admin.llen(webhookListKey(keyPrefix, 'sub-down'))).toBe(1);
  });

  it('after a 410 (gone) drops what waits for the subscription: nothing more is sent', async () => {
    const o = outbox();
    const secondTried = deferred();
    const r = recorder((d) => {
      if (n(d) !== 1) secondTried.resolve();
      return n(d) === 1 ? { outcome: 'gone', status: 410 } : OK;
    });
    // As the dispatcher does: a 410 deactivates the subscription (a store write: it takes a while) and drops its outbox.
    o.start(r.deliver, async (d, final, count) => {
      await r.done(d, final, count);
      await Promise.race([secondTried.promise, new Promise((resolve) => setTimeout(resolve, 200))]); // room for a wrong order to show
      if (final === 'gone') await o.drop(d.subscriptionId);
    });
    for (let i = 1; i <= 3; i++) await o.push(delivery('sub-gone', i));
    await r.finished(1);
    await until(async () => (await jobs()).active === 0);
    expect(await jobs()).toEqual({ waiting: 0, delayed: 0, active: 0 });
    expect(r.attempts).toEqual(['1#1']);
    expect(r.finals).toEqual(['1 gone 1']);
    expect(await admin.exists(webhookListKey(keyPrefix, 'sub-gone'))).toBe(0);
    expect(await admin.sismember(webhookPendingKey(keyPrefix), 'sub-gone')).toBe(0);
  });

  it('gives a delivery up once it is older than the retry window, then goes on with the next', async () => {
    const o = outbox({ retry: { baseDelayMs: 20, maxDelayMs: 40, windowMs: 150 } });
    const r = recorder((d) => (n(d) === 1 ? DOWN : OK));
    o.start(r.deliver, r.done);
    await o.push(delivery('sub-window', 1));
    await o.push({ ...delivery('sub-window', 2), queuedAt: Date.now() + 60_000 }); // young enough whenever its turn comes
    await r.finished(2);
    const tries = r.attempts.filter((a) => a.startsWith('1#')).length;
    expect(tries).toBeGreaterThanOrEqual(2);
    expect(r.finals).toEqual([`1 given-up ${tries}`, '2 delivered 1']);
  });

  it('survives the outbox that queued it: another instance delivers everything, in order, after the first closed mid-retry', async () => {
    const first = outbox({ retry: { baseDelayMs: 300, maxDelayMs: 300, windowMs: 60_000 } });
    const failedOnce = deferred();
    const r1 = recorder(() => {
      failedOnce.resolve();
      return DOWN;
    });
    first.start(r1.deliver, r1.done);
    for (let i = 1; i <= 3; i++) await first.push(delivery('sub-durable', i));
    await failedOnce.promise;
    await first.close();
    expect(r1.attempts).toEqual(['1#1']);
    expect(await admin.llen(webhookListKey(keyPrefix, 'sub-durable'))).toBe(3);
    expect(await jobs()).toEqual({ waiting: 0, delayed: 1, active: 0 }); // the head's retry, waiting in Redis

    const second = outbox({ retry: { baseDelayMs: 300, maxDelayMs: 300, windowMs: 60_000 } });
    const r2 = recorder(() => OK);
    second.start(r2.deliver, r2.done);
    await r2.finished(3);
    expect(r2.attempts).toEqual(['1#2', '2#1', '3#1']);
    expect(r2.finals).toEqual(['1 delivered 2', '2 delivered 1', '3 delivered 1']);
  });

  it('the sweep at start gives a job back to a list whose head lost it', async () => {
    const producer = outbox(); // queues but never delivers
    const first = delivery('sub-lost', 1);
    await producer.push(first);
    await producer.push(delivery('sub-lost', 2));
    expect(await inspect.remove(deliveryJobId(first.deliveryId))).toBe(1); // the job is lost
    expect(await jobs()).toEqual({ waiting: 0, delayed: 0, active: 0 });

    const o = outbox();
    const r = recorder(() => OK);
    o.start(r.deliver, r.done);
    await r.finished(2);
    expect(r.finals).toEqual(['1 delivered 1', '2 delivered 1']);
  });

  it('the periodic sweep finds a list stored without its job (a crash between the two steps of push)', async () => {
    const o = outbox({ sweepIntervalMs: 200 });
    const r = recorder(() => OK);
    o.start(r.deliver, r.done);
    // One delivery through first: the sweep at start (issued before it on the same connection) is over by then.
    await o.push(delivery('sub-first', 0));
    await r.finished(1);
    const d = delivery('sub-crash', 1);
    // What a push that died before adding the job leaves behind: the list element and the SET entry.
    const list = webhookListKey(keyPrefix, 'sub-crash');
    await runScriptOn(
      admin,
      PUSH_DELIVERY,
      [list, webhookPendingKey(keyPrefix)],
      [`${d.deliveryId} ${JSON.stringify(d)}`, '600000', 'sub-crash'],
    );
    await r.finished(2);
    expect(r.finals).toEqual(['0 delivered 1', '1 delivered 1']);
  });

  it('drops an unreadable list element (not written by an outbox) and goes on with the next delivery', async () => {
    const o = outbox({ sweepIntervalMs: 200 });
    const r = recorder(() => OK);
    const list = webhookListKey(keyPrefix, 'sub-garbage');
    await runScriptOn(admin, PUSH_DELIVERY, [list, webhookPendingKey(keyPrefix)], ['garbage', '600000', 'sub-garbage']);
    await o.push(delivery('sub-garbage', 1)); // second in the list: no job until the head is gone
    o.start(r.deliver, r.done);
    await r.finished(1);
    expect(r.attempts).toEqual(['1#1']);
    expect(await admin.exists(list)).toBe(0);
  });

  it('leaves nothing behind once everything is delivered but bounded BullMQ bookkeeping', async () => {
    const o = outbox();
    const r = recorder((d, attempt) => (attempt === 1 && n(d) % 2 === 0 ? DOWN : OK));
    o.start(r.deliver, r.done);
    for (let i = 1; i <= 10; i++) await o.push(delivery(`sub-tidy-${i % 3}`, i));
    await r.finished(10);
    await o.close(); // the last jobs are completed (removed) before close resolves
    const keys = await keysUnder(admin, keyPrefix);
    const rest = keys
      .map((k) => k.slice(keyPrefix.length))
      .filter((k) => !['bull:webhooks:id', 'bull:webhooks:meta', 'bull:webhooks:events'].includes(k));
    // Nothing per delivery or subscription is left; the stalled-check marker expires by itself.
    for (const k of rest) {
      expect(k).toBe('bull:webhooks:stalled-check');
      expect(await admin.pttl(keyPrefix + k)).toBeGreaterThan(0);
    }
  });

  it('push rejects once the outbox is closed', async () => {
    const o = outbox();
    await o.close();
    await expect(o.push(delivery('sub-closed', 1))).rejects.toThrow('webhook outbox is closed');
  });
});

/** A bounded operation must settle well within this (connect wait + command timeout: 1 s at most here). */
const HANG_LIMIT_MS = 3000;

suiteNeeding(['redis-server'])('RedisOutbox while Redis is down', () => {
  let server: RedisServer | undefined;
  let o: RedisOutbox | undefined;

  afterAll(async () => {
    await o?.close();
    await server?.stop('SIGKILL');
  });

  it('fails push fast while Redis is down, and delivers again once it is back', async () => {
    const port = await freePort();
    server = await startRedisServer({ binary: findRedisServer(), port });
    o = new RedisOutbox({ url: server.url, ...FAST, commandTimeoutMs: 500, closeTimeoutMs: 1000 });
    const r = recorder(() => OK);
    o.start(r.deliver, r.done);
    await o.push(delivery('sub-outage', 1));
    await r.finished(1);

    await server.stop('SIGKILL');
    server = undefined;
    await expect(within(HANG_LIMIT_MS, o.push(delivery('sub-outage', 2)))).rejects.toThrow(/^Redis webhook outbox push failed/);

    server = await startRedisServer({ binary: findRedisServer(), port }); // empty: nothing was saved
    const third = delivery('sub-outage', 3);
    for (;;) {
      // The client reconnects with a backoff: the first pushes after Redis is back may still find it away.
      const pushed = await o.push(third).then(
        () => true,
        () => false,
      );
      if (pushed) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await r.finished(2); // the worker reconnected by itself
    expect(r.finals).toEqual(['1 delivered 1', '3 delivered 1']);
  });
});

/** `op`, or a rejection saying it hung when it has not settled within `ms`. */
function within<T>(ms: number, op: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hung: not settled within ${ms} ms`)), ms);
  });
  return Promise.race([op, hung]).finally(() => clearTimeout(timer));
}
