/**
 * The shapes of client.chat and client.task: the methods of ARC-PROTOCOL.md §6 with the client's
 * result types, the streamed chat calls (§8), and a wait for the end of a task.
 */
import type { ArcMethods, ArcSuccessResponse, TaskEvent, TaskNotificationParams, TaskPriority } from '../protocol/types';
import type { CallOptions, ChatStartOptions, MessageInput } from './call-options';
import type { ArcChatStream } from './chat-stream';
import type { TaskInfo, TaskMethods } from './task-types';
import type { WaitForTaskOptions } from './wait-for-task';

/** Methods with the client's result types (the task methods' answers typed exactly). */
export type ClientMethods = Omit<ArcMethods, keyof TaskMethods> & TaskMethods;
export type ClientReply<M extends keyof ClientMethods> = Promise<ArcSuccessResponse<ClientMethods[M]['result']>>;

/** client.chat: the chat methods, plain and streamed. */
export interface ChatApi {
  /** Starts a chat; the agent's answer is in `result.chat.message`, the chat to continue in `result.chat.chatId`. */
  start(targetAgent: string, initialMessage: MessageInput, options?: ChatStartOptions): ClientReply<'chat.start'>;
  /** Sends a message in a chat. */
  message(targetAgent: string, chatId: string, message: MessageInput, options?: CallOptions): ClientReply<'chat.message'>;
  /** Ends a chat. */
  end(targetAgent: string, chatId: string, reason?: string, options?: CallOptions): ClientReply<'chat.end'>;
  /**
   * chat.start with `stream: true`: resolves once the agent accepted the stream (its events are
   * read as they come, see chat-stream.ts); an error answer rejects as for start().
   */
  startStream(targetAgent: string, initialMessage: MessageInput, options?: ChatStartOptions): Promise<ArcChatStream>;
  /** chat.message with `stream: true`, as startStream(). */
  messageStream(targetAgent: string, chatId: string, message: MessageInput, options?: CallOptions): Promise<ArcChatStream>;
}

/** client.task: the task methods (ARC-PROTOCOL.md §6) and a wait for the end of a task. */
export interface TaskApi {
  /** Creates a task; it answers at once with the task SUBMITTED (default priority NORMAL). */
  create(
    targetAgent: string,
    initialMessage: MessageInput,
    options?: CallOptions & { priority?: TaskPriority; metadata?: Record<string, unknown> },
  ): ClientReply<'task.create'>;
  /** Adds a message to a live task; resumes a task waiting in INPUT_REQUIRED. */
  send(targetAgent: string, taskId: string, message: MessageInput, options?: CallOptions): ClientReply<'task.send'>;
  /** The task, with its messages and artifacts unless turned off. */
  info(
    targetAgent: string,
    taskId: string,
    options?: CallOptions & { includeMessages?: boolean; includeArtifacts?: boolean },
  ): ClientReply<'task.info'>;
  cancel(targetAgent: string, taskId: string, reason?: string, options?: CallOptions): ClientReply<'task.cancel'>;
  /** A webhook subscription (default events TASK_COMPLETED and TASK_FAILED). */
  subscribe(
    targetAgent: string,
    taskId: string,
    callbackUrl: string,
    events?: TaskEvent[],
    options?: CallOptions,
  ): ClientReply<'task.subscribe'>;
  /** Sends a task.notification request to an agent that receives them. */
  notification(targetAgent: string, params: TaskNotificationParams, options?: CallOptions): ClientReply<'task.notification'>;
  /**
   * Polls task.info (with backoff) until the task reaches a status of `options.until` (default:
   * COMPLETED, FAILED or CANCELED) and resolves with it; rejects with ArcWaitTimeoutError after
   * `options.timeoutMs` (see wait-for-task.ts).
   */
  waitFor(targetAgent: string, taskId: string, options?: WaitForTaskOptions): Promise<TaskInfo>;
}
