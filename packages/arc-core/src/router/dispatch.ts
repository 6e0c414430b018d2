/**
 * Runs a routed, validated request to its result: the chat methods through the core's chat
 * lifecycle (the handler only produces the reply), any other method straight to its handler.
 */
import type { ArcError } from '../errors/arc-error';
import type {
  ChatEndParams,
  ChatMessageParams,
  ChatStartParams,
  Message,
  TaskCancelParams,
  TaskCreateParams,
  TaskInfoParams,
  TaskSendParams,
  TaskSubscribeParams,
} from '../protocol/types';
import type { TaskEngine } from '../tasks/task-engine';
import type { ChatRecord } from '../state/chat-store';
import type { ChatReply, RegisteredHandler } from './agent';
import type { ChatLifecycle } from './chat-lifecycle';
import { ChatStream, type StreamTransport } from './chat-stream';
import type { HandlerInvoker } from './invoker';
import type { RequestState } from './request-state';

export class Dispatcher {
  constructor(
    private readonly chats: ChatLifecycle,
    private readonly invoker: HandlerInvoker,
    private readonly asArcError: (err: unknown, ctx: RequestState) => ArcError,
  ) {}

  /** A request answered with one JSON result; `tasks` when the agent has a task handler. */
  async run(handler: RegisteredHandler | undefined, ctx: RequestState, tasks?: TaskEngine): Promise<unknown> {
    const { agentId, params } = ctx;
    if (tasks && ctx.method.startsWith('task.')) {
      const caller = { requestAgent: ctx.requestAgent, traceId: ctx.traceId };
      switch (ctx.method) {
        case 'task.create':
          return tasks.create(agentId, params as unknown as TaskCreateParams, caller);
        case 'task.info':
          return tasks.info(agentId, params as unknown as TaskInfoParams);
        case 'task.send':
          return tasks.send(agentId, params as unknown as TaskSendParams);
        case 'task.cancel':
          return tasks.cancel(agentId, params as unknown as TaskCancelParams, caller);
        case 'task.subscribe':
          return tasks.subscribe(agentId, params as unknown as TaskSubscribeParams);
      }
    }
    switch (ctx.method) {
      case 'chat.start': {
        const chat = await this.chats.open(agentId, ctx.requestAgent, params as unknown as ChatStartParams);
        ctx.useChat(chat, this.chats);
        try {
          const message = await this.invoker.chatMessage(handler, params, ctx);
          return { type: 'chat', chat: withMessage({ chatId: chat.chatId, status: 'ACTIVE', createdAt: chat.createdAt }, message) };
        } catch (err) {
          await this.chats.discard(chat);
          throw err;
        }
      }
      case 'chat.message': {
        const { chatId } = params as unknown as ChatMessageParams;
        ctx.useChat(await this.chats.requireOpen(agentId, chatId, true), this.chats);
        const message = await this.invoker.chatMessage(handler, params, ctx);
        return { type: 'chat', chat: withMessage({ chatId, status: 'ACTIVE' }, message) };
      }
      case 'chat.end': {
        const p = params as unknown as ChatEndParams;
        ctx.useChat(await this.chats.requireOpen(agentId, p.chatId), this.chats);
        if (handler) await this.invoker.invoke(handler, params, ctx);
        const closed = await this.chats.close(agentId, p.chatId, p.reason ?? null);
        return {
          type: 'chat',
          chat: { chatId: closed.chatId, status: 'CLOSED', closedAt: closed.closedAt, reason: closed.reason ?? null },
        };
      }
      default:
        return this.invoker.invoke(handler, params, ctx);
    }
  }

  /**
   * A streamed chat.start / chat.message: the chat exists (or is created) and the handler has
   * returned before the first byte, so failures so far are ordinary JSON errors.
   */
  async openStream(
    handler: RegisteredHandler | undefined,
    ctx: RequestState,
    onEnd: (code: number | undefined, transport: StreamTransport) => void,
  ): Promise<ChatStream> {
    let chat: ChatRecord;
    if (ctx.method === 'chat.start') chat = await this.chats.open(ctx.agentId, ctx.requestAgent, ctx.params as unknown as ChatStartParams);
    else chat = await this.chats.requireOpen(ctx.agentId, (ctx.params as unknown as ChatMessageParams).chatId, true);
    ctx.useChat(chat, this.chats);
    let reply: ChatReply;
    try {
      reply = (await this.invoker.invoke(handler, ctx.params, ctx)) as ChatReply;
    } catch (err) {
      if (ctx.method === 'chat.start') await this.chats.discard(chat);
      throw err;
    }
    return new ChatStream({
      ctx,
      chatId: chat.chatId,
      reply,
      invoker: this.invoker,
      asArcError: (err) => this.asArcError(err, ctx),
      onEnd,
    });
  }
}

function withMessage<T extends Record<string, unknown>>(chat: T, message: Message | undefined): T {
  if (message) (chat as Record<string, unknown>).message = message;
  return chat;
}
