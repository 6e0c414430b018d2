/**
 * In-process chat store: the single server's embedded default. Every chat carries its expiry
 * (idle TTL while ACTIVE, closed TTL once CLOSED); expired chats are invisible at once and
 * dropped by a sweep on an unref'd timer (it never keeps the process alive). Active chats per
 * agent are capped, so no client can grow the heap without bound.
 */
import {
  CHAT_IDLE_TTL_SECONDS,
  CLOSED_CHAT_TTL_SECONDS,
  ChatStoreFullError,
  MAX_ACTIVE_CHATS_PER_AGENT,
  type ChatRecord,
  type ChatStore,
  type CloseOutcome,
  type SaveStateOutcome,
} from './chat-store';

export interface MemoryChatStoreOptions {
  closedTtlSeconds?: number;
  /** An ACTIVE chat unused this long expires (default CHAT_IDLE_TTL_SECONDS, 24 h). */
  idleTtlSeconds?: number;
  /** Active chats per agent before create rejects with ChatStoreFullError (default 100,000). */
  maxActivePerAgent?: number;
  /** How often expired chats are swept; defaults to a tenth of the shorter TTL, at most 10 minutes. */
  sweepIntervalMs?: number;
  now?: () => number;
}

interface Entry {
  chat: ChatRecord;
  /** Epoch ms after which the chat is gone. */
  expiresAt: number;
}

interface AgentChats {
  entries: Map<string, Entry>;
  /** Entries with status ACTIVE (kept in step on create, close, delete and expiry). */
  active: number;
  /** When a full agent's chats were last swept on demand (epoch ms). */
  sweptAt: number;
}

const ON_DEMAND_SWEEP_MS = 1000;

export class MemoryChatStore implements ChatStore {
  /** agentId → chats: no per-call key strings to build. */
  private readonly agents = new Map<string, AgentChats>();
  private readonly closedTtlMs: number;
  private readonly idleTtlMs: number;
  private readonly maxActive: number;
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout;

  constructor(options: MemoryChatStoreOptions = {}) {
    this.closedTtlMs = positive(options.closedTtlSeconds ?? CLOSED_CHAT_TTL_SECONDS, 'closedTtlSeconds') * 1000;
    this.idleTtlMs = positive(options.idleTtlSeconds ?? CHAT_IDLE_TTL_SECONDS, 'idleTtlSeconds') * 1000;
    this.maxActive = positive(options.maxActivePerAgent ?? MAX_ACTIVE_CHATS_PER_AGENT, 'maxActivePerAgent');
    this.now = options.now ?? Date.now;
    const interval = options.sweepIntervalMs ?? Math.min(Math.min(this.closedTtlMs, this.idleTtlMs) / 10, 600_000);
    this.timer = setInterval(() => this.sweep(), Math.max(interval, 10));
    this.timer.unref();
  }

  async create(record: ChatRecord): Promise<boolean> {
    let chats = this.agents.get(record.agentId);
    if (!chats) {
      chats = { entries: new Map(), active: 0, sweptAt: -Infinity };
      this.agents.set(record.agentId, chats);
    }
    const now = this.now();
    const existing = chats.entries.get(record.chatId);
    if (existing) {
      if (existing.expiresAt > now) return false;
      this.remove(chats, record.chatId);
    }
    const active = record.status !== 'CLOSED';
    if (active && chats.active >= this.maxActive) {
      // Expired chats may still be counted until the next sweep: sweep before refusing, but at
      // most once a second, so that a full agent does not walk all its chats for every refusal.
      if (now - chats.sweptAt >= ON_DEMAND_SWEEP_MS) {
        chats.sweptAt = now;
        this.sweepAgent(chats);
      }
      if (chats.active >= this.maxActive) throw new ChatStoreFullError(record.agentId, this.maxActive);
    }
    chats.entries.set(record.chatId, { chat: { ...record }, expiresAt: now + (active ? this.idleTtlMs : this.closedTtlMs) });
    if (active) chats.active++;
    return true;
  }

