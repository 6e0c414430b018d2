/**
 * The ARC client: calls, streams (`client.chat.startStream`), threads (`client.threads`), tasks
 * (`client.task.waitFor`), retries, OAuth2 tokens. A guide with examples: docs/client.md.
 *
 * @packageDocumentation
 */
export { ArcClient } from './arc-client';
export type { ArcClientOptions, CallOptions, ChatStartOptions, MessageInput } from './call-options';
export type { ChatApi, ClientMethods, ClientReply, TaskApi } from './client-api';
export { ArcStreamError, type ArcChatStream, type ArcStreamEvent, type SseFrame } from './chat-stream';
export type { ArcExchange, ExchangeObserver } from './http-exchange';
export { ArcThreads, type ChatCalls } from './threads';
export { ArcResponseError, ArcTimeoutError, ArcTransportError, ArcWaitTimeoutError, ClientCredentialsError } from './errors';
export { clientCredentials, type ClientCredentialsOptions, type TokenProvider } from './token-provider';
export { DEFAULT_RETRIES, type RetryOptions, type RetryPolicy } from './retry';
export type { CanceledTask, CreatedTask, TaskCancelResult, TaskCreateResult, TaskInfo, TaskInfoResult, TaskMethods } from './task-types';
export type { WaitForTaskOptions } from './wait-for-task';
