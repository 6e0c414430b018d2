/**
 * Where chats live. The core's chat lifecycle (router/chat-lifecycle.ts) is the only writer.
 * Implementations: MemoryChatStore (the embedded default) and, behind the same contract, a
 * shared store so that any replica can serve any chat.
 *
 * Chats are namespaced by the agent that owns them: the same chatId at two agents is two chats.
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
}

export type CloseOutcome = { ok: true; chat: ChatRecord } | { ok: false; reason: 'not-found' | 'already-closed' };

export interface ChatStore {
  /** Creates a chat; resolves false (and changes nothing) when the id already exists. */
  create(record: ChatRecord): Promise<boolean>;
  get(agentId: string, chatId: string): Promise<ChatRecord | undefined>;
  /** Atomically moves an ACTIVE chat to CLOSED; of two concurrent closers exactly one wins. */
  close(agentId: string, chatId: string, reason: string | null, closedAt: string): Promise<CloseOutcome>;
  /** Removes a chat outright (used when chat.start fails after creating it). */
  delete(agentId: string, chatId: string): Promise<void>;
  /** Resolves when the store can serve; rejects when it cannot (readiness). */
  ping(): Promise<void>;
  /** Releases connections and timers. */
  dispose(): Promise<void>;
}

/** Closed chats are remembered this long so late callers get -43002, not -43001. */
export const CLOSED_CHAT_TTL_SECONDS = 24 * 60 * 60;
