/**
 * A typed ARC client on axios.
 *
 *   const client = new ArcClient('http://localhost:8000/arc', { requestAgent: 'my-app' });
 *   const res = await client.chat.start('finance-agent', 'I need help with an invoice');
 *   const chatId = res.result.chat.chatId;
 *   await client.chat.message('finance-agent', chatId, 'Invoice number INV-12345');
 *
 *   const created = await client.task.create('finance-agent', 'Invoice summary for INV-12345');
 *   const task = await client.task.waitFor('finance-agent', created.result.task.taskId, { timeoutMs: 60_000 });
 *   // task.status: COMPLETED, task.artifacts[0].parts[0]: the DataPart of the report
 *
 * Returns the whole response envelope (as the Python client does) and throws ArcResponseError
 * for an ARC error — whether the server sent it with 200 or with a 4xx/5xx status — and
 * ArcTimeoutError / ArcTransportError when there was no ARC answer.
 *
 * A request refused before it did anything (429, 503 -41011, a refused connection) is sent
 * again after the server's Retry-After, a bounded number of times, within the call's timeout
 * (retry.ts; `retries: false` turns this off). With OAuth2:
 *
 *   new ArcClient(url, { tokenProvider: clientCredentials({ tokenUrl, clientId, clientSecret, scope }) });
 */
import { randomUUID } from 'node:crypto';
import type {
  ArcMethods,
  ArcRequest,
  ArcSuccessResponse,
  Message,
  TaskEvent,
  TaskNotificationParams,
  TaskPriority,
} from '../protocol/types';
import { ArcTimeoutError } from './errors';
import { HttpExchange } from './http-exchange';
import { retryDelayMs, retryPolicy, sleep, type RetryOptions, type RetryPolicy } from './retry';
import type { TaskInfo, TaskMethods } from './task-types';
import type { TokenProvider } from './token-provider';
import { waitForTask, type WaitForTaskOptions } from './wait-for-task';

export interface ArcClientOptions {
  /** Our agent id, sent as `requestAgent` (default `arc-ts-client-<8 hex>`). */
  requestAgent?: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /**
   * Called before every request (and every retry); what it returns is sent as
   * `Authorization: Bearer <token>`. Caching is the provider's job (clientCredentials() caches
   * and refreshes). Not together with `token`.
   */
  tokenProvider?: TokenProvider;
  /**
   * Retries of requests that certainly did nothing (429, 503 -41011, a refused connection),
   * after the server's Retry-After (default `{ max: 3, maxDelayMs: 10000 }`; `false`: none).
   */
  retries?: RetryOptions | false;
  /** Per-call timeout, retries and their waits included (default 30 s). */
  timeoutMs?: number;
  headers?: Record<string, string>;
}

export interface CallOptions {
  traceId?: string;
  /** The call's timeout, retries and their waits included. */
  timeoutMs?: number;
  /** Request id; a fresh uuid by default. */
  id?: string | number;
  /** Aborts the request (or the wait before a retry); it then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Headers of this call only, over the client's own (a trace header, say). */
  headers?: Record<string, string>;
}

/** Methods with the client's result types (the task methods' answers typed exactly). */
type ClientMethods = Omit<ArcMethods, keyof TaskMethods> & TaskMethods;
type Reply<M extends keyof ClientMethods> = Promise<ArcSuccessResponse<ClientMethods[M]['result']>>;

/** client.task: the task methods (ARC-PROTOCOL.md §6) and a wait for the end of a task. */
export interface TaskApi {
  /** Creates a task; it answers at once with the task SUBMITTED (default priority NORMAL). */
  create(
    targetAgent: string,
    initialMessage: MessageInput,
    options?: CallOptions & { priority?: TaskPriority; metadata?: Record<string, unknown> },
  ): Reply<'task.create'>;
  /** Adds a message to a live task; resumes a task waiting in INPUT_REQUIRED. */
  send(targetAgent: string, taskId: string, message: MessageInput, options?: CallOptions): Reply<'task.send'>;
  /** The task, with its messages and artifacts unless turned off. */
  info(
    targetAgent: string,
    taskId: string,
    options?: CallOptions & { includeMessages?: boolean; includeArtifacts?: boolean },
  ): Reply<'task.info'>;
  cancel(targetAgent: string, taskId: string, reason?: string, options?: CallOptions): Reply<'task.cancel'>;
  /** A webhook subscription (default events TASK_COMPLETED and TASK_FAILED). */
  subscribe(targetAgent: string, taskId: string, callbackUrl: string, events?: TaskEvent[], options?: CallOptions): Reply<'task.subscribe'>;
  /** Sends a task.notification request to an agent that receives them. */
  notification(targetAgent: string, params: TaskNotificationParams, options?: CallOptions): Reply<'task.notification'>;
  /**
   * Polls task.info (with backoff) until the task reaches a status of `options.until` (default:
   * COMPLETED, FAILED or CANCELED) and resolves with it; rejects with ArcWaitTimeoutError after
   * `options.timeoutMs` (see wait-for-task.ts).
   */
  waitFor(targetAgent: string, taskId: string, options?: WaitForTaskOptions): Promise<TaskInfo>;
}

export type MessageInput = string | Message;

function toMessage(input: MessageInput): Message {
  return typeof input === 'string' ? { role: 'user', parts: [{ type: 'TextPart', content: input }] } : input;
}

export class ArcClient {
  readonly url: string;
  readonly requestAgent: string;
  private readonly http: HttpExchange;
  private readonly timeoutMs: number;
  private readonly tokenProvider: TokenProvider | undefined;
  private readonly retries: RetryPolicy | undefined;

