/**
 * A typed ARC client: axios for calls, node:http for streams, one keep-alive agent for both.
 *
 *   const client = new ArcClient('http://localhost:8000/arc', { requestAgent: 'my-app' });
 *   const res = await client.chat.start('finance-agent', 'I need help with an invoice');
 *   const chatId = res.result.chat.chatId;
 *   await client.chat.message('finance-agent', chatId, 'Invoice number INV-12345');
 *
 *   const stream = await client.chat.messageStream('finance-agent', chatId, 'Summarise it');
 *   for await (const e of stream) if (e.type === 'stream') process.stdout.write(e.text);
 *
 *   const created = await client.task.create('finance-agent', 'Invoice summary for INV-12345');
 *   const task = await client.task.waitFor('finance-agent', created.result.task.taskId, { timeoutMs: 60_000 });
 *   // task.status: COMPLETED, task.artifacts[0].parts[0]: the DataPart of the report
 *   client.close();
 *
 * Returns the whole response envelope (as the Python client does) and throws ArcResponseError
 * for an ARC error — whether the server sent it with 200 or with a 4xx/5xx status — and
 * ArcTimeoutError / ArcTransportError when there was no ARC answer.
 *
 * A request refused before it did anything (429, 503 -41011, a refused connection) is sent
 * again after the server's Retry-After, a bounded number of times, within the call's timeout
 * (retry.ts; `retries: false` turns this off); a stream only until it was accepted. A request
 * that was sent and got no answer (a reset, a timeout) is never sent again. With OAuth2:
 *
 *   new ArcClient(url, { tokenProvider: clientCredentials({ tokenUrl, clientId, clientSecret, scope }) });
 */
import { randomUUID } from 'node:crypto';
import type { ArcRequest, ArcSuccessResponse } from '../protocol/types';
import { clientAgents, destroyAgents, type ClientAgents } from './agents';
import { toMessage, type ArcClientOptions, type CallOptions, type ChatStartOptions } from './call-options';
import type { ArcChatStream } from './chat-stream';
import type { ChatApi, ClientMethods, ClientReply, TaskApi } from './client-api';
import { ArcTimeoutError } from './errors';
import { HttpExchange, type ExchangeObserver } from './http-exchange';
import { retryDelayMs, retryPolicy, sleep, type RetryPolicy } from './retry';
import { openStream } from './stream-request';
import { ArcThreads } from './threads';
import type { TokenProvider } from './token-provider';
import { waitForTask } from './wait-for-task';

/** Largest SSE event a stream takes by default. */
const MAX_STREAM_EVENT_CHARS = 16 * 1024 * 1024;

/** One attempt of a call: `timeoutMs` is the time left, `headers` the call's (with a fresh token). */
type Attempt<T> = (timeoutMs: number, headers: Record<string, string> | undefined) => Promise<T>;

/**
 * A client of one ARC endpoint. Calls resolve with the whole response envelope; an ARC error (any
 * HTTP status) is an ArcResponseError, no answer an ArcTimeoutError or ArcTransportError.
 * `chat.startStream` / `chat.messageStream` give an ArcChatStream; `threads` keeps one chat per
 * agent; `close()` ends the client's keep-alive connections.
 */
export class ArcClient {
  readonly url: string;
  readonly requestAgent: string;
  private readonly http: HttpExchange;
  private readonly agents: ClientAgents;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly tokenProvider: TokenProvider | undefined;
  private readonly retries: RetryPolicy | undefined;
  private readonly onExchange: ExchangeObserver | undefined;
  private readonly maxStreamEventChars: number;

