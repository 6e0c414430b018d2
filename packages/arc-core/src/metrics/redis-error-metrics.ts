/**
 * Failed Redis operations of the Redis stores a server uses (redis/redis-connection.ts):
 *
 *   arc_redis_errors_total{store,op}   counter; store chat, task, queue, outbox or rate-limit;
 *                                      op the store's operation (create, get, touch, close,
 *                                      update, enqueue, push, count, ping, …); a timeout counts
 *                                      as an error
 *
 * What is counted is an operation that failed in RedisConnection.run: commands of the request
 * path and of the producers. The BullMQ workers' own connections (taking jobs) are not. Labels
 * stay bounded: the stores are a fixed set and ops are literals of their code (at most MAX_OPS
 * per store get their own series, the rest share "other").
 *
 * Same style as request-metrics.ts: plain numbers, handed to prom-client when scraped.
 */
import { Counter, type Registry } from 'prom-client';
import type { RedisErrorObserver, RedisStoreName } from '../redis/redis-connection';

/** Operations per store with series of their own. */
export const MAX_OPS = 32;
const OTHER = 'other';

interface Cell {
  readonly store: RedisStoreName;
  readonly op: string;
  count: number;
  flushed: number;
}

/** A store that reports its failed Redis operations (the Redis stores of @arc/core/redis). */
interface ObservableStore {
  observeRedisErrors(observer: RedisErrorObserver): void;
}

export class RedisErrorMetrics implements RedisErrorObserver {
  private readonly errors: Counter<'store' | 'op'>;
  private readonly stores = new Map<RedisStoreName, Map<string, Cell>>();

  constructor(registry: Registry) {
    this.errors = new Counter({
      name: 'arc_redis_errors_total',
      help: 'Redis operations that failed (error or timeout), by store and operation',
      labelNames: ['store', 'op'] as const,
      registers: [registry],
      collect: () => this.flush(),
    });
  }

  /** Counts the failed operations of `store` if it is a Redis store; other stores are left alone. */
  watch(store: unknown): void {
    if (typeof store === 'object' && store !== null && typeof (store as Partial<ObservableStore>).observeRedisErrors === 'function') {
      (store as ObservableStore).observeRedisErrors(this);
    }
  }

  onRedisError(store: RedisStoreName, op: string): void {
    let ops = this.stores.get(store);
    if (ops === undefined) {
      ops = new Map();
      this.stores.set(store, ops);
    }
    const cell = ops.get(op) ?? this.newCell(ops, store, op);
    cell.count++;
  }

  private newCell(ops: Map<string, Cell>, store: RedisStoreName, op: string): Cell {
    const label = ops.size < MAX_OPS ? op : OTHER;
    let cell = ops.get(label);
    if (cell === undefined) {
      cell = { store, op: label, count: 0, flushed: 0 };
      ops.set(label, cell);
    }
    return cell;
  }

  /** At scrape time: what each cell counted since the last scrape. */
  private flush(): void {
    for (const ops of this.stores.values()) {
      for (const cell of ops.values()) {
        const delta = cell.count - cell.flushed;
        if (delta === 0) continue;
        this.errors.inc({ store: cell.store, op: cell.op }, delta);
        cell.flushed = cell.count;
      }
    }
  }
}
