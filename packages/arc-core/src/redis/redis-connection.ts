/**
 * The connection handling every Redis store shares (RedisChatStore, RedisTaskStore), so that
 * they fail alike:
 *
 * Redis trouble is an error, never a hang. The client does not queue commands while
 * disconnected (enableOfflineQueue false), does not resend commands that were in flight when the
 * connection dropped (a write must not run twice), times commands out after `commandTimeoutMs`,
 * and reconnects forever with a capped backoff (100 ms, 200 ms, … at most 2 s), so the service
 * recovers by itself when Redis is back. An operation issued while a connection attempt is in
 * progress waits for it at most `commandTimeoutMs`. Every operation is also bounded by its own
 * timer, so even an injected client without `commandTimeout` cannot hang a request. Errors name
 * the store and the operation ("Redis chat store close failed: …"); an outage is logged once.
 * A failed operation is also told to the store's RedisErrorObserver, if one is set (metrics).
 */
import { Redis, type RedisOptions } from 'ioredis';
import { silentLogger, type Logger } from '../logging/logger';

export interface RedisConnectionOptions {
  /** Redis URL, e.g. redis://:password@host:6379/0 (default redis://127.0.0.1:6379). Not with `client`. */
  url?: string;
  /**
   * A client to use instead of one created from `url`. The store does not own it: `dispose()`
   * leaves it connected. Configure it like `redisClientOptions()` for the same failure behaviour.
   */
  client?: Redis;
  /** Longest time one operation may take before it rejects (default 1000 ms). */
  commandTimeoutMs?: number;
  /** Longest time one connection attempt may take (default 2000 ms). */
  connectTimeoutMs?: number;
  /** Connection loss and recovery are logged here (default: nothing is logged). */
  logger?: Logger;
}

/** The Redis stores, as the `store` label of arc_redis_errors_total. */
export type RedisStoreName = 'chat' | 'task' | 'queue' | 'outbox' | 'rate-limit';

/**
 * Told of every failed operation of a store's RedisConnection (metrics/redis-error-metrics.ts):
 * the store and the operation name (a literal of the store's code: 'create', 'get', …). Must only
 * add to numbers. A store that has one offers `observeRedisErrors(observer)`.
 */
export interface RedisErrorObserver {
  onRedisError(store: RedisStoreName, op: string): void;
}

const DEFAULT_URL = 'redis://127.0.0.1:6379';
const DEFAULT_COMMAND_TIMEOUT_MS = 1000;
const DEFAULT_CONNECT_TIMEOUT_MS = 2000;
/** Reconnect backoff: 100 ms per failed attempt, at most this much. */
const MAX_RECONNECT_DELAY_MS = 2000;

/** The ioredis options the stores use for the client they create. */
export function redisClientOptions(options: { commandTimeoutMs?: number; connectTimeoutMs?: number } = {}): RedisOptions {
  return {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    retryStrategy: (times: number) => Math.min(times * 100, MAX_RECONNECT_DELAY_MS),
  };
}

export class RedisConnection {
  readonly client: Redis;
  readonly commandTimeoutMs: number;
  /** Set through the store's `observeRedisErrors` (metrics). */
  observer: RedisErrorObserver | undefined = undefined;
  private readonly ownsClient: boolean;
  private readonly logger: Logger;
  private disposed = false;
  /** True after the connection was lost (or never came up), until it is ready again. */
  private lost = false;
  /** Resolves when the connection attempt under way ends (or after commandTimeoutMs). */
  private attempt: Promise<void> | undefined;

  private readonly onError = (err: Error): void => this.connectionTrouble(err.message);
  private readonly onClose = (): void => this.connectionTrouble('connection closed');
  private readonly onReady = (): void => {
    if (this.lost) this.logger.info(`redis ${this.what}: connection restored`);
    this.lost = false;
  };

  /**
   * @param what  the store in messages, e.g. 'chat store' ("Redis chat store get failed: …")
   * @param owner the class in argument errors, e.g. 'RedisChatStore'
   * @param store the store in metrics, e.g. 'chat'
   */
  constructor(
    private readonly what: string,
    owner: string,
    options: RedisConnectionOptions,
    private readonly store: RedisStoreName,
  ) {
    if (options.client && options.url !== undefined) throw new TypeError(`${owner}: give either url or client, not both`);
    this.commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.logger = options.logger ?? silentLogger;
    this.ownsClient = options.client === undefined;
    this.client = options.client ?? new Redis(options.url ?? DEFAULT_URL, redisClientOptions(options));
    // An 'error' event without a listener would be reported by ioredis on the console; with one,
    // connection trouble is only logged (once per outage) and surfaces as rejected operations.
    this.client.on('error', this.onError);
    this.client.on('close', this.onClose);
    this.client.on('ready', this.onReady);
  }

  /** Runs one operation: bounded in time, and failing with a message that names the store. */
  async run<T>(op: string, command: () => Promise<T>): Promise<T> {
    if (this.disposed) throw new Error(`Redis ${this.what} ${op}: the store is disposed`);
    try {
      await this.connectionAttempt();
      return await withTimeout(command(), this.commandTimeoutMs, op);
    } catch (err) {
      this.observer?.onRedisError(this.store, op);
      throw new Error(`Redis ${this.what} ${op} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  /**
   * Closes the connection it created (QUIT, or a hard disconnect when QUIT fails or takes
   * longer than `commandTimeoutMs`). An injected client is left as it is. Idempotent.
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (!this.ownsClient) {
      this.detach();
      return;
    }
    try {
      await withTimeout(this.client.quit(), this.commandTimeoutMs, 'quit');
    } catch {
      this.client.disconnect();
    }
    // Listeners stay on a client we created: a late 'error' must still find one.
  }

  /**
   * While a connection attempt is under way (at start-up, or a reconnect in progress), waits
   * for it, at most `commandTimeoutMs`: without an offline queue the command would otherwise
   * fail at once. While disconnected between attempts, commands fail at once.
   */
  private connectionAttempt(): Promise<void> {
    const status = this.client.status;
    if (status !== 'wait' && status !== 'connecting' && status !== 'connect') return Promise.resolve();
    if (status === 'wait') this.client.connect().catch(() => undefined);
    // One waiter shared by all operations, however many arrive during the attempt.
    this.attempt ??= new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.client.off('ready', done);
        this.client.off('close', done);
        this.client.off('end', done);
        this.attempt = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.commandTimeoutMs);
      this.client.once('ready', done);
      this.client.once('close', done);
      this.client.once('end', done);
    });
    return this.attempt;
  }

  private connectionTrouble(message: string): void {
    if (this.disposed) return;
    if (!this.lost) {
      this.lost = true;
      this.logger.warn(`redis ${this.what}: connection lost; reconnecting`, { err: message });
    } else {
      this.logger.debug(`redis ${this.what}: still disconnected`, { err: message });
    }
  }

  private detach(): void {
    this.client.off('error', this.onError);
    this.client.off('close', this.onClose);
    this.client.off('ready', this.onReady);
  }
}

/** A positive duration in seconds as whole milliseconds (at least 1), for PEXPIRE. */
export function ttlMs(seconds: number, owner: string, name: string): number {
  if (!Number.isFinite(seconds) || seconds <= 0) throw new RangeError(`${owner}: ${name} must be a positive number`);
  return Math.max(1, Math.round(seconds * 1000));
}

function withTimeout<T>(p: Promise<T>, ms: number, op: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${op}: no answer from Redis within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
