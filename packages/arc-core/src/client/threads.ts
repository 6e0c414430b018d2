/**
 * client.threads: one ongoing chat per agent, like the Python SDK's ThreadManager.
 *
 *   const first = await client.threads.send('finance-agent', 'I need help with an invoice');
 *   const next = await client.threads.send('finance-agent', 'Invoice number INV-12345');  // same chat
 *   const stream = await client.threads.sendStream('finance-agent', 'And the due date?');
 *   for await (const e of stream) if (e.type === 'stream') process.stdout.write(e.text);
 *   await client.threads.endAll();
 *
 * The first message to an agent starts a chat; the next ones continue it. When the agent no
 * longer knows the chat (-43001: not found or expired, -43002: closed), the message starts a new
 * chat, once. Sends to an agent that has no chat yet share one chat.start: the others wait for
 * its chatId (for a stream, its first event) and continue that chat.
 */
import { ArcErrorCode } from '../errors/codes';
import type { Chat } from '../protocol/types';
import type { CallOptions, MessageInput } from './call-options';
import type { ArcChatStream, ClientChatStream } from './chat-stream';
import type { ChatApi } from './client-api';
import { ArcResponseError } from './errors';

/** The chat calls the threads use (client.chat). */
export type ChatCalls = Pick<ChatApi, 'start' | 'message' | 'end' | 'startStream' | 'messageStream'>;

/** How one send starts a chat, and how it continues one. */
interface Send<T> {
  /** Starts a chat with the message; `chatId` settles once the new chat's id is known. */
  start(): Promise<{ value: T; chatId: Promise<string | undefined> }>;
  continue(chatId: string): Promise<T>;
}

function isGone(err: unknown): boolean {
  return err instanceof ArcResponseError && (err.code === ArcErrorCode.ChatNotFound || err.code === ArcErrorCode.ChatAlreadyClosed);
}

/** One ongoing chat per agent (client.threads): started by the first message, continued after, restarted once if the agent forgot it. */
export class ArcThreads {
  private readonly chats = new Map<string, string>();
  /** A chat.start under way per agent: settles when its chatId is known (or it failed). */
  private readonly opening = new Map<string, Promise<void>>();

  constructor(private readonly calls: ChatCalls) {}

  /** The chat this client has with `agentId`, if any. */
  chatId(agentId: string): string | undefined {
    return this.chats.get(agentId);
  }

  /** Sends a message in the chat with `agentId` (starting one if needed); resolves with the result's chat. */
  send(agentId: string, message: MessageInput, options?: CallOptions): Promise<Chat> {
    return this.deliver<Chat>(agentId, {
      start: async () => {
        const chat = (await this.calls.start(agentId, message, options)).result.chat;
        return { value: chat, chatId: Promise.resolve(chat.status === 'CLOSED' ? undefined : chat.chatId) };
      },
      continue: async (chatId) => this.seen(agentId, (await this.calls.message(agentId, chatId, message, options)).result.chat),
    });
  }

  /** As send(), streamed: resolves with the stream once the agent accepted it. */
  sendStream(agentId: string, message: MessageInput, options?: CallOptions): Promise<ArcChatStream> {
    return this.deliver<ArcChatStream>(agentId, {
      start: async () => {
        const stream = await this.calls.startStream(agentId, message, options);
        return { value: stream, chatId: (stream as ClientChatStream).chatIdKnown() };
      },
      continue: (chatId) => this.calls.messageStream(agentId, chatId, message, options),
    });
  }

  /** Ends the chat with `agentId` (if there is one); a chat the agent already forgot counts as ended. */
  async end(agentId: string, reason?: string, options?: CallOptions): Promise<void> {
    const chatId = this.chats.get(agentId);
    if (chatId === undefined) return;
    this.chats.delete(agentId);
    try {
      await this.calls.end(agentId, chatId, reason, options);
    } catch (err) {
      if (!isGone(err)) throw err;
    }
  }

  /** Ends every chat of this client (all tried; the first failure, if any, is thrown after). */
  async endAll(reason?: string, options?: CallOptions): Promise<void> {
    const outcomes = await Promise.allSettled([...this.chats.keys()].map((agentId) => this.end(agentId, reason, options)));
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  private async deliver<T>(agentId: string, send: Send<T>): Promise<T> {
    let restarted = false;
    for (;;) {
      const opening = this.opening.get(agentId);
      if (opening !== undefined) {
        await opening;
        continue;
      }
      const chatId = this.chats.get(agentId);
      if (chatId === undefined) return this.open(agentId, send);
      try {
        return await send.continue(chatId);
      } catch (err) {
        if (restarted || !isGone(err)) throw err;
        restarted = true;
        if (this.chats.get(agentId) === chatId) this.chats.delete(agentId);
      }
    }
  }

  /** Starts a chat, letting other sends to the agent wait for its id. */
  private async open<T>(agentId: string, send: Send<T>): Promise<T> {
    let opened!: () => void;
    this.opening.set(
      agentId,
      new Promise<void>((resolve) => {
        opened = resolve;
      }),
    );
    const done = (): void => {
      this.opening.delete(agentId);
      opened();
    };
    try {
      const started = await send.start();
      void started.chatId.then((chatId) => {
        if (chatId !== undefined) this.chats.set(agentId, chatId);
        done();
      });
      return started.value;
    } catch (err) {
      done();
      throw err;
    }
  }

  /** Forgets a chat the agent closed. */
  private seen(agentId: string, chat: Chat): Chat {
    if (chat.status === 'CLOSED' && this.chats.get(agentId) === chat.chatId) this.chats.delete(agentId);
    return chat;
  }
}
