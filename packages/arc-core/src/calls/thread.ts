/**
 * A conversation with several agents (agent-calls.ts `thread`): one chat per agent, started on
 * the first `send` and continued after.
 */
import type { ChatResult } from '../protocol/types';
import type { AgentCalls, AgentCallOptions, AgentMessageInput } from './agent-calls';

export class AgentThread {
  private readonly chatIds: Map<string, string>;
  /** Starts in flight per agent, so two sends at once do not open two chats. */
  private readonly starting = new Map<string, Promise<ChatResult>>();

  constructor(
    private readonly calls: AgentCalls,
    chats?: Readonly<Record<string, string>>,
  ) {
    this.chatIds = new Map(Object.entries(chats ?? {}));
  }

  /** Agent id → chatId of the chats this thread has open. */
  get chats(): Record<string, string> {
    return Object.fromEntries(this.chatIds);
  }

  /** chat.start with `agentId` the first time, chat.message in that chat after. */
  async send(agentId: string, message: AgentMessageInput, options?: AgentCallOptions): Promise<ChatResult> {
    const pending = this.starting.get(agentId);
    if (pending !== undefined) await pending.catch(() => undefined);
    const chatId = this.chatIds.get(agentId);
    if (chatId !== undefined) return this.calls.chat.message(agentId, chatId, message, options);
    const start = this.calls.chat.start(agentId, message, options);
    this.starting.set(agentId, start);
    try {
      const result = await start;
      this.chatIds.set(agentId, result.chat.chatId);
      return result;
    } finally {
      this.starting.delete(agentId);
    }
  }

  /** Ends the chat with one agent (if the thread has one). */
  async end(agentId: string, reason?: string, options?: AgentCallOptions): Promise<void> {
    const chatId = this.chatIds.get(agentId);
    if (chatId === undefined) return;
    this.chatIds.delete(agentId);
    await this.calls.chat.end(agentId, chatId, reason, options);
  }

  /**
   * Ends every chat of the thread, all at once; resolves when all are done. Failures do not stop
   * the others: the first is thrown after all settled.
   */
  async endAll(reason?: string, options?: AgentCallOptions): Promise<void> {
    const ids = [...this.chatIds.keys()];
    const outcomes = await Promise.allSettled(ids.map((id) => this.end(id, reason, options)));
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }
}
