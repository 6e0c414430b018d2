/**
 * A TaskStore in Redis, so that any replica answers for any task. Import it from
 * `@arc/core/redis`; the protocol core never loads ioredis.
 *
 * Key layout: one HASH per task, named by `taskKey()` in keys.ts
 * (`<keyPrefix>task:<agentId>:<taskId>`, keyPrefix defaults to 'arc:'); nothing else is written.
 *
 *   Hash fields:
 *     json       the whole TaskRecord as JSON (the only field read back)
 *     version    the record's version, a decimal string: what the compare-and-set compares
 *     status     the record's status, for people looking with redis-cli (never read)
 *
 * Lifetime: every write (create, and each update that changes the task) sets the key's TTL to
 * `retentionSeconds` (default 7 days), so a terminal task is kept that long after it ended and an
 * abandoned one that long after its last change. Redis forgets them by itself.
 *
 * Atomicity: create is a Lua script that never overwrites. `update` reads the record, applies the
 * mutation in this process, and writes with a Lua compare-and-set on `version` (scripts.ts); when
 * another writer got there first it reads again and retries, up to `maxUpdateAttempts` times, with
 * a short random pause so that writers racing on one task spread out.
 *
 * Failure: as RedisChatStore (redis-connection.ts): errors, never hangs; every operation bounded
 * by `commandTimeoutMs`; messages name the store and operation ("Redis task store update failed:
 * …"), which the task engine turns into -41002 / 503. An error thrown by the mutation itself is
 * passed through unchanged.
 */
import type { Redis } from 'ioredis';
import { TASK_RETENTION_SECONDS, type TaskMutation, type TaskRecord, type TaskStore, type UpdateOutcome } from '../state/task-store';
import { isoNow } from '../util/iso-now';
import { taskKey } from './keys';
import { RedisConnection, ttlMs, type RedisConnectionOptions, type RedisErrorObserver } from './redis-connection';
import { CREATE_TASK, UPDATE_TASK, runScript } from './scripts';

export interface RedisTaskStoreOptions extends RedisConnectionOptions {
  /** Prefix of every key (default 'arc:'). */
  keyPrefix?: string;
  /** A task is forgotten this long after its last change (default TASK_RETENTION_SECONDS, 7 days). */
  retentionSeconds?: number;
  /** Compare-and-set attempts of one update before it gives up with an error (default 50). */
  maxUpdateAttempts?: number;
}

const DEFAULT_PREFIX = 'arc:';
const DEFAULT_MAX_UPDATE_ATTEMPTS = 50;
/** Longest random pause between two attempts of one update. */
const MAX_RETRY_PAUSE_MS = 50;

export class RedisTaskStore implements TaskStore {
  /** The ioredis client (for diagnostics and tests). */
  readonly client: Redis;
  readonly keyPrefix: string;
  private readonly connection: RedisConnection;
  private readonly retentionArg: string;
  private readonly maxAttempts: number;

  constructor(options: RedisTaskStoreOptions = {}) {
    this.retentionArg = String(ttlMs(options.retentionSeconds ?? TASK_RETENTION_SECONDS, 'RedisTaskStore', 'retentionSeconds'));
    const attempts = options.maxUpdateAttempts ?? DEFAULT_MAX_UPDATE_ATTEMPTS;
    if (!Number.isInteger(attempts) || attempts < 1) throw new RangeError('RedisTaskStore: maxUpdateAttempts must be a positive integer');
    this.maxAttempts = attempts;
    this.keyPrefix = options.keyPrefix ?? DEFAULT_PREFIX;
    this.connection = new RedisConnection('task store', 'RedisTaskStore', options, 'task');
    this.client = this.connection.client;
  }

  /** The key of a task of this store. */
  keyOf(agentId: string, taskId: string): string {
    return taskKey(this.keyPrefix, agentId, taskId);
  }

  async create(task: TaskRecord): Promise<boolean> {
    const json = JSON.stringify(task);
    const key = this.keyOf(task.agentId, task.taskId);
    const created = await this.run('create', () =>
      runScript(this.client, CREATE_TASK, key, [this.retentionArg, json, String(task.version), task.status]),
    );
    return created === 1;
  }

  async get(agentId: string, taskId: string): Promise<TaskRecord | undefined> {
    return (await this.read('get', this.keyOf(agentId, taskId)))?.task;
  }

  async update(agentId: string, taskId: string, mutate: TaskMutation): Promise<UpdateOutcome> {
    const key = this.keyOf(agentId, taskId);
    for (let attempt = 1; ; attempt++) {
      const stored = await this.read('update', key);
      if (!stored) return { found: false };
      const { json, task: previous } = stored;
      // mutate gets its own copy; its errors are the caller's (an illegal transition), not ours.
      const next = mutate(JSON.parse(json) as TaskRecord);
      if (next === undefined) return { found: true, changed: false, task: JSON.parse(json) as TaskRecord, previous };
      if (next.taskId !== taskId || next.agentId !== agentId)
        throw new Error('RedisTaskStore update: a mutation must not change taskId or agentId');
      next.version = previous.version + 1;
      next.updatedAt = isoNow();
      const written = JSON.stringify(next);
      const outcome = await this.run('update', () =>
        runScript(this.client, UPDATE_TASK, key, [String(previous.version), String(next.version), written, next.status, this.retentionArg]),
      );
      if (outcome === 1) return { found: true, changed: true, task: JSON.parse(written) as TaskRecord, previous };
      // Gone between our read and our write: it expired.
      if (outcome === -1) return { found: false };
      if (outcome !== 0) throw new Error('Redis task store update failed: unexpected reply from Redis');
      if (attempt >= this.maxAttempts) {
        throw new Error(
          `Redis task store update failed: the task changed under ${attempt} attempts in a row (too many concurrent writers)`,
        );
      }
      await pause(Math.random() * Math.min(2 ** attempt, MAX_RETRY_PAUSE_MS));
    }
  }

  async ping(): Promise<void> {
    await this.run('ping', () => this.client.ping());
  }

  /** Counts this store's failed Redis operations (metrics: arc_redis_errors_total). */
  observeRedisErrors(observer: RedisErrorObserver): void {
    this.connection.observer = observer;
  }

  /**
   * Closes the connection the store created (QUIT, or a hard disconnect when QUIT fails or takes
   * longer than `commandTimeoutMs`). An injected client is left as it is. Idempotent.
   */
  async dispose(): Promise<void> {
    await this.connection.dispose();
  }

  // ---- internals ----

  /** The task's JSON and the record it holds, or undefined when there is no such task. */
  private read(op: string, key: string): Promise<{ json: string; task: TaskRecord } | undefined> {
    return this.run(op, async () => {
      const json = await this.client.hget(key, 'json');
      return json === null ? undefined : { json, task: decodeTask(json) };
    });
  }

  private run<T>(op: string, command: () => Promise<T>): Promise<T> {
    return this.connection.run(op, command);
  }
}

/** The record in `json`, checked to be an object with an integer version (what update relies on). */
function decodeTask(json: string): TaskRecord {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new Error('malformed task record (not JSON)');
  }
  if (typeof value !== 'object' || value === null || !Number.isInteger((value as { version?: unknown }).version)) {
    throw new Error('malformed task record');
  }
  return value as TaskRecord;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
