/**
 * BullMQTaskQueue against a real Redis: priorities, the per-agent limit, retries, cancel reaching
 * another replica, hand-over at shutdown, and a replica SIGKILLed mid-run whose run another one
 * takes up. "Another replica" is a second queue instance with connections of its own, or (for the
 * crash) a child process running the built dist: run `npx turbo run build --filter=@arc/core` first.
 *
 * Uses REDIS_URL (default redis://127.0.0.1:6379) under a key prefix unique to this run, deleted
 * afterwards; skipped with a message when Redis does not answer (a failure in CI). The outage suite
 * runs a private redis-server (no persistence) that it can kill and start again.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEFAULT_REDIS_URL,
  deleteKeysUnder,
  findRedisServer,
  freePort,
  keysUnder,
  redisAt,
  startProcess,
  startRedisServer,
  suiteNeeding,
  testKeyPrefix,
  type ManagedProcess,
  type RedisServer,
} from '@arc/devkit';
import { Redis } from 'ioredis';
import { BullMQTaskQueue, type BullMQTaskQueueOptions } from '../../src/redis/bullmq-task-queue';
import type { TaskPriority } from '../../src/protocol/types';
import type { TaskRun } from '../../src/tasks/task-queue';

const REDIS_URL = process.env.REDIS_URL || DEFAULT_REDIS_URL;
const DIST = join(__dirname, '..', '..', 'dist', 'redis', 'bullmq-task-queue.js');
/** Short locks so that a dead replica's run is taken up within a few seconds. */
const FAST: BullMQTaskQueueOptions = { lockDurationMs: 1000, stalledIntervalMs: 500, retryDelayMs: 20, maxRetryDelayMs: 200 };

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Resolves with the signal's reason once it aborts. */
function aborted(signal: AbortSignal): Promise<unknown> {
  if (signal.aborted) return Promise.resolve(signal.reason);
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(signal.reason), { once: true }));
}

const run = (agentId: string, taskId: string, priority: TaskPriority = 'NORMAL'): TaskRun => ({ agentId, taskId, priority });

