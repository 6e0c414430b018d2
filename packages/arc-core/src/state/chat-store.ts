/**
 * Where chats live. The core's chat lifecycle (router/chat-lifecycle.ts) is the only writer.
 * Implementations: MemoryChatStore (the embedded default) and, behind the same contract, a
 * shared store so that any replica can serve any chat.
 *
 * Chats are namespaced by the agent that owns them: the same chatId at two agents is two chats.
 *
 * Lifetime: an ACTIVE chat expires after `idleTtlSeconds` without use (create and `touch`
 * refresh it), so abandoned chats, and chats a timed-out create left behind, do not pile up; a
 * CLOSED chat is remembered for `closedTtlSeconds` so late callers get -43002, then forgotten.
 * An expired chat is simply gone: callers get -43001 (docs/operations.md).
 */
import type { ChatStatus } from '../protocol/types';

export interface ChatRecord {
  chatId: string;
  agentId: string;
  /** The agent (or client) that started the chat: the SDK's `targetAgent` of the chat. */
  requestAgent: string;
  status: ChatStatus;
  createdAt: string;
  updatedAt: string;
  closedAt?: string;
  reason?: string | null;
  metadata?: Record<string, unknown>;
  /**
   * What the agent keeps with the chat between requests (HandlerContext.saveChatState), e.g. a
   * supervisor's specialist and its chatId. Absent until saved. Clients never see it.
   */
  state?: Record<string, unknown>;
}

export type SaveStateOutcome = 'ok' | 'not-found' | 'closed';

export type CloseOutcome = { ok: true; chat: ChatRecord } | { ok: false; reason: 'not-found' | 'already-closed' };

export interface ChatStore {
  /**
   * Creates a chat; resolves false (and changes nothing) when the id already exists. Rejects
   * with ChatStoreFullError when the store holds as many active chats of that agent as it may.
   */
  create(record: ChatRecord): Promise<boolean>;
  /** The chat as it is, without refreshing its idle expiry. */
  get(agentId: string, chatId: string): Promise<ChatRecord | undefined>;
  /** The chat, its idle expiry refreshed if it is ACTIVE (a message arrived for it). */
  touch(agentId: string, chatId: string): Promise<ChatRecord | undefined>;
  /** Atomically moves an ACTIVE chat to CLOSED; of two concurrent closers exactly one wins. */
  close(agentId: string, chatId: string, reason: string | null, closedAt: string): Promise<CloseOutcome>;
  /**
   * Replaces the agent's state of an ACTIVE chat (ChatRecord.state); 'not-found' for an unknown
   * or expired chat, 'closed' for a closed one (nothing changes then).
   */
  saveState(agentId: string, chatId: string, state: Record<string, unknown>): Promise<SaveStateOutcome>;
  /** Removes a chat outright (used when chat.start fails after creating it). */
  delete(agentId: string, chatId: string): Promise<void>;
  /** Resolves when the store can serve; rejects when it cannot (readiness). */
  ping(): Promise<void>;
  /** Releases connections and timers. */
  dispose(): Promise<void>;
  /**
   * Active chats of an agent, for the arc_active_chats gauge; only a store that knows it without
   * a query implements it (MemoryChatStore). Read when /metrics is scraped.
   */
  activeChats?(agentId: string): number;
}

/** A store refused a new chat because an agent has as many active chats as it may keep. */
export class ChatStoreFullError extends Error {
  constructor(
    readonly agentId: string,
    readonly limit: number,
  ) {
    super(`agent ${agentId} has ${limit} active chats, the most this store keeps`);
    this.name = 'ChatStoreFullError';
  }
}

/** Closed chats are remembered this long so late callers get -43002, not -43001. */
export const CLOSED_CHAT_TTL_SECONDS = 24 * 60 * 60;
/** Active chats not used for this long expire (CHAT_IDLE_TTL_SECONDS). */
export const CHAT_IDLE_TTL_SECONDS = 24 * 60 * 60;
/** Active chats one agent may have in the in-memory store (MAX_ACTIVE_CHATS_PER_AGENT). */
export const MAX_ACTIVE_CHATS_PER_AGENT = 100_000;
