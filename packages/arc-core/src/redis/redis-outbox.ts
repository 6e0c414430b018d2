/**
 * The shared webhook outbox, in Redis with BullMQ: deliveries wait in Redis, in order per
 * subscription, and any replica attempts them, so a replica dying mid-delivery loses nothing.
 * Import it from `@arc/core/redis`.
 *
 * Layout (keys.ts, scripts.ts):
 *   <keyPrefix>webhook:<subscriptionId>  a LIST of the subscription's deliveries, oldest first,
 *                                        each '<deliveryId> <Delivery as JSON>'
 *   <keyPrefix>webhook-pending           a SET of the subscriptions whose LIST is not empty
 *   <keyPrefix>bull:webhooks:…           a BullMQ queue with one job per LIST: its head's
 *
 * Only the head of a list has a job (id `d.<deliveryId>`, so adding it twice adds it once), which
 * is what keeps a subscription's events in order while different subscriptions go in parallel
 * (`concurrency` attempts at once per replica). The job attempts the head; delivered, gone (410)
 * or given up (older than the retry window after a failed attempt), the head is popped — by a
 * script that pops only if the head is still that delivery, so of two workers finishing it one
 * wins — `done` is told, and the next head gets its job. A failed attempt throws, and BullMQ tries
 * again after the RetryPolicy's delay (exponential, capped, with jitter); the job's lock and
 * stalled check hand the attempt of a dead replica to another one, as for task runs.
 *
 * push appends and, when the list was empty, adds the head's job. A crash between the two steps,
 * or between a pop and the next job, leaves a list whose head has no job: a sweep at start and
 * every `sweepIntervalMs` walks the SET and adds the missing jobs (adding an existing job is a
 * no-op). Lists expire `retry window + longest delay + listTtlMarginMs` after their last change,
 * so the lists of a deployment gone for good do not stay forever.
 *
 * Guarantees: at least once (a replica dying after the receiver answered but before the pop
 * sends the delivery again, with the same X-ARC-Delivery id); in order per subscription; every
 * replica sharing the key prefix may deliver any subscription's events, so they must share
 * WEBHOOK_SECRET and the webhook network policy (or use distinct `queueName`s and prefixes).
 */
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { silentLogger, type Logger } from '../logging/logger';
import {
  DEFAULT_RETRY_POLICY,
  retryDelay,
  type AttemptResult,
  type Deliverer,
  type Delivery,
  type DeliveryDone,
  type Outbox,
  type RetryPolicy,
} from '../webhooks/outbox';
import { closeClient, DEFAULT_REDIS_URL, errorReporter, positiveInt, ProducerQueues, workerClient } from './bullmq-support';
import { bullPrefix, deliveryJobId, webhookListKey, webhookPendingKey } from './keys';
import { RedisConnection, type RedisErrorObserver } from './redis-connection';
import { DROP_DELIVERIES, HEAD_DELIVERY, POP_DELIVERY, PUSH_DELIVERY, runScriptOn } from './scripts';

export interface RedisOutboxOptions {
  /** Redis URL (default redis://127.0.0.1:6379). */
  url?: string;
  /** Prefix of every key, as the stores' (default 'arc:'). */
  keyPrefix?: string;
  /** Retry schedule and window (default DEFAULT_RETRY_POLICY: 1 s doubling, at most 60 s, for 15 min). */
  retry?: Partial<RetryPolicy>;
  /** Attempts at once in this replica, all subscriptions together (default 16). */
  concurrency?: number;
  /** An attempt's job lock; a replica silent this long has lost its attempts to others (default 30 s). */
  lockDurationMs?: number;
  /** How often each worker looks for attempts whose lock expired (default 30 s). */
  stalledIntervalMs?: number;
  /** How often lists whose head lost its job are looked for (default 30 s; also at start). */
  sweepIntervalMs?: number;
  /** A list lives this much longer than its head could need (default 24 h). */
  listTtlMarginMs?: number;
  /** The BullMQ queue's name (default 'webhooks'). */
  queueName?: string;
  /** Longest time push, drop and each Redis step of an attempt may take (default 1000 ms). */
  commandTimeoutMs?: number;
  /** Longest time one connection attempt may take (default 2000 ms). */
  connectTimeoutMs?: number;
  /** How long close() waits for attempts in flight (default 15 s: longer than an attempt's 10 s). */
  closeTimeoutMs?: number;
  logger?: Logger;
}

interface DeliveryJob {
  subscriptionId: string;
  deliveryId: string;
}

const JOB_ATTEMPTS = 1_000_000;
const EVENTS_MAX_LEN = 100;

