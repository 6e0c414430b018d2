/**
 * The chat lifecycle the core runs for every agent (DECISIONS.md §5), so handlers never do it:
 * chat.start creates the chat (id from params or generated) and refuses an existing id;
 * chat.message and chat.end require an open chat (-43001 unknown, -43002 closed); chat.end
 * closes it atomically. A store that fails (e.g. Redis down) becomes -41002 / 503, never a crash.
 */
import { ArcError, errors } from '../errors/arc-error';
import { ArcErrorCode } from '../errors/codes';
import type { Logger } from '../logging/logger';
import type { ChatStartParams } from '../protocol/types';
import { ChatStoreFullError, type ChatRecord, type ChatStore } from '../state/chat-store';
import { isoNow } from '../util/iso-now';
import { newChatId } from './chat-id';

/** The largest state (as JSON) an agent may keep with a chat: it is read with every message. */
export const MAX_CHAT_STATE_BYTES = 16 * 1024;

/**
 * Told when this process opens or closes a chat (metrics/chat-metrics.ts). A chat.start whose
 * handler fails is opened, then discarded: it did not start, so observers undo the open.
 * Called on the request path: implementations only add to numbers.
 */
export interface ChatObserver {
  onChatOpened(agentId: string): void;
  onChatDiscarded(agentId: string): void;
  onChatClosed(agentId: string): void;
}

/** Active chats free up only as they end or expire: ask callers to come back later than for a busy agent. */
const FULL_RETRY_AFTER_SECONDS = 10;

export class ChatLifecycle {
  private observer: ChatObserver | undefined = undefined;

  constructor(
    private readonly store: ChatStore,
    private readonly logger: Logger,
  ) {}

  /** Sets the one observer of opened and closed chats (metrics). */
  observe(observer: ChatObserver): void {
    this.observer = observer;
  }

  async open(agentId: string, requestAgent: string, params: ChatStartParams): Promise<ChatRecord> {
    const now = isoNow();
    const chat: ChatRecord = {
      chatId: params.chatId ?? newChatId(),
      agentId,
      requestAgent,
      status: 'ACTIVE',
      createdAt: now,
      updatedAt: now,
    };
    if (params.metadata !== undefined) chat.metadata = params.metadata;
    const created = await this.guard(this.store.create(chat), 'create');
    if (created) {
      this.observer?.onChatOpened(agentId);
      return chat;
    }
    const existing = await this.guard(this.store.get(agentId, chat.chatId), 'get');
    if (existing?.status === 'CLOSED') {
      throw new ArcError(ArcErrorCode.ChatAlreadyClosed, `Chat ${chat.chatId} was closed and cannot be started again; use a new chatId`, {
        chatId: chat.chatId,
        chat_id: chat.chatId,
      });
    }
    throw new ArcError(
      ArcErrorCode.InvalidParams,
      `Chat ${chat.chatId} already exists; continue it with chat.message or use a new chatId`,
      { field: 'params.chatId', chatId: chat.chatId },
    );
  }

  /** Undoes `open` when the chat.start handler failed, so a retry with the same id works. */
  async discard(chat: ChatRecord): Promise<void> {
    this.observer?.onChatDiscarded(chat.agentId);
    try {
      await this.store.delete(chat.agentId, chat.chatId);
    } catch (err) {
      this.logger.warn('could not discard chat after failed chat.start', { chatId: chat.chatId, err: String(err) });
    }
  }

  /**
   * The open chat a request is about; `use` (chat.message) also restarts its idle expiry.
   * An unknown or expired chat is -43001, a closed one -43002.
   */
  async requireOpen(agentId: string, chatId: string, use = false): Promise<ChatRecord> {
    const chat = await this.guard(use ? this.store.touch(agentId, chatId) : this.store.get(agentId, chatId), use ? 'touch' : 'get');
    if (!chat) throw errors.chatNotFound(chatId);
    if (chat.status === 'CLOSED') throw errors.chatAlreadyClosed(chatId);
    return chat;
  }

  async close(agentId: string, chatId: string, reason: string | null): Promise<ChatRecord> {
    const outcome = await this.guard(this.store.close(agentId, chatId, reason, isoNow()), 'close');
    if (outcome.ok) {
      this.observer?.onChatClosed(agentId);
      return outcome.chat;
    }
    throw outcome.reason === 'not-found' ? errors.chatNotFound(chatId) : errors.chatAlreadyClosed(chatId);
  }

  /** Saves the agent's state of an open chat (HandlerContext.saveChatState). */
  async saveState(agentId: string, chatId: string, state: Record<string, unknown>): Promise<void> {
    const size = Buffer.byteLength(JSON.stringify(state), 'utf8');
    if (size > MAX_CHAT_STATE_BYTES) {
      // The handler's doing, not the caller's: an internal error, logged with the agent's id.
      throw new Error(`chat state of agent ${agentId} is ${size} bytes; at most ${MAX_CHAT_STATE_BYTES} may be kept with a chat`);
    }
    const outcome = await this.guard(this.store.saveState(agentId, chatId, state), 'saveState');
    if (outcome === 'not-found') throw errors.chatNotFound(chatId);
    if (outcome === 'closed') throw errors.chatAlreadyClosed(chatId);
  }

  private guard<T>(op: Promise<T>, what: string): Promise<T> {
    return op.catch((err: unknown) => {
      if (err instanceof ArcError) throw err;
      if (err instanceof ChatStoreFullError) {
        throw new ArcError(
          ArcErrorCode.AgentCapacityExceeded,
          `Agent ${err.agentId} has too many active chats (${err.limit}); end chats you no longer need, or retry later`,
          { agentId: err.agentId, limit: err.limit },
          { retryAfter: FULL_RETRY_AFTER_SECONDS },
        );
      }
      this.logger.error('chat store unavailable', { op: what, err: err instanceof Error ? err.message : String(err) });
      throw new ArcError(
        ArcErrorCode.AgentNotAvailable,
        'Agent temporarily unavailable: chat state cannot be reached; retry shortly',
        {},
        { retryAfter: 1 },
      );
    });
  }
}