  async get(agentId: string, chatId: string): Promise<ChatRecord | undefined> {
    const chats = this.agents.get(agentId);
    const entry = chats && this.live(chats, chatId);
    return entry ? copyOf(entry.chat) : undefined;
  }

  async touch(agentId: string, chatId: string): Promise<ChatRecord | undefined> {
    const chats = this.agents.get(agentId);
    const entry = chats && this.live(chats, chatId);
    if (!entry) return undefined;
    if (entry.chat.status !== 'CLOSED') entry.expiresAt = this.now() + this.idleTtlMs;
    return copyOf(entry.chat);
  }

  async close(agentId: string, chatId: string, reason: string | null, closedAt: string): Promise<CloseOutcome> {
    const chats = this.agents.get(agentId);
    const entry = chats && this.live(chats, chatId);
    if (!chats || !entry) return { ok: false, reason: 'not-found' };
    const chat = entry.chat;
    if (chat.status === 'CLOSED') return { ok: false, reason: 'already-closed' };
    chat.status = 'CLOSED';
    chat.closedAt = closedAt;
    chat.updatedAt = closedAt;
    chat.reason = reason;
    const at = Date.parse(closedAt);
    entry.expiresAt = (Number.isNaN(at) ? this.now() : at) + this.closedTtlMs;
    chats.active--;
    return { ok: true, chat: { ...chat } };
  }

  async saveState(agentId: string, chatId: string, state: Record<string, unknown>): Promise<SaveStateOutcome> {
    const chats = this.agents.get(agentId);
    const entry = chats && this.live(chats, chatId);
    if (!entry) return 'not-found';
    if (entry.chat.status === 'CLOSED') return 'closed';
    // A copy: the caller's object may change after it was saved, as it would not in Redis.
    entry.chat.state = structuredClone(state);
    return 'ok';
  }

  async delete(agentId: string, chatId: string): Promise<void> {
    const chats = this.agents.get(agentId);
    if (chats) this.remove(chats, chatId);
  }

  async ping(): Promise<void> {
    /* always ready */
  }

  async dispose(): Promise<void> {
    clearInterval(this.timer);
  }

  /** Number of chats held, expired ones included until the next sweep (for tests and metrics). */
  get size(): number {
    let n = 0;
    for (const chats of this.agents.values()) n += chats.entries.size;
    return n;
  }

  /** Active chats of an agent, expired ones included until the next sweep (for tests and metrics). */
  activeChats(agentId: string): number {
    return this.agents.get(agentId)?.active ?? 0;
  }

  /** Drops expired chats. */
  sweep(): void {
    for (const [agentId, chats] of this.agents) {
      this.sweepAgent(chats);
      if (chats.entries.size === 0) this.agents.delete(agentId);
    }
  }

  private sweepAgent(chats: AgentChats): void {
    const now = this.now();
    for (const [chatId, entry] of chats.entries) if (entry.expiresAt <= now) this.remove(chats, chatId);
  }

  private live(chats: AgentChats, chatId: string): Entry | undefined {
    const entry = chats.entries.get(chatId);
    if (entry && entry.expiresAt <= this.now()) {
      this.remove(chats, chatId);
      return undefined;
    }
    return entry;
  }

  private remove(chats: AgentChats, chatId: string): void {
    const entry = chats.entries.get(chatId);
    if (!entry) return;
    chats.entries.delete(chatId);
    if (entry.chat.status !== 'CLOSED') chats.active--;
  }
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`MemoryChatStore: ${name} must be a positive number`);
  return value;
}

/** A chat as callers get it: changing it (its state included) does not change the store. */
function copyOf(chat: ChatRecord): ChatRecord {
  const copy = { ...chat };
  if (chat.state !== undefined) copy.state = structuredClone(chat.state);
  return copy;
}
