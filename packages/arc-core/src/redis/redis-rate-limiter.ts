/**
 * Rate-limit counters in Redis (rate-limiter-flexible's RateLimiterRedis), shared by every
 * replica that uses the same Redis and key prefix: three replicas behind nginx enforce one limit
 * together. Keys: `<keyPrefix>rl:agent:<agentId>` and `<keyPrefix>rl:caller:<agentId>:<caller>`
 * (keys.ts), each a counter that expires with its window (one Lua script: SET NX EX, INCRBY,
 * PTTL).
 *
 * Failing: the connection is the stores' (redis-connection.ts): no offline queue, commands timed
 * out after `commandTimeoutMs`, reconnects forever with a capped backoff, one warning per outage.
 * A count that cannot be made rejects, quickly, and the rate-limit hook applies its
 * RATE_LIMIT_REDIS_FAILURE choice; when Redis is back, counting resumes by itself.
 *
 * A key found over its limit is also remembered in this process until its window ends
 * (`inMemoryBlockOnConsumed`), so a caller's flood of refused requests costs no more Redis calls.
 */
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { overLimit, WITHIN_LIMIT, type RateCounter, type RateCounterStore, type RateLimitScope } from '../limits/rate-counter';
import type { RateLimitRule } from '../limits/rate-limit-rule';
import { rateLimitKey } from './keys';
import { RedisConnection, type RedisConnectionOptions, type RedisErrorObserver } from './redis-connection';

export interface RedisRateCounterStoreOptions extends RedisConnectionOptions {
  /** Prefix of every key (default 'arc:'); replicas that share limits use the same one. */
  keyPrefix?: string;
}

export class RedisRateCounterStore implements RateCounterStore {
  readonly kind = 'redis';
  readonly keyPrefix: string;
  private readonly connection: RedisConnection;

  constructor(options: RedisRateCounterStoreOptions = {}) {
    this.keyPrefix = options.keyPrefix ?? 'arc:';
    this.connection = new RedisConnection('rate limiter', 'RedisRateCounterStore', options, 'rate-limit');
  }

  counter(scope: RateLimitScope, rule: RateLimitRule): RateCounter {
    const limiter = new RateLimiterRedis({
      storeClient: this.connection.client,
      points: rule.points,
      duration: rule.windowMs / 1000,
      // Keys come whole from keys.ts.
      keyPrefix: '',
      // Without a ready connection, fail at once rather than wait for a command timeout.
      rejectIfRedisNotReady: true,
      inMemoryBlockOnConsumed: rule.points + 1,
    });
    const prefix = this.keyPrefix;
    return {
      consume: (agentId, caller) =>
        this.connection.run('count', () => limiter.consume(rateLimitKey(prefix, scope, agentId, caller)).then(WITHIN_LIMIT, overLimit)),
    };
  }

  /** Resolves when Redis answers PING. */
  async ping(): Promise<void> {
    await this.connection.run('ping', () => this.connection.client.ping());
  }

  /** Counts this store's failed Redis operations (metrics: arc_redis_errors_total). */
  observeRedisErrors(observer: RedisErrorObserver): void {
    this.connection.observer = observer;
  }

  /** Closes the connection it created (an injected client is left open). */
  close(): Promise<void> {
    return this.connection.dispose();
  }
}
