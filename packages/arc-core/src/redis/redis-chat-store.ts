/**
 * A ChatStore in Redis, so that any replica can serve any chat. Import it from
 * `@arc/core/redis`; the protocol core never loads ioredis.
 *
 * Key layout: one HASH per chat, named by `chatKey()` in keys.ts
 * (`<keyPrefix>chat:<agentId>:<chatId>`, keyPrefix defaults to 'arc:'); nothing else is written.
 *
 *   Hash fields:
 *     chatId, agentId, requestAgent, status ('ACTIVE' | 'PAUSED' | 'CLOSED'),
 *     createdAt, updatedAt, closedAt (ISO-8601 strings; closedAt only once closed)
 *     reason     JSON: '"text"' or 'null'; absent until the chat is closed
 *     metadata   JSON object; absent when the chat has none
 *
 * Lifetime: every key has a TTL. An ACTIVE chat gets `idleTtlSeconds` (default 24 h) at create
 * and again at each `touch` (a chat.message), so an abandoned chat - or one whose create timed
 * out here but ran in Redis - is forgotten by Redis itself. Closing sets status CLOSED and a TTL
 * of `closedTtlSeconds` (default 24 h), so late callers get "already closed" for a day.
 *
 * Atomicity: create, touch and close are Lua scripts (scripts.ts), so create never overwrites
 * and of concurrent closers exactly one wins.
 *
 * Failure: Redis trouble is an error, never a hang. The client does not queue commands while
 * disconnected (enableOfflineQueue false), does not resend commands that were in flight when the
 * connection dropped (a close must not run twice), times commands out after `commandTimeoutMs`,
 * and reconnects forever with a capped backoff (100 ms, 200 ms, … at most 2 s), so the service
 * recovers by itself when Redis is back. An operation issued while a connection attempt is in
 * progress waits for it at most `commandTimeoutMs`. Every operation is also bounded by its own
 * timer, so even an injected client without `commandTimeout` cannot hang a request.
 * The chat lifecycle turns these errors into -41002 / 503 with retryAfter.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { silentLogger, type Logger } from '../logging/logger';
import type { ChatStatus } from '../protocol/types';
import { CHAT_IDLE_TTL_SECONDS, CLOSED_CHAT_TTL_SECONDS, type ChatRecord, type ChatStore, type CloseOutcome } from '../state/chat-store';
import { chatKey } from './keys';
import { CLOSE_CHAT, CREATE_CHAT, TOUCH_CHAT, runScript } from './scripts';

export interface RedisChatStoreOptions {
  /** Redis URL, e.g. redis://:password@host:6379/0 (default redis://127.0.0.1:6379). Not with `client`. */
  url?: string;
  /**
   * A client to use instead of one created from `url`. The store does not own it: `dispose()`
   * leaves it connected. Configure it like `redisClientOptions()` for the same failure behaviour.
   */
  client?: Redis;
  /** Prefix of every key (default 'arc:'). */
  keyPrefix?: string;
  /** How long a closed chat is remembered (default CLOSED_CHAT_TTL_SECONDS, 24 h). */
  closedTtlSeconds?: number;
  /** How long an ACTIVE chat lives without use (default CHAT_IDLE_TTL_SECONDS, 24 h). */
  idleTtlSeconds?: number;
  /** Longest time one operation may take before it rejects (default 1000 ms). */
  commandTimeoutMs?: number;
  /** Longest time one connection attempt may take (default 2000 ms). */
  connectTimeoutMs?: number;
  /** Connection loss and recovery are logged here (default: nothing is logged). */
  logger?: Logger;
}

const DEFAULT_URL = 'redis://127.0.0.1:6379';
const DEFAULT_PREFIX = 'arc:';
const DEFAULT_COMMAND_TIMEOUT_MS = 1000;
const DEFAULT_CONNECT_TIMEOUT_MS = 2000;
/** Reconnect backoff: 100 ms per failed attempt, at most this much. */
const MAX_RECONNECT_DELAY_MS = 2000;

/** The ioredis options the store uses for the client it creates. */
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

export class RedisChatStore implements ChatStore {
  /** The ioredis client (for diagnostics and tests). */
  readonly client: Redis;
  readonly keyPrefix: string;
  private readonly ownsClient: boolean;
  private readonly closedTtlMs: number;
  private readonly idleTtlMs: number;
  private readonly idleTtlArg: string;
  private readonly commandTimeoutMs: number;
  private readonly logger: Logger;
  private disposed = false;
  /** True after the connection was lost (or never came up), until it is ready again. */
  private lost = false;
  /** Resolves when the connection attempt under way ends (or after commandTimeoutMs). */
  private attempt: Promise<void> | undefined;

  private readonly onError = (err: Error): void => this.connectionTrouble(err.message);
  private readonly onClose = (): void => this.connectionTrouble('connection closed');
  private readonly onReady = (): void => {
    if (this.lost) this.logger.info('redis chat store: connection restored');
    this.lost = false;
  };

  constructor(options: RedisChatStoreOptions = {}) {
    if (options.client && options.url !== undefined) throw new TypeError('RedisChatStore: give either url or client, not both');
    this.closedTtlMs = ttlMs(options.closedTtlSeconds ?? CLOSED_CHAT_TTL_SECONDS, 'closedTtlSeconds');
    this.idleTtlMs = ttlMs(options.idleTtlSeconds ?? CHAT_IDLE_TTL_SECONDS, 'idleTtlSeconds');
    this.idleTtlArg = String(this.idleTtlMs);
    this.commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.keyPrefix = options.keyPrefix ?? DEFAULT_PREFIX;
    this.logger = options.logger ?? silentLogger;
    this.ownsClient = options.client === undefined;
    this.client = options.client ?? new Redis(options.url ?? DEFAULT_URL, redisClientOptions(options));
    // An 'error' event without a listener would be reported by ioredis on the console; with one,
    // connection trouble is only logged (once per outage) and surfaces as rejected operations.
    this.client.on('error', this.onError);
    this.client.on('close', this.onClose);
    this.client.on('ready', this.onReady);
  }