  constructor(url: string, options: ArcClientOptions = {}) {
    if (options.token !== undefined && options.tokenProvider !== undefined)
      throw new TypeError('ArcClient: give token or tokenProvider, not both');
    this.url = url;
    this.requestAgent = options.requestAgent ?? `arc-ts-client-${randomUUID().slice(0, 8)}`;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.tokenProvider = options.tokenProvider;
    this.retries = retryPolicy(options.retries);
    this.http = new HttpExchange(url, { ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}), ...options.headers });
  }

  /** Sends any method; resolves with the success envelope or throws (after the retries the policy allows). */
  async request<R = unknown>(
    method: string,
    targetAgent: string,
    params: object,
    options: CallOptions = {},
  ): Promise<ArcSuccessResponse<R>> {
    const body: ArcRequest<object> = {
      arc: '1.0',
      id: options.id ?? randomUUID(),
      method,
      requestAgent: this.requestAgent,
      targetAgent,
      params,
    };
    if (options.traceId !== undefined) body.traceId = options.traceId;
    // Every attempt sends the same bytes, with the same id.
    const text = JSON.stringify(body);
    const timeout = options.timeoutMs ?? this.timeoutMs;
    const deadline = performance.now() + timeout;
    const { signal } = options;
    for (let retry = 0; ; retry++) {
      try {
        const headers =
          this.tokenProvider === undefined ? options.headers : { ...options.headers, Authorization: `Bearer ${await this.bearerToken()}` };
        if (signal?.aborted) throw signal.reason;
        const left = Math.ceil(deadline - performance.now());
        if (left <= 0) throw new ArcTimeoutError(this.url, timeout);
        return await this.http.post<R>(text, body.id, { timeoutMs: left, callTimeoutMs: timeout, signal, headers });
      } catch (err) {
        const policy = this.retries;
        const wait = policy !== undefined && retry < policy.max ? retryDelayMs(err, retry) : undefined;
        if (wait === undefined || wait > policy!.maxDelayMs || performance.now() + wait >= deadline) throw err;
        await sleep(wait, signal);
      }
    }
  }

  private async bearerToken(): Promise<string> {
    const token = await this.tokenProvider!();
    if (typeof token !== 'string' || token === '') throw new TypeError('ArcClient: tokenProvider returned no token');
    return token;
  }

  private call<M extends keyof ClientMethods>(
    method: M,
    targetAgent: string,
    params: ClientMethods[M]['params'],
    options?: CallOptions,
  ): Reply<M> {
    return this.request<ClientMethods[M]['result']>(method, targetAgent, params, options);
  }

  readonly chat = {
    start: (
      targetAgent: string,
      initialMessage: MessageInput,
      options: CallOptions & { chatId?: string; metadata?: Record<string, unknown> } = {},
    ) =>
      this.call(
        'chat.start',
        targetAgent,
        {
          initialMessage: toMessage(initialMessage),
          ...(options.chatId !== undefined ? { chatId: options.chatId } : {}),
          ...(options.metadata !== undefined ? { metadata: options.metadata } : {}),
        },
        options,
      ),
    message: (targetAgent: string, chatId: string, message: MessageInput, options?: CallOptions) =>
      this.call('chat.message', targetAgent, { chatId, message: toMessage(message) }, options),
    end: (targetAgent: string, chatId: string, reason?: string, options?: CallOptions) =>
      this.call('chat.end', targetAgent, { chatId, ...(reason !== undefined ? { reason } : {}) }, options),
  };

  readonly task: TaskApi = {
    create: (targetAgent, initialMessage, options = {}) =>
      this.call(
        'task.create',
        targetAgent,
        {
          initialMessage: toMessage(initialMessage),
          ...(options.priority !== undefined ? { priority: options.priority } : {}),
          ...(options.metadata !== undefined ? { metadata: options.metadata } : {}),
        },
        options,
      ),
    send: (targetAgent, taskId, message, options) => this.call('task.send', targetAgent, { taskId, message: toMessage(message) }, options),
    info: (targetAgent, taskId, options = {}) =>
      this.call(
        'task.info',
        targetAgent,
        {
          taskId,
          includeMessages: options.includeMessages ?? true,
          includeArtifacts: options.includeArtifacts ?? true,
        },
        options,
      ),
    cancel: (targetAgent, taskId, reason, options) =>
      this.call('task.cancel', targetAgent, { taskId, ...(reason !== undefined ? { reason } : {}) }, options),
    subscribe: (targetAgent, taskId, callbackUrl, events, options) =>
      this.call('task.subscribe', targetAgent, { taskId, callbackUrl, ...(events !== undefined ? { events } : {}) }, options),
    notification: (targetAgent, params, options) => this.call('task.notification', targetAgent, params, options),
    waitFor: (targetAgent, taskId, options = {}) =>
      waitForTask(
        targetAgent,
        taskId,
        async (timeoutMs, signal) => {
          const reply = await this.task.info(targetAgent, taskId, {
            // A poll never outlives the wait: its timeout is the time left (or the client's, if shorter).
            timeoutMs: Math.min(timeoutMs, this.timeoutMs),
            includeMessages: options.includeMessages ?? true,
            includeArtifacts: options.includeArtifacts ?? true,
            ...(options.traceId !== undefined ? { traceId: options.traceId } : {}),
            ...(signal !== undefined ? { signal } : {}),
          });
          return reply.result.task;
        },
        options,
      ),
  };
}