suiteNeeding([redisAt(REDIS_URL)])('BullMQTaskQueue', () => {
  const keyPrefix = testKeyPrefix('arc-test-taskq');
  const opened: BullMQTaskQueue[] = [];
  const children: ManagedProcess[] = [];

  /** A queue instance: a replica of its own (own connections). */
  function replica(options: BullMQTaskQueueOptions = {}): BullMQTaskQueue {
    const q = new BullMQTaskQueue({ url: REDIS_URL, keyPrefix, ...FAST, ...options });
    opened.push(q);
    return q;
  }

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((q) => q.close()));
    await Promise.all(children.splice(0).map((c) => c.stop('SIGKILL')));
  });

  afterAll(async () => {
    await deleteKeysUnder(keyPrefix, REDIS_URL);
  });

  it('hands runs to the processor in priority order, first in first out within one', async () => {
    const q = replica({ agents: ['prio-agent'], concurrency: 1 });
    const queued: Array<[string, TaskPriority]> = [
      ['t-low', 'LOW'],
      ['t-normal-1', 'NORMAL'],
      ['t-high', 'HIGH'],
      ['t-urgent', 'URGENT'],
      ['t-normal-2', 'NORMAL'],
    ];
    for (const [taskId, priority] of queued) await q.enqueue(run('prio-agent', taskId, priority));
    const seen: TaskRun[] = [];
    const all = deferred();
    q.start(async (r) => {
      seen.push(r);
      if (seen.length === queued.length) all.resolve();
    });
    await all.promise;
    expect(seen.map((r) => r.taskId)).toEqual(['t-urgent', 't-high', 't-normal-1', 't-normal-2', 't-low']);
    expect(seen[0]).toEqual(run('prio-agent', 't-urgent', 'URGENT'));
  });

  it('runs at most `concurrency` runs of one agent at once, and a busy agent does not hold back another', async () => {
    const q = replica({ agents: ['busy-agent', 'other-agent'], concurrency: 2 });
    let running = 0;
    let most = 0;
    let done = 0;
    const twoRunning = deferred();
    const allDone = deferred();
    const release = deferred();
    const otherRan = deferred<string>();
    q.start(async (r) => {
      if (r.agentId === 'other-agent') return otherRan.resolve(r.taskId);
      running++;
      most = Math.max(most, running);
      if (running === 2) twoRunning.resolve();
      await release.promise;
      running--;
      if (++done === 5) allDone.resolve();
    });
    for (let i = 1; i <= 5; i++) await q.enqueue(run('busy-agent', `busy-${i}`));
    await twoRunning.promise;
    await q.enqueue(run('other-agent', 'other-1'));
    expect(await otherRan.promise).toBe('other-1');
    // Redis agrees: two runs taken, three left waiting.
    expect(await q.counts('busy-agent')).toEqual({ waiting: 3, delayed: 0, active: 2 });
    release.resolve();
    await allDone.promise;
    expect(most).toBe(2);
  });

  it('tries a rejected run again (with backoff), and completes it when the processor resolves', async () => {
    const q = replica({ agents: ['retry-agent'] });
    const calls: number[] = [];
    const succeeded = deferred();
    q.start(async () => {
      calls.push(Date.now());
      if (calls.length < 3) throw new Error('transient');
      succeeded.resolve();
    });
    await q.enqueue(run('retry-agent', 't-retry'));
    await succeeded.promise;
    expect(calls).toHaveLength(3);
    // The queue, not a loop in the processor, spaced them: at least the jittered half of 20 ms, then of 40 ms.
    expect(calls[1]! - calls[0]!).toBeGreaterThanOrEqual(10);
    expect(calls[2]! - calls[1]!).toBeGreaterThanOrEqual(20);
  });

  it('queues a new run of a task while the job of its previous run still exists (a resume is never dropped as a duplicate)', async () => {
    const q = replica({ agents: ['resume-agent'] });
    const calls: string[] = [];
    const resumed = deferred();
    q.start(async (r) => {
      calls.push(r.taskId);
      // As task.send does when the run has just parked the task in INPUT_REQUIRED: this run's job is still active.
      if (calls.length === 1) await q.enqueue(r);
      else resumed.resolve();
    });
    await q.enqueue(run('resume-agent', 't-resume'));
    await resumed.promise;
    expect(calls).toEqual(['t-resume', 't-resume']);
  });

  it("aborts a run with 'canceled' when another replica calls abort, and removes the task's waiting job", async () => {
    const worker = replica({ agents: ['cancel-agent'], concurrency: 1 });
    const other = replica(); // runs nothing: only queues and cancels, with connections of its own
    const started = deferred();
    const reason = deferred<unknown>();
    const seen: string[] = [];
    worker.start(async (r, signal) => {
      seen.push(r.taskId);
      started.resolve();
      reason.resolve(await aborted(signal));
    });
    await other.enqueue(run('cancel-agent', 't-running'));
    await started.promise;
    await other.enqueue(run('cancel-agent', 't-waiting')); // behind the running one (concurrency 1)
    await other.abort('cancel-agent', 't-waiting');
    expect(await other.counts('cancel-agent')).toEqual({ waiting: 0, delayed: 0, active: 1 });
    await other.abort('cancel-agent', 't-running');
    expect(await reason.promise).toBe('canceled');
    await worker.close();
    expect(await other.counts('cancel-agent')).toEqual({ waiting: 0, delayed: 0, active: 0 });
    expect(seen).toEqual(['t-running']);
  });

  it("close() aborts running runs with 'shutdown' and hands their jobs back: another replica runs them", async () => {
    const first = replica({ agents: ['handover-agent'] });
    const started = deferred();
    const reason = deferred<unknown>();
    first.start(async (_r, signal) => {
      started.resolve();
      reason.resolve(await aborted(signal));
      throw new Error('run interrupted'); // what TaskRunner does on 'shutdown'
    });
    await first.enqueue(run('handover-agent', 't-handover', 'HIGH'));
    await started.promise;
    await first.close();
    expect(await reason.promise).toBe('shutdown');
    const probe = replica();
    expect(await probe.counts('handover-agent')).toEqual({ waiting: 1, delayed: 0, active: 0 }); // released, not completed

    const second = replica({ agents: ['handover-agent'] });
    const ranAgain = deferred<TaskRun>();
    second.start(async (r) => ranAgain.resolve(r));
    expect(await ranAgain.promise).toEqual(run('handover-agent', 't-handover', 'HIGH'));
  });

  it('a run whose replica is SIGKILLed mid-run is taken up by another replica', async () => {
    if (!existsSync(DIST)) throw new Error(`${DIST} is missing: build first (npx turbo run build --filter=@arc/core)`);
    const running = deferred();
    const script = [
      `const { BullMQTaskQueue } = require(${JSON.stringify(DIST)});`,
      `const q = new BullMQTaskQueue({ url: process.env.TQ_URL, keyPrefix: process.env.TQ_PREFIX, agents: ['crash-agent'], lockDurationMs: 1000, stalledIntervalMs: 500 });`,
      `q.start(async (run) => { console.log('running ' + run.taskId); await new Promise(() => undefined); });`,
      `console.log('worker ready');`,
    ].join('\n');
    const child = await startProcess({
      name: 'crash-replica',
      command: process.execPath,
      args: ['-e', script],
      env: { TQ_URL: REDIS_URL, TQ_PREFIX: keyPrefix },
      readyOutput: 'worker ready',
      onOutput: (_name, text) => {
        if (text.includes('running t-crash')) running.resolve();
      },
    });
    children.push(child);
    const producer = replica();
    await producer.enqueue(run('crash-agent', 't-crash'));
    await running.promise;
    const exit = await child.stop('SIGKILL');
    expect(exit.signal).toBe('SIGKILL');
    expect(await producer.counts('crash-agent')).toMatchObject({ active: 1 }); // still locked by the dead replica

    const survivor = replica({ agents: ['crash-agent'] });
    const takenUp = deferred<TaskRun>();
    survivor.start(async (r) => takenUp.resolve(r));
    expect(await takenUp.promise).toEqual(run('crash-agent', 't-crash'));
  });

  it("stops a run whose lock was lost (a frozen replica) with 'shutdown', and the run is taken up again", async () => {
    const q = replica({ agents: ['lock-agent'] });
    const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const started = deferred();
    const reason = deferred<unknown>();
    const again = deferred();
    let calls = 0;
    q.start(async (_r, signal) => {
      if (++calls > 1) return again.resolve();
      started.resolve();
      reason.resolve(await aborted(signal));
      throw new Error('run interrupted');
    });
    try {
      await q.enqueue(run('lock-agent', 't-lock'));
      await started.promise;
      // What another replica's stalled check does to a lock that expired: it is gone.
      expect(await admin.del(`${keyPrefix}bull:tasks.lock-agent:t-lock.1:lock`)).toBe(1);
      expect(await reason.promise).toBe('shutdown');
      await again.promise;
      expect(calls).toBe(2);
    } finally {
      admin.disconnect();
    }
  });

  it('leaves no job behind once runs are done: only bounded bookkeeping and expiring run counters', async () => {
    const q = replica({ agents: ['tidy-agent'], concurrency: 3 });
    const done = deferred();
    let n = 0;
    q.start(async () => {
      if (++n === 20) done.resolve();
    });
    for (let i = 0; i < 20; i++) await q.enqueue(run('tidy-agent', `tidy-${i}`, i % 2 ? 'LOW' : 'URGENT'));
    await done.promise;
    await q.close(); // the last job is completed (removed) before close resolves
    const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      const queueKeys = await keysUnder(admin, `${keyPrefix}bull:tasks.tidy-agent:`);
      const kinds = queueKeys.map((k) => k.slice(`${keyPrefix}bull:tasks.tidy-agent:`.length)).sort();
      // BullMQ's per-queue bookkeeping (one key each, the stream capped); no key per job.
      expect(kinds.every((k) => ['id', 'meta', 'events', 'stalled-check', 'marker', 'pc'].includes(k))).toBe(true);
      const events = await admin.xlen(`${keyPrefix}bull:tasks.tidy-agent:events`);
      expect(events).toBeLessThanOrEqual(200);
      const counters = await keysUnder(admin, `${keyPrefix}task-runs:tidy-agent:`);
      expect(counters).toHaveLength(20);
      for (const key of counters) expect(await admin.pttl(key)).toBeGreaterThan(0);
    } finally {
      admin.disconnect();
    }
  });

  it('enqueue and ping reject once the queue is closed', async () => {
    const q = replica();
    await q.ping();
    await q.close();
    await expect(q.enqueue(run('closed-agent', 't-late'))).rejects.toThrow('task queue is closed');
    await expect(q.ping()).rejects.toThrow('task queue is closed');
  });
});