export class RedisOutbox implements Outbox {
  readonly keyPrefix: string;
  private readonly policy: RetryPolicy;
  private readonly url: string;
  private readonly producer: RedisConnection;
  private readonly queues: ProducerQueues<DeliveryJob>;
  private readonly queueName: string;
  private readonly concurrency: number;
  private readonly lockDurationMs: number;
  private readonly stalledIntervalMs: number;
  private readonly sweepIntervalMs: number;
  private readonly connectTimeoutMs: number;
  private readonly closeTimeoutMs: number;
  private readonly listTtlArg: string;
  private readonly logger: Logger;
  private readonly reportError: (err: unknown) => void;
  private deliver: Deliverer | undefined;
  private done: DeliveryDone | undefined;
  private worker: Worker<DeliveryJob> | undefined;
  private workerRedis: Redis | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: RedisOutboxOptions = {}) {
    const owner = 'RedisOutbox';
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    for (const name of ['baseDelayMs', 'maxDelayMs', 'windowMs'] as const) positiveInt(this.policy[name], owner, `retry.${name}`);
    this.url = options.url ?? DEFAULT_REDIS_URL;
    this.keyPrefix = options.keyPrefix ?? 'arc:';
    this.queueName = options.queueName ?? 'webhooks';
    this.concurrency = positiveInt(options.concurrency ?? 16, owner, 'concurrency');
    this.lockDurationMs = positiveInt(options.lockDurationMs ?? 30_000, owner, 'lockDurationMs');
    this.stalledIntervalMs = positiveInt(options.stalledIntervalMs ?? 30_000, owner, 'stalledIntervalMs');
    this.sweepIntervalMs = positiveInt(options.sweepIntervalMs ?? 30_000, owner, 'sweepIntervalMs');
    this.connectTimeoutMs = positiveInt(options.connectTimeoutMs ?? 2000, owner, 'connectTimeoutMs');
    this.closeTimeoutMs = positiveInt(options.closeTimeoutMs ?? 15_000, owner, 'closeTimeoutMs');
    const margin = positiveInt(options.listTtlMarginMs ?? 24 * 3600_000, owner, 'listTtlMarginMs');
    this.listTtlArg = String(this.policy.windowMs + this.policy.maxDelayMs + margin);
    this.logger = options.logger ?? silentLogger;
    this.reportError = errorReporter(this.logger, 'webhook outbox');
    this.producer = new RedisConnection(
      'webhook outbox',
      owner,
      {
        url: this.url,
        commandTimeoutMs: options.commandTimeoutMs,
        connectTimeoutMs: this.connectTimeoutMs,
        logger: this.logger,
      },
      'outbox',
    );
    this.queues = new ProducerQueues<DeliveryJob>(
      {
        connection: this.producer.client,
        prefix: bullPrefix(this.keyPrefix),
        streams: { events: { maxLen: EVENTS_MAX_LEN } },
        // A job that fails for good is removed: its list stays, and the sweep gives the head a new job.
        defaultJobOptions: { attempts: JOB_ATTEMPTS, backoff: { type: 'arc' }, removeOnComplete: true, removeOnFail: true },
      },
      this.reportError,
    );
  }

  start(deliver: Deliverer, done: DeliveryDone): void {
    if (this.closing || this.worker) return;
    this.deliver = deliver;
    this.done = done;
    this.workerRedis = workerClient(this.url, this.connectTimeoutMs, this.reportError);
    this.worker = new Worker<DeliveryJob>(this.queueName, (job) => this.process(job), {
      connection: this.workerRedis,
      prefix: bullPrefix(this.keyPrefix),
      concurrency: this.concurrency,
      lockDuration: this.lockDurationMs,
      stalledInterval: this.stalledIntervalMs,
      maxStalledCount: JOB_ATTEMPTS,
      settings: { backoffStrategy: (attemptsMade) => retryDelay(this.policy, attemptsMade) },
    });
    this.worker.on('error', this.reportError);
    this.sweep();
    this.sweepTimer = setInterval(() => this.sweep(), this.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  async push(delivery: Delivery): Promise<void> {
    if (this.closing) throw new Error('webhook outbox is closed');
    if (!/^[^\s]+$/.test(delivery.deliveryId)) throw new TypeError('RedisOutbox: a deliveryId must be non-empty and without spaces');
    const { subscriptionId, deliveryId } = delivery;
    const element = `${deliveryId} ${JSON.stringify(delivery)}`;
    const length = await this.run('push', (c) =>
      runScriptOn(c, PUSH_DELIVERY, this.keys(subscriptionId), [element, this.listTtlArg, subscriptionId]),
    );
    if (length !== 1) return; // an earlier delivery heads the list; this one gets its job when its turn comes
    // The delivery is stored: if its job cannot be added now, the sweep adds it (so no error here).
    await this.addJob(subscriptionId, deliveryId).catch((err: unknown) =>
      this.logger.warn('webhook outbox: delivery queued, its job not yet (the sweep adds it)', {
        subscriptionId,
        deliveryId,
        err: message(err),
      }),
    );
  }

  async drop(subscriptionId: string): Promise<void> {
    await this.run('drop', (c) => runScriptOn(c, DROP_DELIVERIES, this.keys(subscriptionId), [subscriptionId]));
  }

  /** Counts this store's failed Redis operations (metrics: arc_redis_errors_total). */
  observeRedisErrors(observer: RedisErrorObserver): void {
    this.producer.observer = observer;
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  // ---- internals ----

  private keys(subscriptionId: string): string[] {
    return [webhookListKey(this.keyPrefix, subscriptionId), webhookPendingKey(this.keyPrefix)];
  }

  private run<T>(op: string, command: (client: Redis) => Promise<T>): Promise<T> {
    return this.producer.run(op, () => command(this.producer.client));
  }

  private async addJob(subscriptionId: string, deliveryId: string): Promise<void> {
    const queue = this.queues.get(this.queueName);
    await this.run('add', () => queue.add('delivery', { subscriptionId, deliveryId }, { jobId: deliveryJobId(deliveryId) }));
  }

  /** Gives the subscription's head delivery its job (a no-op when it has one); forgets an empty list. */
  private async ensureHeadJob(subscriptionId: string): Promise<void> {
    const head = await this.run('head', (c) => runScriptOn(c, HEAD_DELIVERY, this.keys(subscriptionId), [subscriptionId]));
    if (typeof head === 'string' && head !== '') await this.addJob(subscriptionId, head);
  }

  /** The BullMQ processor: one attempt of a subscription's head delivery. */
  private async process(job: Job<DeliveryJob>): Promise<void> {
    const { subscriptionId, deliveryId } = job.data;
    const deliver = this.deliver;
    if (!deliver) throw new Error('webhook outbox is not started');
    const element = await this.run('read', (c) => c.lindex(webhookListKey(this.keyPrefix, subscriptionId), 0));
    if (element === null) return this.ensureHeadJob(subscriptionId); // dropped or expired: forgets the subscription
    const space = element.indexOf(' ');
    const headId = space < 0 ? element : element.slice(0, space);
    if (headId !== deliveryId) return this.ensureHeadJob(subscriptionId); // a stale job: the head is another
    let delivery: Delivery;
    try {
      delivery = JSON.parse(space < 0 ? '' : element.slice(space + 1)) as Delivery;
    } catch {
      this.logger.error('webhook outbox: unreadable delivery dropped', { subscriptionId, deliveryId });
      await this.pop(subscriptionId, deliveryId);
      return this.ensureHeadJob(subscriptionId);
    }
    const attempt = job.attemptsMade + 1;
    let result: AttemptResult;
    try {
      result = await deliver(delivery, attempt);
    } catch (err) {
      result = { outcome: 'retry', status: 0, error: message(err) };
    }
    let final: 'delivered' | 'gone' | 'given-up';
    if (result.outcome === 'delivered' || result.outcome === 'gone') final = result.outcome;
    else if (Date.now() - delivery.queuedAt >= this.policy.windowMs) final = 'given-up';
    else throw new Error(`webhook attempt ${attempt} failed (status ${result.status})`); // BullMQ retries after retryDelay()
    const popped = await this.pop(subscriptionId, deliveryId);
    // Only the worker that popped reports it (two may have attempted it: a lock lost to a stalled check).
    if (popped === 1) {
      await this.done?.(delivery, final, attempt).catch((err: unknown) =>
        this.logger.warn('webhook outbox: done callback failed', { subscriptionId, deliveryId, err: message(err) }),
      );
    }
    // After done: a 410 has dropped the list by now, and nothing more is sent.
    await this.ensureHeadJob(subscriptionId);
  }

  private async pop(subscriptionId: string, deliveryId: string): Promise<unknown> {
    return this.run('pop', (c) => runScriptOn(c, POP_DELIVERY, this.keys(subscriptionId), [deliveryId, this.listTtlArg, subscriptionId]));
  }

  /** Gives every pending list's head a job (one sweep at a time). */
  private sweep(): void {
    if (this.sweeping || this.closing) return;
    this.sweeping = this.sweepAll()
      .catch(this.reportError)
      .finally(() => {
        this.sweeping = undefined;
      });
  }

  private async sweepAll(): Promise<void> {
    let cursor = '0';
    do {
      const [next, subscriptionIds] = await this.run('sweep', (c) => c.sscan(webhookPendingKey(this.keyPrefix), cursor, 'COUNT', 100));
      for (const subscriptionId of subscriptionIds) {
        if (this.closing) return;
        await this.ensureHeadJob(subscriptionId);
      }
      cursor = next;
    } while (cursor !== '0');
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.sweepTimer);
    // Attempts in flight finish (bounded by the sender's timeout); delayed retries stay in Redis for the other replicas.
    if (this.worker) {
      const closed = await Promise.race([
        this.worker.close().then(
          () => true,
          () => true,
        ),
        sleep(this.closeTimeoutMs).then(() => false),
      ]);
      if (!closed) this.logger.warn('webhook outbox: attempts did not end in time; they are retried when their lock expires');
    }
    await this.sweeping;
    await this.queues.close();
    if (this.workerRedis) await closeClient(this.workerRedis, this.producer.commandTimeoutMs);
    await this.producer.dispose();
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
