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
 *     state      JSON object: the agent's own state of the chat (saveState); absent until saved
 *
 * Lifetime: every key has a TTL. An ACTIVE chat gets `idleTtlSeconds` (default 24 h) at create
 * and again at each `touch` (a chat.message), so an abandoned chat - or one whose create timed
 * out here but ran in Redis - is forgotten by Redis itself. Closing sets status CLOSED and a TTL
 * of `closedTtlSeconds` (default 24 h), so late callers get "already closed" for a day.
 *
 * Atomicity: create, touch and close are Lua scripts (scripts.ts), so create never overwrites
 * and of concurrent closers exactly one wins.
 *
 * Failure: Redis trouble is an error, never a hang, see redis-connection.ts (shared with the
 * task store): no offline queue, no resent commands, every operation bounded by `commandTimeoutMs`,
 * reconnects forever with a capped backoff, errors naming the store and operation.
 * The chat lifecycle turns these errors into -41002 / 503 with retryAfter.
 */
import type { Redis } from 'ioredis';
import type { ChatStatus } from '../protocol/types';
import {
  CHAT_IDLE_TTL_SECONDS,
  CLOSED_CHAT_TTL_SECONDS,
  type ChatRecord,
  type ChatStore,
  type CloseOutcome,
  type SaveStateOutcome,
} from '../state/chat-store';
import { chatKey } from './keys';
import { RedisConnection, ttlMs, type RedisConnectionOptions, type RedisErrorObserver } from './redis-connection';
import { CLOSE_CHAT, CREATE_CHAT, SAVE_CHAT_STATE, TOUCH_CHAT, runScript } from './scripts';

export { redisClientOptions } from './redis-connection';

export interface RedisChatStoreOptions extends RedisConnectionOptions {
  /** Prefix of every key (default 'arc:'). */
  keyPrefix?: string;
  /** How long a closed chat is remembered (default CLOSED_CHAT_TTL_SECONDS, 24 h). */
  closedTtlSeconds?: number;
  /** How long an ACTIVE chat lives without use (default CHAT_IDLE_TTL_SECONDS, 24 h). */
  idleTtlSeconds?: number;
}

const DEFAULT_PREFIX = 'arc:';

export class RedisChatStore implements ChatStore {
  /** The ioredis client (for diagnostics and tests). */
  readonly client: Redis;
  readonly keyPrefix: string;
  private readonly connection: RedisConnection;
  private readonly closedTtlMs: number;
  private readonly idleTtlMs: number;
  private readonly idleTtlArg: string;

  constructor(options: RedisChatStoreOptions = {}) {
    this.closedTtlMs = ttlMs(options.closedTtlSeconds ?? CLOSED_CHAT_TTL_SECONDS, 'RedisChatStore', 'closedTtlSeconds');
    this.idleTtlMs = ttlMs(options.idleTtlSeconds ?? CHAT_IDLE_TTL_SECONDS, 'RedisChatStore', 'idleTtlSeconds');
    this.idleTtlArg = String(this.idleTtlMs);
    this.keyPrefix = options.keyPrefix ?? DEFAULT_PREFIX;
    this.connection = new RedisConnection('chat store', 'RedisChatStore', options, 'chat');
    this.client = this.connection.client;
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
    if (record.state !== undefined) fields.push('state', JSON.stringify(record.state));
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

  async saveState(agentId: string, chatId: string, state: Record<string, unknown>): Promise<SaveStateOutcome> {
    const reply = await this.run('saveState', () =>
      runScript(this.client, SAVE_CHAT_STATE, this.keyOf(agentId, chatId), [JSON.stringify(state)]),
    );
    if (reply !== 'ok' && reply !== 'not-found' && reply !== 'closed')
      throw new Error('Redis chat store saveState: unexpected reply from Redis');
    return reply;
  }

  async delete(agentId: string, chatId: string): Promise<void> {
    await this.run('delete', () => this.client.del(this.keyOf(agentId, chatId)));
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

  private run<T>(op: string, command: () => Promise<T>): Promise<T> {
    return this.connection.run(op, command);
  }
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
  if (hash.state !== undefined) chat.state = JSON.parse(hash.state) as Record<string, unknown>;
  return chat;
}