/** A bounded operation must settle well within this (connect wait + command timeout: 1 s at most here). */
const HANG_LIMIT_MS = 3000;

suiteNeeding(['redis-server'])('BullMQTaskQueue while Redis is down', () => {
  let port: number;
  let server: RedisServer | undefined;
  let queue: BullMQTaskQueue | undefined;

  afterAll(async () => {
    await queue?.close();
    await server?.stop('SIGKILL');
  });

  it('fails enqueue and ping fast while Redis is down (the engine answers -41002), and works again once it is back', async () => {
    port = await freePort();
    server = await startRedisServer({ binary: findRedisServer(), port });
    const ran: string[] = [];
    const ranAfter = deferred();
    queue = new BullMQTaskQueue({ url: server.url, agents: ['outage-agent'], ...FAST, commandTimeoutMs: 500, closeTimeoutMs: 1000 });
    queue.start(async (r) => {
      ran.push(r.taskId);
      if (r.taskId === 't-after') ranAfter.resolve();
    });
    await queue.enqueue(run('outage-agent', 't-before'));

    await server.stop('SIGKILL');
    server = undefined;
    // Errors, not hangs: each settles well within connect wait + command timeout.
    await expect(within(HANG_LIMIT_MS, queue.enqueue(run('outage-agent', 't-during')))).rejects.toThrow(/^Redis task queue enqueue failed/);
    await expect(within(HANG_LIMIT_MS, queue.ping())).rejects.toThrow(/^Redis task queue ping failed/);

    server = await startRedisServer({ binary: findRedisServer(), port }); // empty: nothing was saved
    await expect(retryUntilResolved(() => queue!.enqueue(run('outage-agent', 't-after')))).resolves.toBeUndefined();
    await ranAfter.promise; // the workers reconnected by themselves
    expect(ran).not.toContain('t-during');
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

/** The client reconnects with a backoff: the first calls after Redis is back may still find it away. */
async function retryUntilResolved(op: () => Promise<void>): Promise<void> {
  for (;;) {
    try {
      return await op();
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
