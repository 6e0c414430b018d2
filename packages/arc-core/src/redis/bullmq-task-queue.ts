/**
 * The shared task queue, in Redis with BullMQ: every replica queues runs in it and runs them, and
 * the run of a replica that dies is taken up by another. Import it from `@arc/core/redis`.
 *
 * Layout: a BullMQ queue per agent, `tasks.<agentId>` (keys `<keyPrefix>bull:tasks.<agentId>:…`),
 * and in each replica a Worker per agent it serves (`serve(agentId)`, or the `agents` option) with
 * `concurrency` runs at once. A queue per agent because BullMQ's concurrency is per Worker (a limit
 * per agent needs a Worker per agent, and one busy agent cannot hold back another), and because a
 * replica must only take runs of agents it has a handler for. The limit holds per replica: an
 * agent runs at most replicas × `concurrency` runs at once in all.
 *
 * Jobs: data {taskId, priority}; BullMQ priority URGENT 1, HIGH 2, NORMAL 3, LOW 4 (lower first,
 * first in first out within one). Job id `<taskId>.<n>`, n counted per task in
 * `<keyPrefix>task-runs:<agentId>:<taskId>` (expires after `retentionSeconds`): every enqueue is a
 * new run, so a task resumed by task.send gets its job even while the job of the run that paused it
 * is still finishing (one id per task would have BullMQ drop the resume as a duplicate), and
 * abort() knows which job may still be waiting. Runs of one task do not overlap: the engine queues
 * one only when the task is created and when INPUT_REQUIRED turns WORKING, after the last run ended.
 *
 * Failures:
 * - the processor rejects (an unexpected error with attempts left): BullMQ tries again after
 *   retryDelayMs · 2^(n-1), at most maxRetryDelayMs, with jitter. The queue never gives up first:
 *   the engine counts attempts in the task record, fails the task itself, and the job completes.
 * - close(): running runs are aborted with 'shutdown', the processor rejects and the job goes
 *   back to waiting at once, for another replica.
 * - the process dies (SIGKILL): its job's lock (lockDurationMs, renewed every half of it) expires;
 *   a worker's stalled check (every stalledIntervalMs) puts the job back; another replica runs it
 *   (attempt + 1). maxStalledCount is high so that crashes never fail a job. A replica that was
 *   only frozen (longer than lockDurationMs) finds its lock gone at the next renewal and aborts
 *   its run with 'shutdown', so that it does not go on beside the new one.
 * - Redis down: enqueue, abort and ping fail within commandTimeoutMs (the engine answers -41002);
 *   workers wait and carry on when Redis is back.
 *
 * Cancel: abort() publishes {agentId, taskId} on the channel `<keyPrefix>task-abort`; every
 * instance listens (its own connection) and aborts its run of that task with 'canceled'. A waiting
 * job of the task is removed. A replica that misses the message (while reconnecting) notices at the
 * run's next report, the task being CANCELED in the store, or at its time limit.
 *
 * Connections: one fail-fast client (adds, publish, ping, like the stores); once it serves
 * agents, one client shared by its Workers, one blocking client per Worker, one subscriber.
 * Completed jobs are removed at once, failed ones (none in practice) kept at most 1000 and 7 days,
 * the event stream is capped at 100 entries, the run counters expire: nothing grows without bound.
 */
