/**
 * What the two BullMQ users of this package (BullMQTaskQueue, RedisOutbox) share: the connections
 * their workers block on, closing a client without hanging, and logging BullMQ's errors without
 * flooding the log during an outage.
 *
 * Their enqueue paths (add, abort, push, drop, ping) use a RedisConnection like the stores: fail
 * fast, never queue while Redis is away. Their workers cannot: BullMQ blocks on its connection
 * (BZPOPMIN) and needs `maxRetriesPerRequest: null`, so workers get clients of their own that
 * wait through an outage and reconnect forever, and pick up where they were when Redis is back.
 */
import { Queue, type QueueOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../logging/logger';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
/** Reconnect backoff of worker clients: 100 ms per failed attempt, at most this much. */
const MAX_RECONNECT_DELAY_MS = 2000;
/** While errors keep coming, one warning per this much time; the rest at debug level. */
const ERROR_LOG_INTERVAL_MS = 60_000;

/** Options of a client that BullMQ may block on (workers, pub/sub subscribers). */
export function workerClientOptions(connectTimeoutMs: number): RedisOptions {
  return {
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    connectTimeout: connectTimeoutMs,
    retryStrategy: (times: number) => Math.min(times * 100, MAX_RECONNECT_DELAY_MS),
  };
}

/** A worker client; its errors go to `onError` (an 'error' event without a listener would be printed by ioredis). */
export function workerClient(url: string, connectTimeoutMs: number, onError: (err: Error) => void): Redis {
  const client = new Redis(url, workerClientOptions(connectTimeoutMs));
  client.on('error', onError);
  return client;
}

/** QUIT, or a hard disconnect when QUIT fails or takes longer than `timeoutMs`. */
export async function closeClient(client: Redis, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.quit(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('quit timed out')), timeoutMs);
      }),
    ]);
  } catch {
    client.disconnect();
  } finally {
    clearTimeout(timer);
  }
}

/** Logs errors of a long-lived component (a worker retrying through an outage) at most once a minute as a warning. */
export function errorReporter(logger: Logger, what: string): (err: unknown) => void {
  let lastWarning = -Infinity;
  return (err: unknown): void => {
    const message = err instanceof Error ? err.message : String(err);
    const now = Date.now();
    if (now - lastWarning >= ERROR_LOG_INTERVAL_MS) {
      lastWarning = now;
      logger.warn(`${what}: Redis trouble (retrying)`, { err: message });
    } else {
      logger.debug(`${what}: Redis trouble (retrying)`, { err: message });
    }
  };
}

/** Delay before try n+1 after n failed tries: base · 2^(n-1), at most `maxMs`, with "equal jitter" (half fixed, half random). */
export function backoffDelay(baseMs: number, maxMs: number, failures: number, random: () => number = Math.random): number {
  const base = Math.min(baseMs * 2 ** Math.max(0, failures - 1), maxMs);
  return Math.round(base / 2 + random() * (base / 2));
}

/** A positive integer option, or a RangeError naming it. */
export function positiveInt(value: number, owner: string, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${owner}: ${name} must be a positive integer`);
  return value;
}

/**
 * The producer side of BullMQ queues by name, on one fail-fast client, each created on first use.
 * BullMQ keeps a failed initialisation (e.g. Redis went away while it read the server version)
 * for the life of the Queue object, so such a Queue is dropped and the next use starts afresh.
 */
export class ProducerQueues<T> {
  private readonly queues = new Map<string, Queue<T>>();

  constructor(
    private readonly options: QueueOptions,
    private readonly onError: (err: unknown) => void,
  ) {}

  get(name: string): Queue<T> {
    const existing = this.queues.get(name);
    if (existing) return existing;
    const queue = new Queue<T>(name, this.options);
    queue.on('error', this.onError);
    queue.client.catch(() => {
      if (this.queues.get(name) === queue) this.queues.delete(name);
      queue.close().catch(() => undefined);
    });
    this.queues.set(name, queue);
    return queue;
  }

  /** Closes the Queue objects (the client is the caller's). */
  async close(): Promise<void> {
    const queues = [...this.queues.values()];
    this.queues.clear();
    await Promise.all(queues.map((q) => q.close().catch(() => undefined)));
  }
}