  constructor(url: string, options: ArcClientOptions = {}) {
    if (options.token !== undefined && options.tokenProvider !== undefined)
      throw new TypeError('ArcClient: give token or tokenProvider, not both');
    const maxEvent = options.maxStreamEventChars ?? MAX_STREAM_EVENT_CHARS;
    if (!Number.isInteger(maxEvent) || maxEvent < 1) throw new TypeError('ArcClient: maxStreamEventChars must be an integer >= 1');
    this.url = url;
    this.requestAgent = options.requestAgent ?? `arc-ts-client-${randomUUID().slice(0, 8)}`;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.tokenProvider = options.tokenProvider;
    this.retries = retryPolicy(options.retries);
    this.onExchange = options.onExchange;
    this.maxStreamEventChars = maxEvent;
    this.agents = clientAgents(options.keepAlive ?? true);
    this.headers = { ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}), ...options.headers };
    this.http = new HttpExchange(url, {
      headers: this.headers,
      agents: this.agents,
      ...(this.onExchange !== undefined ? { onExchange: this.onExchange } : {}),
    });
  }

  /** Sends any method; resolves with the success envelope or throws (after the retries the policy allows). */
  request<R = unknown>(method: string, targetAgent: string, params: object, options: CallOptions = {}): Promise<ArcSuccessResponse<R>> {
    const envelope = this.envelope(method, targetAgent, params, options);
    // Every attempt sends the same bytes, with the same id.
    const text = JSON.stringify(envelope);
    const timeout = options.timeoutMs ?? this.timeoutMs;
    const { signal } = options;
    return this.attempts(options, timeout, (left, headers) =>
      this.http.post<R>(envelope, text, { timeoutMs: left, callTimeoutMs: timeout, signal, headers }),
    );
  }

  /** Ends this client's connections (idle ones, and any call or stream still under way). */
  close(): void {
    destroyAgents(this.agents);
  }

  private envelope(method: string, targetAgent: string, params: object, options: CallOptions): ArcRequest<object> {
    const envelope: ArcRequest<object> = {
      arc: '1.0',
      id: options.id ?? randomUUID(),
      method,
      requestAgent: this.requestAgent,
      targetAgent,
      params,
    };
    if (options.traceId !== undefined) envelope.traceId = options.traceId;
    return envelope;
  }

  /** A streamed chat method: `params.stream` set, the answer read as it comes. */
  private stream(method: string, targetAgent: string, params: object, options: CallOptions): Promise<ArcChatStream> {
    const envelope = this.envelope(method, targetAgent, { ...params, stream: true }, options);
    const text = JSON.stringify(envelope);
    const timeout = options.timeoutMs ?? this.timeoutMs;
    const { signal } = options;
    return this.attempts(options, timeout, (left, headers) =>
      openStream({
        url: this.url,
        envelope,
        text,
        headers: { ...this.headers, ...headers },
        agents: this.agents,
        timeoutMs: left,
        callTimeoutMs: timeout,
        maxEventChars: this.maxStreamEventChars,
        ...(signal !== undefined ? { signal } : {}),
        ...(this.onExchange !== undefined ? { onExchange: this.onExchange } : {}),
      }),
    );
  }

  /** Runs `attempt` until it succeeds or fails in a way the retry policy does not retry, within `timeout`. */
  private async attempts<T>(options: CallOptions, timeout: number, attempt: Attempt<T>): Promise<T> {
    const { signal } = options;
    const deadline = performance.now() + timeout;
    for (let retry = 0; ; retry++) {
      try {
        const headers = await this.callHeaders(options.headers);
        if (signal?.aborted) throw signal.reason;
        const left = Math.ceil(deadline - performance.now());
        if (left <= 0) throw new ArcTimeoutError(this.url, timeout);
        return await attempt(left, headers);
      } catch (err) {
        const policy = this.retries;
        const wait = policy !== undefined && retry < policy.max ? retryDelayMs(err, retry) : undefined;
        if (wait === undefined || wait > policy!.maxDelayMs || performance.now() + wait >= deadline) throw err;
        await sleep(wait, signal);
      }
    }
  }

  /** The call's own headers with a fresh bearer token, when a provider gives them. */
  private async callHeaders(headers: Record<string, string> | undefined): Promise<Record<string, string> | undefined> {
    if (this.tokenProvider === undefined) return headers;
    const token = await this.tokenProvider();
    if (typeof token !== 'string' || token === '') throw new TypeError('ArcClient: tokenProvider returned no token');
    return { ...headers, Authorization: `Bearer ${token}` };
  }

  private call<M extends keyof ClientMethods>(
    method: M,
    targetAgent: string,
    params: ClientMethods[M]['params'],
    options?: CallOptions,
  ): ClientReply<M> {
    return this.request<ClientMethods[M]['result']>(method, targetAgent, params, options);
  }

  readonly chat: ChatApi = {
    start: (targetAgent, initialMessage, options = {}) =>
      this.call('chat.start', targetAgent, startParams(initialMessage, options), options),
    message: (targetAgent, chatId, message, options) =>
      this.call('chat.message', targetAgent, { chatId, message: toMessage(message) }, options),
    end: (targetAgent, chatId, reason, options) =>
      this.call('chat.end', targetAgent, { chatId, ...(reason !== undefined ? { reason } : {}) }, options),
    startStream: (targetAgent, initialMessage, options = {}) =>
      this.stream('chat.start', targetAgent, startParams(initialMessage, options), options),
    messageStream: (targetAgent, chatId, message, options = {}) =>
      this.stream('chat.message', targetAgent, { chatId, message: toMessage(message) }, options),
  };

  /** One ongoing chat per agent, started on the first message and continued after (threads.ts). */
  readonly threads = new ArcThreads(this.chat);

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

function startParams(initialMessage: Parameters<typeof toMessage>[0], options: ChatStartOptions) {
  return {
    initialMessage: toMessage(initialMessage),
    ...(options.chatId !== undefined ? { chatId: options.chatId } : {}),
    ...(options.metadata !== undefined ? { metadata: options.metadata } : {}),
  };
}