import { UnrecoverableError, Worker, type Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { silentLogger, type Logger } from '../logging/logger';
import type { TaskPriority } from '../protocol/types';
import { TASK_RETENTION_SECONDS } from '../state/task-store';
import { PRIORITY_RANK, type TaskProcessor, type TaskQueue, type TaskRun } from '../tasks/task-queue';
import { backoffDelay, closeClient, DEFAULT_REDIS_URL, errorReporter, positiveInt, ProducerQueues, workerClient } from './bullmq-support';
import { bullPrefix, taskAbortChannel, taskJobId, taskQueueName, taskRunsKey } from './keys';
import { RedisConnection, ttlMs, type RedisErrorObserver } from './redis-connection';
import { NEXT_TASK_RUN, runScript } from './scripts';

export interface BullMQTaskQueueOptions {
  /** Redis URL (default redis://127.0.0.1:6379). */
  url?: string;
  /** Prefix of every key, as the stores' (default 'arc:'). */
  keyPrefix?: string;
  /** Agents whose runs this replica runs, from start() on; more with serve(). */
  agents?: readonly string[];
  /** Runs of one agent at once in this replica (TASK_CONCURRENCY, default 4). */
  concurrency?: number;
  /** A run's job lock; a replica silent this long has lost its runs to others (default 30 s). */
  lockDurationMs?: number;
  /** How often each worker looks for runs whose lock expired (default 30 s). */
  stalledIntervalMs?: number;
  /** Crashes one job survives (default 1000: attempts are bounded by the engine). */
  maxStalledCount?: number;
  /** First delay before a rejected run is tried again; doubles each time (default 1000 ms). */
  retryDelayMs?: number;
  /** Longest delay before a retry (default 60 s). */
  maxRetryDelayMs?: number;
  /** The per-task run counters expire this long after the last run was queued (default TASK_RETENTION_SECONDS). */
  retentionSeconds?: number;
  /** Longest time enqueue, abort and ping may take (default 1000 ms). */
  commandTimeoutMs?: number;
  /** Longest time one connection attempt may take (default 2000 ms). */
  connectTimeoutMs?: number;
  /** How long close() waits for aborted runs to hand their jobs back (default 10 s). */
  closeTimeoutMs?: number;
  logger?: Logger;
}

interface RunJob {
  taskId: string;
  priority: TaskPriority;
}

/** A job attempts "forever": the engine decides when a task has had enough. */
const JOB_ATTEMPTS = 1_000_000;
const KEEP_FAILED = { count: 1000, age: 7 * 24 * 3600 };
const EVENTS_MAX_LEN = 100;

/** The rejection that hands a run back to the queue at once: this replica is shutting down, or lost the run's lock. */
class RunReleased extends Error {
  override readonly name = 'RunReleased';
}

export class BullMQTaskQueue implements TaskQueue {
  readonly keyPrefix: string;
  private readonly url: string;
  private readonly producer: RedisConnection;
  private readonly concurrency: number;
  private readonly lockDurationMs: number;
  private readonly stalledIntervalMs: number;
  private readonly maxStalledCount: number;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly retentionArg: string;
  private readonly connectTimeoutMs: number;
  private readonly closeTimeoutMs: number;
  private readonly logger: Logger;
  private readonly reportError: (err: unknown) => void;
  private readonly agents = new Set<string>();
  private readonly queues: ProducerQueues<RunJob>;
  private readonly workers = new Map<string, Worker<RunJob>>();
  /** This replica's runs by agent and task, to abort them. */
  private readonly running = new Map<string, Set<AbortController>>();
  /** The same runs by agent and job id, for locks BullMQ reports lost. */
  private readonly runningJobs = new Map<string, AbortController>();
  private processor: TaskProcessor | undefined;
  private workerRedis: Redis | undefined;
  private subscriber: Redis | undefined;
  private listening: Promise<void> = Promise.resolve();
  private heard = false;
  private closing: Promise<void> | undefined;

  constructor(options: BullMQTaskQueueOptions = {}) {
    const owner = 'BullMQTaskQueue';
    this.url = options.url ?? DEFAULT_REDIS_URL;
    this.keyPrefix = options.keyPrefix ?? 'arc:';
    this.concurrency = positiveInt(options.concurrency ?? 4, owner, 'concurrency');
    this.lockDurationMs = positiveInt(options.lockDurationMs ?? 30_000, owner, 'lockDurationMs');
    this.stalledIntervalMs = positiveInt(options.stalledIntervalMs ?? 30_000, owner, 'stalledIntervalMs');
    this.maxStalledCount = positiveInt(options.maxStalledCount ?? 1000, owner, 'maxStalledCount');
    this.retryDelayMs = positiveInt(options.retryDelayMs ?? 1000, owner, 'retryDelayMs');
    this.maxRetryDelayMs = positiveInt(options.maxRetryDelayMs ?? 60_000, owner, 'maxRetryDelayMs');
    this.retentionArg = String(ttlMs(options.retentionSeconds ?? TASK_RETENTION_SECONDS, owner, 'retentionSeconds'));
    this.connectTimeoutMs = positiveInt(options.connectTimeoutMs ?? 2000, owner, 'connectTimeoutMs');
    this.closeTimeoutMs = positiveInt(options.closeTimeoutMs ?? 10_000, owner, 'closeTimeoutMs');
    this.logger = options.logger ?? silentLogger;
    this.reportError = errorReporter(this.logger, 'task queue');
    this.producer = new RedisConnection(
      'task queue',
      owner,
      {
        url: this.url,
        commandTimeoutMs: options.commandTimeoutMs,
        connectTimeoutMs: this.connectTimeoutMs,
        logger: this.logger,
      },
      'queue',
    );
    this.queues = new ProducerQueues<RunJob>(
      {
        connection: this.producer.client,
        prefix: bullPrefix(this.keyPrefix),
        streams: { events: { maxLen: EVENTS_MAX_LEN } },
        defaultJobOptions: { attempts: JOB_ATTEMPTS, backoff: { type: 'arc' }, removeOnComplete: true, removeOnFail: KEEP_FAILED },
      },
      this.reportError,
    );
    for (const agentId of options.agents ?? []) this.agents.add(agentId);
  }

  start(processor: TaskProcessor): void {
    if (this.closing) return;
    this.processor = processor;
    for (const agentId of this.agents) this.addWorker(agentId);
  }

  /** Runs this agent's runs here too (once started). Idempotent. */
  serve(agentId: string): void {
    this.agents.add(agentId);
    if (this.processor && !this.closing) this.addWorker(agentId);
  }

  async enqueue(run: TaskRun): Promise<void> {
    if (this.closing) throw new Error('task queue is closed');
    const client = this.producer.client;
    const n = Number(await this.producer.run('enqueue', () => runScript(client, NEXT_TASK_RUN, this.runsKey(run), [this.retentionArg])));
    const data: RunJob = { taskId: run.taskId, priority: run.priority };
    const queue = this.queueOf(run.agentId);
    await this.producer.run('enqueue', () =>
      queue.add('run', data, { jobId: taskJobId(run.taskId, n), priority: PRIORITY_RANK[run.priority] + 1 }),
    );
  }

  async abort(agentId: string, taskId: string): Promise<void> {
    this.abortHere(agentId, taskId);
    const client = this.producer.client;
    await this.producer.run('abort', () => client.publish(taskAbortChannel(this.keyPrefix), JSON.stringify({ agentId, taskId })));
    const n = await this.producer.run('abort', () => client.get(this.runsKey({ agentId, taskId })));
    // A waiting (or retry-delayed) job goes; a running one is locked and stays (BullMQ answers 0).
    if (n !== null) await this.producer.run('abort', () => this.queueOf(agentId).remove(taskJobId(taskId, Number(n))));
  }

  async ping(): Promise<void> {
    if (this.closing) throw new Error('task queue is closed');
    await this.producer.run('ping', () => this.producer.client.ping());
  }

  /** Counts this store's failed Redis operations (metrics: arc_redis_errors_total). */
  observeRedisErrors(observer: RedisErrorObserver): void {
    this.producer.observer = observer;
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** Runs of an agent waiting, delayed for a retry, and running, in all replicas (for tests and metrics). */
  async counts(agentId: string): Promise<{ waiting: number; delayed: number; active: number }> {
    const queue = this.queueOf(agentId);
    const c = await this.producer.run('counts', () => queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active'));
    return { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), delayed: c.delayed ?? 0, active: c.active ?? 0 };
  }

  // ---- internals ----

  private runsKey(run: { agentId: string; taskId: string }): string {
    return taskRunsKey(this.keyPrefix, run.agentId, run.taskId);
  }

  private queueOf(agentId: string): Queue<RunJob> {
    return this.queues.get(taskQueueName(agentId));
  }

  private addWorker(agentId: string): void {
    if (this.workers.has(agentId)) return;
    this.workerRedis ??= workerClient(this.url, this.connectTimeoutMs, this.reportError);
    this.listen();
    const worker = new Worker<RunJob>(taskQueueName(agentId), (job) => this.process(agentId, job), {
      connection: this.workerRedis,
      prefix: bullPrefix(this.keyPrefix),
      concurrency: this.concurrency,
      lockDuration: this.lockDurationMs,
      stalledInterval: this.stalledIntervalMs,
      maxStalledCount: this.maxStalledCount,
      settings: {
        backoffStrategy: (attemptsMade, _type, err) =>
          err?.name === 'RunReleased' ? 0 : backoffDelay(this.retryDelayMs, this.maxRetryDelayMs, attemptsMade),
      },
    });
    worker.on('error', this.reportError);
    worker.on('lockRenewalFailed', (jobIds) => this.lostLocks(agentId, jobIds));
    this.workers.set(agentId, worker);
  }

  /** Subscribes to the abort channel, once. */
  private listen(): void {
    if (this.subscriber) return;
    const subscriber = workerClient(this.url, this.connectTimeoutMs, this.reportError);
    subscriber.on('message', (_channel: string, message: string) => this.onAbortMessage(message));
    this.subscriber = subscriber;
    this.listening = subscriber.subscribe(taskAbortChannel(this.keyPrefix)).then(() => {
      this.heard = true;
    }, this.reportError);
  }

  private onAbortMessage(message: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      return;
    }
    const { agentId, taskId } = (parsed ?? {}) as { agentId?: unknown; taskId?: unknown };
    if (typeof agentId === 'string' && typeof taskId === 'string') this.abortHere(agentId, taskId);
  }

  private abortHere(agentId: string, taskId: string): void {
    for (const controller of this.running.get(runKey(agentId, taskId)) ?? []) controller.abort('canceled');
  }

  /**
   * This replica held up a run's lock too long (a stalled event loop, a network partition): the
   * job may run elsewhere already. The local run stops as at shutdown, so that it does not go on
   * beside the new one.
   */
  private lostLocks(agentId: string, jobIds: string[]): void {
    for (const jobId of jobIds) {
      const controller = this.runningJobs.get(runKey(agentId, jobId));
      if (!controller) continue;
      this.logger.warn('task queue: a run lost its lock; stopping it here, it runs again on a worker that holds it', {
        agent: agentId,
        jobId,
      });
      controller.abort('shutdown');
    }
  }

  /** The BullMQ processor of an agent's Worker: one run. */
  private async process(agentId: string, job: Job<RunJob>): Promise<void> {
    // A run starts once this replica hears cancels (bounded: a subscriber stuck reconnecting must not stop the work).
    if (!this.heard) await Promise.race([this.listening, sleep(this.connectTimeoutMs)]);
    const { taskId, priority } = (job.data ?? {}) as Partial<RunJob>;
    if (typeof taskId !== 'string' || typeof priority !== 'string' || !Object.hasOwn(PRIORITY_RANK, priority)) {
      throw new UnrecoverableError(`malformed task run job ${String(job.id)}`);
    }
    const processor = this.processor;
    if (this.closing || !processor) throw new RunReleased('the task queue is closing');
    const key = runKey(agentId, taskId);
    const controller = new AbortController();
    const mine = this.running.get(key) ?? new Set<AbortController>();
    mine.add(controller);
    this.running.set(key, mine);
    const jobKey = runKey(agentId, String(job.id));
    this.runningJobs.set(jobKey, controller);
    try {
      await processor({ agentId, taskId, priority }, controller.signal);
    } catch (err) {
      if (controller.signal.reason === 'shutdown') throw new RunReleased('the run was handed back (shutdown or lost lock)');
      throw err;
    } finally {
      this.runningJobs.delete(jobKey);
      mine.delete(controller);
      if (mine.size === 0 && this.running.get(key) === mine) this.running.delete(key);
    }
  }

  private async shutdown(): Promise<void> {
    // Workers stop fetching first, then the runs are aborted: each hands its job back (RunReleased).
    const closings = [...this.workers.values()].map((w) => w.close().catch(this.reportError));
    for (const runs of this.running.values()) for (const controller of runs) controller.abort('shutdown');
    const closed = await Promise.race([Promise.all(closings).then(() => true), sleep(this.closeTimeoutMs).then(() => false)]);
    if (!closed) this.logger.warn('task queue: runs did not end in time; their jobs return to the queue when their lock expires');
    await this.queues.close();
    const timeout = this.producer.commandTimeoutMs;
    if (this.subscriber) await closeClient(this.subscriber, timeout);
    if (this.workerRedis) await closeClient(this.workerRedis, timeout);
    await this.producer.dispose();
  }
}

/** A map key for a run of an agent: by task id, or by job id. */
function runKey(agentId: string, id: string): string {
  return JSON.stringify([agentId, id]);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
