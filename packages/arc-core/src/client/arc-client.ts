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
 */
import { randomUUID } from 'node:crypto';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import type {
  ArcErrorResponse,
  ArcMethods,
  ArcRequest,
  ArcSuccessResponse,
  Message,
  TaskEvent,
  TaskNotificationParams,
  TaskPriority,
} from '../protocol/types';
import { ArcResponseError, ArcTimeoutError, ArcTransportError } from './errors';
import type { TaskInfo, TaskMethods } from './task-types';
import { waitForTask, type WaitForTaskOptions } from './wait-for-task';

export interface ArcClientOptions {
  /** Our agent id, sent as `requestAgent` (default `arc-ts-client-<8 hex>`). */
  requestAgent?: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
  headers?: Record<string, string>;
}

export interface CallOptions {
  traceId?: string;
  timeoutMs?: number;
  /** Request id; a fresh uuid by default. */
  id?: string | number;
  /** Aborts the request; it then rejects with the signal's reason. */
  signal?: AbortSignal;
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

function isEnvelope(body: unknown): body is ArcSuccessResponse | ArcErrorResponse {
  return typeof body === 'object' && body !== null && (body as { arc?: unknown }).arc === '1.0' && ('result' in body || 'error' in body);
}

export class ArcClient {
  readonly url: string;
  readonly requestAgent: string;
  private readonly http: AxiosInstance;
  private readonly timeoutMs: number;

  constructor(url: string, options: ArcClientOptions = {}) {
    this.url = url;
    this.requestAgent = options.requestAgent ?? `arc-ts-client-${randomUUID().slice(0, 8)}`;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.http = axios.create({
      timeout: this.timeoutMs,
      headers: {
        'Content-Type': 'application/arc+json',
        Accept: 'application/arc+json, application/json',
        'User-Agent': 'arc-ts-client',
        ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
        ...options.headers,
      },
      // Every status is inspected here: error envelopes come with 4xx/5xx too.
      validateStatus: () => true,
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      maxRedirects: 5,
      maxBodyLength: Infinity,
      maxContentLength: Infinity,
    });
  }

  /** Sends any method; resolves with the success envelope or throws. */
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
    const timeout = options.timeoutMs ?? this.timeoutMs;
    let res: AxiosResponse<string>;
    try {
      res = await this.http.post<string>(this.url, JSON.stringify(body), { timeout, signal: options.signal });
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (axios.isAxiosError(err) && (err.code === 'ECONNABORTED' || err.code === 'ETIMEDOUT'))
        throw new ArcTimeoutError(this.url, timeout);
      const reason = axios.isAxiosError(err) ? `${err.code ?? 'ERROR'}: ${err.message}` : String(err);
      throw new ArcTransportError(`ARC request to ${this.url} failed: ${reason}`, this.url, undefined, { cause: err });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.data);
    } catch {
      throw new ArcTransportError(`ARC request to ${this.url} got HTTP ${res.status} with a body that is not JSON`, this.url, res.status);
    }
    if (!isEnvelope(parsed)) {
      throw new ArcTransportError(
        `ARC request to ${this.url} got HTTP ${res.status} with a body that is not an ARC envelope`,
        this.url,
        res.status,
      );
    }
    if (parsed.error) {
      const retryAfter = res.headers['retry-after'] as string | undefined;
      throw new ArcResponseError(parsed as ArcErrorResponse, res.status, retryAfter);
    }
    if (res.status < 200 || res.status >= 300) {
      throw new ArcTransportError(`ARC request to ${this.url} got HTTP ${res.status} without an error object`, this.url, res.status);
    }
    if (parsed.id !== body.id) {
      throw new ArcTransportError(
        `ARC reply id ${JSON.stringify(parsed.id)} does not match request id ${JSON.stringify(body.id)}`,
        this.url,
        res.status,
      );
    }
    return parsed as ArcSuccessResponse<R>;
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
