/**
 * In-process chat store: the single server's embedded default. Closed chats are dropped after
 * the TTL by a sweep that runs on an unref'd timer (it never keeps the process alive).
 */
import { CLOSED_CHAT_TTL_SECONDS, type ChatRecord, type ChatStore, type CloseOutcome } from './chat-store';

export interface MemoryChatStoreOptions {
  closedTtlSeconds?: number;
  /** How often expired chats are swept; defaults to a tenth of the TTL, at most 10 minutes. */
  sweepIntervalMs?: number;
  now?: () => number;
}

export class MemoryChatStore implements ChatStore {
  /** agentId → chatId → record: no per-call key strings to build. */
  private readonly agents = new Map<string, Map<string, ChatRecord>>();
  private readonly closedTtlMs: number;
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout;

  constructor(options: MemoryChatStoreOptions = {}) {
    this.closedTtlMs = (options.closedTtlSeconds ?? CLOSED_CHAT_TTL_SECONDS) * 1000;
    this.now = options.now ?? Date.now;
    const interval = options.sweepIntervalMs ?? Math.min(this.closedTtlMs / 10, 600_000);
    this.timer = setInterval(() => this.sweep(), Math.max(interval, 10));
    this.timer.unref();
  }

  private chatsOf(agentId: string): Map<string, ChatRecord> {
    let chats = this.agents.get(agentId);
    if (!chats) {
      chats = new Map();
      this.agents.set(agentId, chats);
    }
    return chats;
  }

  async create(record: ChatRecord): Promise<boolean> {
    const chats = this.chatsOf(record.agentId);
    if (this.live(chats, record.chatId)) return false;
    chats.set(record.chatId, { ...record });
    return true;
  }

  async get(agentId: string, chatId: string): Promise<ChatRecord | undefined> {
    const chats = this.agents.get(agentId);
    const chat = chats && this.live(chats, chatId);
    return chat ? { ...chat } : undefined;
  }

  async close(agentId: string, chatId: string, reason: string | null, closedAt: string): Promise<CloseOutcome> {
    const chats = this.agents.get(agentId);
    const chat = chats && this.live(chats, chatId);
    if (!chat) return { ok: false, reason: 'not-found' };
    if (chat.status === 'CLOSED') return { ok: false, reason: 'already-closed' };
    chat.status = 'CLOSED';
    chat.closedAt = closedAt;
    chat.updatedAt = closedAt;
    chat.reason = reason;
    return { ok: true, chat: { ...chat } };
  }

  async delete(agentId: string, chatId: string): Promise<void> {
    this.agents.get(agentId)?.delete(chatId);
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
    for (const chats of this.agents.values()) n += chats.size;
    return n;
  }

  /** Drops closed chats older than the TTL. */
  sweep(): void {
    for (const chats of this.agents.values()) {
      for (const [chatId, chat] of chats) if (this.expired(chat)) chats.delete(chatId);
    }
  }

  private live(chats: Map<string, ChatRecord>, chatId: string): ChatRecord | undefined {
    const chat = chats.get(chatId);
    if (chat && this.expired(chat)) {
      chats.delete(chatId);
      return undefined;
    }
    return chat;
  }

  private expired(chat: ChatRecord): boolean {
    return chat.status === 'CLOSED' && chat.closedAt !== undefined && this.now() - Date.parse(chat.closedAt) >= this.closedTtlMs;
  }
}
