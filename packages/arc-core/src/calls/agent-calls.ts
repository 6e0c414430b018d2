/**
 * `ctx.agents`: calls from a handler to any agent by id, typed, answering with the result (not
 * the envelope) or throwing AgentCallError. `requestAgent` is the calling agent; the traceId,
 * traceparent and call chain are carried along (agent-call-service.ts).
 *
 *   .on('chat.message', async (params, ctx) => {
 *     const res = await ctx.agents.chat.start('hr-agent', messageText(params.message));
 *     return res.chat.message;
 *   })
 *
 * Streamed (agent-stream.ts): `chat.startStream` / `chat.messageStream` resolve once the target
 * accepted the call, with an async iterable of its chunks:
 *
 *   .on('chat.message', async function* (params, ctx) {
 *     const stream = await ctx.agents.chat.startStream('writer-agent', messageText(params.message), { signal: ctx.signal });
 *     for await (const chunk of stream) yield chunk.text;
 *   })
 */
import type { TaskCancelResult, TaskCreateResult, TaskInfoResult } from '../client/task-types';
import type { ChatResult, Message, SuccessResult, TaskPriority } from '../protocol/types';
import type { AgentCallService, CallOrigin } from './agent-call-service';
import type { AgentChatStream } from './agent-stream';
import { AgentThread } from './thread';

export interface AgentCallOptions {
  /** This call's timeout (default: the router's agentCalls.timeoutMs), never past the handler's own. */
  timeoutMs?: number;
  /** Aborts the call (pass `ctx.signal` to stop it with the handler). */
  signal?: AbortSignal;
}

export type AgentMessageInput = string | Message;

export function toMessage(input: AgentMessageInput): Message {
  return typeof input === 'string' ? { role: 'user', parts: [{ type: 'TextPart', content: input }] } : input;
}

/** chat.start's params, streamed or not. */
function chatStartParams(message: AgentMessageInput, options: { chatId?: string; metadata?: Record<string, unknown> }): object {
  return {
    initialMessage: toMessage(message),
    ...(options.chatId !== undefined ? { chatId: options.chatId } : {}),
    ...(options.metadata !== undefined ? { metadata: options.metadata } : {}),
  };
}

export class AgentCalls {
  private threads: Map<string, AgentThread> | undefined = undefined;

  constructor(
    private readonly service: AgentCallService,
    private readonly origin: CallOrigin,
  ) {}

  /** The traceId these calls carry. */
  get traceId(): string {
    return this.origin.traceId;
  }

  /** Any method (custom ones too); resolves with the result. */
  request<R = unknown>(agentId: string, method: string, params: object = {}, options?: AgentCallOptions): Promise<R> {
    return this.service.call(this.origin, agentId, method, params, options) as Promise<R>;
  }

  readonly chat = {
    start: (
      agentId: string,
      message: AgentMessageInput,
      options: AgentCallOptions & { chatId?: string; metadata?: Record<string, unknown> } = {},
    ) => this.request<ChatResult>(agentId, 'chat.start', chatStartParams(message, options), options),
    message: (agentId: string, chatId: string, message: AgentMessageInput, options?: AgentCallOptions) =>
      this.request<ChatResult>(agentId, 'chat.message', { chatId, message: toMessage(message) }, options),
    end: (agentId: string, chatId: string, reason?: string, options?: AgentCallOptions) =>
      this.request<ChatResult>(agentId, 'chat.end', { chatId, ...(reason !== undefined ? { reason } : {}) }, options),
    /** chat.start with `stream: true`: resolves once the target accepted it (stream.chatId: the chat to continue). */
    startStream: (
      agentId: string,
      message: AgentMessageInput,
      options: AgentCallOptions & { chatId?: string; metadata?: Record<string, unknown> } = {},
    ): Promise<AgentChatStream> =>
      this.service.stream(this.origin, agentId, 'chat.start', { ...chatStartParams(message, options), stream: true }, options),
    /** chat.message with `stream: true`: resolves once the target accepted it. */
    messageStream: (agentId: string, chatId: string, message: AgentMessageInput, options?: AgentCallOptions): Promise<AgentChatStream> =>
      this.service.stream(this.origin, agentId, 'chat.message', { chatId, message: toMessage(message), stream: true }, options),
  };

  readonly task = {
    create: (
      agentId: string,
      message: AgentMessageInput,
      options: AgentCallOptions & { priority?: TaskPriority; metadata?: Record<string, unknown> } = {},
    ) =>
      this.request<TaskCreateResult>(
        agentId,
        'task.create',
        {
          initialMessage: toMessage(message),
          ...(options.priority !== undefined ? { priority: options.priority } : {}),
          ...(options.metadata !== undefined ? { metadata: options.metadata } : {}),
        },
        options,
      ),
    info: (agentId: string, taskId: string, options: AgentCallOptions & { includeMessages?: boolean; includeArtifacts?: boolean } = {}) =>
      this.request<TaskInfoResult>(
        agentId,
        'task.info',
        { taskId, includeMessages: options.includeMessages ?? true, includeArtifacts: options.includeArtifacts ?? true },
        options,
      ),
    send: (agentId: string, taskId: string, message: AgentMessageInput, options?: AgentCallOptions) =>
      this.request<SuccessResult>(agentId, 'task.send', { taskId, message: toMessage(message) }, options),
    cancel: (agentId: string, taskId: string, reason?: string, options?: AgentCallOptions) =>
      this.request<TaskCancelResult>(agentId, 'task.cancel', { taskId, ...(reason !== undefined ? { reason } : {}) }, options),
  };

  /**
   * A conversation with several agents, like the SDK's ThreadManager: `send` starts a chat with
   * an agent the first time and continues it after; `endAll` ends them. The same key gives the
   * same thread within this request. A thread lives as long as this request: to continue it in a
   * later request, store `thread.chats` (agent id → chatId) and pass it back as `chats`.
   */
  thread(key?: string, chats?: Readonly<Record<string, string>>): AgentThread {
    if (key === undefined) return new AgentThread(this, chats);
    this.threads ??= new Map();
    let thread = this.threads.get(key);
    if (thread === undefined) {
      thread = new AgentThread(this, chats);
      this.threads.set(key, thread);
    }
    return thread;
  }
}