  /** The key of a chat of this store. */
  keyOf(agentId: string, chatId: string): string {
    return chatKey(this.keyPrefix, agentId, chatId);
  }

  async create(record: ChatRecord): Promise<boolean> {
    const fields: string[] = [
      'chatId',
      record.chatId,
      'agentId',
      record.agentId,
      'requestAgent',
      record.requestAgent,
      'status',
      record.status,
      'createdAt',
      record.createdAt,
      'updatedAt',
      record.updatedAt,
    ];
    if (record.closedAt !== undefined) fields.push('closedAt', record.closedAt);
    if (record.reason !== undefined) fields.push('reason', JSON.stringify(record.reason));
    if (record.metadata !== undefined) fields.push('metadata', JSON.stringify(record.metadata));
    // Every chat expires: after closedTtl once closed, after idleTtl without use while active (so
    // a chat whose create timed out on our side, but ran in Redis, is cleaned up too).
    const ttl = record.status === 'CLOSED' ? this.closedTtlMs : this.idleTtlMs;
    const created = await this.run('create', () =>
      runScript(this.client, CREATE_CHAT, this.keyOf(record.agentId, record.chatId), [String(ttl), ...fields]),
    );
    return created === 1;
  }

  async get(agentId: string, chatId: string): Promise<ChatRecord | undefined> {
    const hash = await this.run('get', () => this.client.hgetall(this.keyOf(agentId, chatId)));
    return Object.keys(hash).length === 0 ? undefined : decodeChat(hash);
  }

  async touch(agentId: string, chatId: string): Promise<ChatRecord | undefined> {
    const flat = await this.run('touch', () => runScript(this.client, TOUCH_CHAT, this.keyOf(agentId, chatId), [this.idleTtlArg]));
    if (!Array.isArray(flat)) throw new Error('Redis chat store touch: unexpected reply from Redis');
    return flat.length === 0 ? undefined : decodeChat(pairs(flat));
  }

  async close(agentId: string, chatId: string, reason: string | null, closedAt: string): Promise<CloseOutcome> {
    const reply = await this.run('close', () =>
      runScript(this.client, CLOSE_CHAT, this.keyOf(agentId, chatId), [closedAt, JSON.stringify(reason), String(this.closedTtlMs)]),
    );
    if (!Array.isArray(reply) || reply.length === 0) throw new Error('Redis chat store close: unexpected reply from Redis');
    const [outcome, ...flat] = reply as unknown[];
    if (outcome === 'not-found' || outcome === 'already-closed') return { ok: false, reason: outcome };
    if (outcome !== 'ok') throw new Error('Redis chat store close: unexpected reply from Redis');
    return { ok: true, chat: decodeChat(pairs(flat)) };
  }

  async delete(agentId: string, chatId: string): Promise<void> {
    await this.run('delete', () => this.client.del(this.keyOf(agentId, chatId)));
  }

  async ping(): Promise<void> {
    await this.run('ping', () => this.client.ping());
  }

  /**
   * Closes the connection the store created (QUIT, or a hard disconnect when QUIT fails or takes
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

  // ---- internals ----

  /** Runs one operation: bounded in time, and failing with a message that names the store. */
  private async run<T>(op: string, command: () => Promise<T>): Promise<T> {
    if (this.disposed) throw new Error(`Redis chat store ${op}: the store is disposed`);
    try {
      await this.connectionAttempt();
      return await withTimeout(command(), this.commandTimeoutMs, op);
    } catch (err) {
      throw new Error(`Redis chat store ${op} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
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
      this.logger.warn('redis chat store: connection lost; reconnecting', { err: message });
    } else {
      this.logger.debug('redis chat store: still disconnected', { err: message });
    }
  }

  private detach(): void {
    this.client.off('error', this.onError);
    this.client.off('close', this.onClose);
    this.client.off('ready', this.onReady);
  }
}

function ttlMs(seconds: number, name: string): number {
  if (!Number.isFinite(seconds) || seconds <= 0) throw new RangeError(`RedisChatStore: ${name} must be a positive number`);
  return Math.max(1, Math.round(seconds * 1000));
}

/** A flat [field, value, …] reply as an object. */
function pairs(flat: unknown[]): Record<string, string> {
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) hash[String(flat[i])] = String(flat[i + 1]);
  return hash;
}

function decodeChat(hash: Record<string, string>): ChatRecord {
  const { chatId, agentId, requestAgent, status, createdAt, updatedAt } = hash;
  if (
    chatId === undefined ||
    agentId === undefined ||
    requestAgent === undefined ||
    status === undefined ||
    createdAt === undefined ||
    updatedAt === undefined
  ) {
    throw new Error('Redis chat store: malformed chat record');
  }
  const chat: ChatRecord = { chatId, agentId, requestAgent, status: status as ChatStatus, createdAt, updatedAt };
  if (hash.closedAt !== undefined) chat.closedAt = hash.closedAt;
  if (hash.reason !== undefined) chat.reason = JSON.parse(hash.reason) as string | null;
  if (hash.metadata !== undefined) chat.metadata = JSON.parse(hash.metadata) as Record<string, unknown>;
  return chat;
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
