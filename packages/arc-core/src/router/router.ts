/**
 * The transport-free request pipeline: parse → validate the envelope → route by `targetAgent`
 * and method → validate params → (chat lifecycle) → handler → reply. It returns a JSON reply or
 * an SSE event stream for an adapter (express/, or a bare node:http server) to write, and logs
 * one structured line per request.
 */
import { randomUUID } from 'node:crypto';
import type { ValidateFunction } from 'ajv';
import { ArcError, errors } from '../errors/arc-error';
import { ArcErrorCode, httpStatusFor, isRetryable } from '../errors/codes';
import { silentLogger, type LogEntry, type Logger } from '../logging/logger';
import { addressOf, errorEnvelope, successEnvelope } from '../protocol/envelope';
import { canonicalMethod, normalizeAliasParams } from '../protocol/methods';
import { parseJsonBody } from '../protocol/parse';
import { normalizeMessage } from '../protocol/parts';
import type { SseEvent } from '../protocol/sse';
import type { ArcRequest, ArcResponse, ChatEndParams, ChatMessageParams, ChatStartParams, Message, Part } from '../protocol/types';
import { ArcValidator } from '../protocol/validation';
import type { ChatRecord, ChatStore } from '../state/chat-store';
import { MemoryChatStore } from '../state/memory-chat-store';
import { ArcAgent, type ArcHandler, type ChatReply, type HandlerContext, type RegisteredHandler } from './agent';
import { ChatLifecycle } from './chat-lifecycle';
import { ConcurrencyLimit } from './concurrency';
import { chunkPart, collectReply, isAsyncIterable, replyMessage } from './replies';

export interface RouterOptions {
  /** Names this server in logs, /health and error envelopes. */
  serverId: string;
  chatStore?: ChatStore;
  logger?: Logger;
  /** Requests in flight per agent before -41011 / 503 (default 100). */
  maxConcurrentPerAgent?: number;
  /** Time a handler has to produce its reply before -41006 (default 120 s). */
  handlerTimeoutMs?: number;
}

export type ArcReply =
  | { kind: 'json'; status: number; body: ArcResponse; retryAfter?: number }
  | { kind: 'stream'; status: 200; events: AsyncIterable<SseEvent> };

export interface RequestMeta {
  /**
   * Registers a callback for when the caller disconnects before the reply is written. Called
   * lazily, only when a handler reads `context.signal`, so the hot path adds no listener.
   */
  onDisconnect?: (abort: () => void) => void;
}

interface AgentEntry {
  agent: ArcAgent;
  limit: ConcurrencyLimit;
}

class RequestContext implements HandlerContext {
  chat: ChatRecord | undefined = undefined;
  private bound: Logger | undefined = undefined;
  private controller: AbortController | undefined = undefined;

  constructor(
    readonly agentId: string,
    readonly method: string,
    readonly requestId: ArcRequest['id'],
    readonly traceId: string | undefined,
    readonly requestAgent: string,
    readonly stream: boolean,
    private readonly rootLogger: Logger,
    private readonly meta: RequestMeta,
  ) {}

  /** Created on first use: most handlers never look at it. */
  get signal(): AbortSignal {
    if (!this.controller) {
      const controller = new AbortController();
      this.controller = controller;
      this.meta.onDisconnect?.(() => controller.abort());
    }
    return this.controller.signal;
  }

  abort(): void {
    this.controller?.abort();
  }

  get logger(): Logger {
    this.bound ??= this.rootLogger.child({ traceId: this.traceId, id: this.requestId, agent: this.agentId, method: this.method });
    return this.bound;
  }
}

export class ArcRouter {
  readonly serverId: string;
  readonly chatStore: ChatStore;
  readonly logger: Logger;
  private readonly validator = new ArcValidator();
  private readonly agents = new Map<string, AgentEntry>();
  private readonly customValidators = new WeakMap<RegisteredHandler, ValidateFunction>();
  private readonly chats: ChatLifecycle;
  private readonly maxConcurrent: number;
  private readonly handlerTimeoutMs: number;

  constructor(options: RouterOptions) {
    this.serverId = options.serverId;
    this.chatStore = options.chatStore ?? new MemoryChatStore();
    this.logger = options.logger ?? silentLogger;
    this.maxConcurrent = options.maxConcurrentPerAgent ?? 100;
    this.handlerTimeoutMs = options.handlerTimeoutMs ?? 120_000;
    this.chats = new ChatLifecycle(this.chatStore, this.logger);
  }

  /** Mounts an agent. Two agents with one id in one router is a programming error (-41010). */
  addAgent(agent: ArcAgent): ArcAgent {
    if (this.agents.has(agent.id)) {
      throw new ArcError(ArcErrorCode.DuplicateAgentId, `Agent ${agent.id} is already registered on ${this.serverId}`);
    }
    this.agents.set(agent.id, { agent, limit: new ConcurrencyLimit(agent.maxConcurrent ?? this.maxConcurrent) });
    return agent;
  }

  /** The agent with this id, created and mounted on first use (the guide's `agent_handler` style). */
  agent(agentId: string): ArcAgent {
    return this.agents.get(agentId)?.agent ?? this.addAgent(new ArcAgent(agentId));
  }

  get agentList(): ArcAgent[] {
    return [...this.agents.values()].map((e) => e.agent);
  }

  /** Requests in flight across all agents (for graceful shutdown and metrics). */
  get inFlight(): number {
    let n = 0;
    for (const e of this.agents.values()) n += e.limit.active;
    return n;
  }

  /** Handles a raw request body. */
  handleBody(raw: Uint8Array | string | undefined, meta: RequestMeta = {}): Promise<ArcReply> {
    const start = performance.now();
    let body: unknown;
    try {
      body = parseJsonBody(raw);
    } catch (err) {
      return Promise.resolve(this.errorReply(err, undefined, false, start, undefined));
    }
    return this.handle(body, meta, start);
  }

  /** Handles a parsed request body. */
  async handle(body: unknown, meta: RequestMeta = {}, start = performance.now()): Promise<ArcReply> {
    let stream = false;
    let req: ArcRequest | undefined;
    try {
      req = this.validator.validateEnvelope(body);
      const entry = this.agents.get(req.targetAgent);
      if (!entry) throw errors.agentNotFound(req.targetAgent, [...this.agents.keys()]);
      const method = canonicalMethod(req.method);
      if (!entry.agent.supports(method)) throw errors.methodNotFound(req.method, entry.agent.id, entry.agent.methods);
      const handler = entry.agent.handler(method);
      const params = normalizeAliasParams(req.method, req.params);
      stream = params.stream === true && (method === 'chat.start' || method === 'chat.message');
      const validate = this.paramsValidator(method, handler);
      if (validate) this.validator.validateParams(validate, params);
      normalizeInputMessages(params);
      if (!entry.limit.tryAcquire()) throw errors.capacityExceeded(entry.agent.id, entry.limit.limit);
      const ctx = new RequestContext(entry.agent.id, method, req.id, req.traceId, req.requestAgent, stream, this.logger, meta);
      let streaming = false;
      try {
        if (stream) {
          const events = await this.startStream(entry, handler, params, ctx, req, start);
          streaming = true;
          return { kind: 'stream', status: 200, events };
        }
        const result = await this.run(entry, handler, params, ctx);
        this.logDone(req, start, 200, undefined);
        return {
          kind: 'json',
          status: 200,
          body: successEnvelope(req.id, req.requestAgent, req.targetAgent, result, req.traceId, 'traceId' in req),
        };
      } finally {
        if (!streaming) entry.limit.release();
      }
    } catch (err) {
      return this.errorReply(err, req ?? body, stream, start, req);
    }
  }

  // ---- dispatch ----

  private paramsValidator(method: string, handler: RegisteredHandler | undefined): ValidateFunction | undefined {
    const standard = this.validator.standardParams(method);
    if (standard) return standard;
    const schema = handler?.options.paramsSchema;
    if (!handler || !schema) return undefined;
    let compiled = this.customValidators.get(handler);
    if (!compiled) {
      compiled = this.validator.compileParams(schema);
      this.customValidators.set(handler, compiled);
    }
    return compiled;
  }

  /** Runs a non-streamed request to its result. */
  private async run(
    entry: AgentEntry,
    handler: RegisteredHandler | undefined,
    params: Record<string, unknown>,
    ctx: RequestContext,
  ): Promise<unknown> {
    const agentId = entry.agent.id;
    switch (ctx.method) {
      case 'chat.start': {
        const p = params as unknown as ChatStartParams;
        const chat = await this.chats.open(agentId, ctx.requestAgent, p);
        ctx.chat = chat;
        try {
          const message = await this.chatMessage(handler, params, ctx);
          return { type: 'chat', chat: withMessage({ chatId: chat.chatId, status: 'ACTIVE', createdAt: chat.createdAt }, message) };
        } catch (err) {
          await this.chats.discard(chat);
          throw err;
        }
      }
      case 'chat.message': {
        const p = params as unknown as ChatMessageParams;
        ctx.chat = await this.chats.requireOpen(agentId, p.chatId);
        const message = await this.chatMessage(handler, params, ctx);
        return { type: 'chat', chat: withMessage({ chatId: p.chatId, status: 'ACTIVE' }, message) };
      }
      case 'chat.end': {
        const p = params as unknown as ChatEndParams;
        ctx.chat = await this.chats.requireOpen(agentId, p.chatId);
        if (handler) await this.invoke(handler, params, ctx);
        const closed = await this.chats.close(agentId, p.chatId, p.reason ?? null);
        return {
          type: 'chat',
          chat: { chatId: closed.chatId, status: 'CLOSED', closedAt: closed.closedAt, reason: closed.reason ?? null },
        };
      }
      default:
        return this.invoke(handler, params, ctx);
    }
  }

  /**
   * Prepares a streamed chat.start / chat.message: the chat exists (or is created) and the
   * handler has returned before the first byte, so failures so far are ordinary JSON errors.
   */
  private async startStream(
    entry: AgentEntry,
    handler: RegisteredHandler | undefined,
    params: Record<string, unknown>,
    ctx: RequestContext,
    req: ArcRequest,
    start: number,
  ): Promise<AsyncIterable<SseEvent>> {
    let chat: ChatRecord;
    if (ctx.method === 'chat.start') {
      chat = await this.chats.open(entry.agent.id, ctx.requestAgent, params as unknown as ChatStartParams);
    } else {
      chat = await this.chats.requireOpen(entry.agent.id, (params as unknown as ChatMessageParams).chatId);
    }
    ctx.chat = chat;
    let reply: ChatReply;
    try {
      reply = (await this.invoke(handler, params, ctx)) as ChatReply;
    } catch (err) {
      if (ctx.method === 'chat.start') await this.chats.discard(chat);
      throw err;
    }
    return this.streamEvents(entry, chat.chatId, reply, ctx, req, start);
  }

  private async *streamEvents(
    entry: AgentEntry,
    chatId: string,
    reply: ChatReply,
    ctx: RequestContext,
    req: ArcRequest,
    start: number,
  ): AsyncGenerator<SseEvent> {
    const doneData = (status: string): Record<string, unknown> => {
      const d: Record<string, unknown> = { chatId, status, done: true };
      if (req.id !== '' && req.id !== 0) d.requestId = req.id;
      return d;
    };
    let outcome: number | undefined;
    let finished = false;
    try {
      if (isAsyncIterable(reply)) {
        for await (const chunk of reply as AsyncIterable<string | Part>) {
          yield { event: 'stream', data: { chatId, message: { role: 'agent', parts: [chunkPart(chunk)] } } };
        }
      } else {
        const message = replyMessage(reply);
        if (message) yield { event: 'stream', data: { chatId, message } };
      }
      finished = true;
      yield { event: 'done', data: doneData('ACTIVE') };
    } catch (err) {
      const arc = this.asArcError(err, req);
      outcome = arc.code;
      finished = true;
      yield { event: 'error', data: { chatId, error: { code: ArcErrorCode.InvalidChatMessage, message: `Stream error: ${arc.message}` } } };
      yield { event: 'done', data: doneData('ERROR') };
    } finally {
      entry.limit.release();
      ctx.abort();
      this.logDone(req, start, 200, outcome, finished ? 'stream' : 'stream-aborted');
    }
  }

  /**
   * Calls a handler. A value returned synchronously is used as it is (no timer, no extra
   * promise: the common case for simple agents); a promise gets the handler timeout.
   */
  private invoke(handler: RegisteredHandler | undefined, params: Record<string, unknown>, ctx: RequestContext): unknown {
    if (!handler) return undefined;
    let out: unknown;
    try {
      out = (handler.fn as ArcHandler)(params as never, ctx);
    } catch (err) {
      return Promise.reject(err);
    }
    return isThenable(out) ? this.timed(ctx, out) : out;
  }

  /** A chat handler's reply as one message (a streamed reply is gathered, under the timeout). */
  private async chatMessage(
    handler: RegisteredHandler | undefined,
    params: Record<string, unknown>,
    ctx: RequestContext,
  ): Promise<Message | undefined> {
    let reply = this.invoke(handler, params, ctx);
    if (isThenable(reply)) reply = await reply;
    if (isAsyncIterable(reply)) return this.timed(ctx, collectReply(reply as AsyncIterable<string | Part>));
    return replyMessage(reply as Exclude<ChatReply, AsyncIterable<unknown>>);
  }

  /** Settles a promise under the handler timeout; on expiry the context's signal aborts. */
  private timed<T>(ctx: RequestContext, work: PromiseLike<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        ctx.abort();
        reject(
          new ArcError(ArcErrorCode.AgentTimeout, `Agent ${ctx.agentId} did not answer within ${this.handlerTimeoutMs} ms`, {
            agentId: ctx.agentId,
            timeoutMs: this.handlerTimeoutMs,
          }),
        );
      }, this.handlerTimeoutMs);
    });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  // ---- errors and logging ----

  private asArcError(err: unknown, req: ArcRequest | undefined): ArcError {
    if (err instanceof ArcError) return err;
    const errorId = randomUUID();
    this.logger.error('unexpected error', {
      errorId,
      traceId: req?.traceId,
      id: req?.id,
      agent: req?.targetAgent,
      method: req?.method,
      err: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
    return errors.internal(errorId);
  }

  private errorReply(err: unknown, body: unknown, stream: boolean, start: number, req: ArcRequest | undefined): ArcReply {
    const arc = this.asArcError(err, req);
    let status = httpStatusFor(arc.code);
    // A streaming caller never gets a 200 JSON error: the Python client would see no event at all.
    if (stream && status === 200) status = 400;
    let address = addressOf(body);
    this.logDone(address as unknown as ArcRequest, start, status, arc.code);
    // Only a registered agent answers as itself; for any other targetAgent the server does.
    if (typeof address.targetAgent === 'string' && !this.agents.has(address.targetAgent)) address = { ...address, targetAgent: undefined };
    const reply: ArcReply = { kind: 'json', status, body: errorEnvelope(address, arc, this.serverId) };
    if (isRetryable(arc.code)) reply.retryAfter = arc.retryAfter ?? 1;
    return reply;
  }

  private logDone(req: Partial<ArcRequest> | undefined, start: number, status: number, code: number | undefined, kind = 'json'): void {
    const entry: LogEntry = {
      level: code === undefined ? 'info' : 'warn',
      message: 'arc request',
      serverId: this.serverId,
      agent: req?.targetAgent,
      method: req?.method,
      id: req?.id,
      traceId: req?.traceId,
      durationMs: Math.round((performance.now() - start) * 1000) / 1000,
      status,
      outcome: code === undefined ? 'result' : 'error',
    };
    if (code !== undefined) entry.code = code;
    if (kind !== 'json') entry.transport = kind;
    this.logger.log(entry);
  }
}

// ---- helpers ----

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

function withMessage<T extends Record<string, unknown>>(chat: T, message: Message | undefined): T {
  if (message) (chat as Record<string, unknown>).message = message;
  return chat;
}

/** Lowercase part types in incoming messages become PascalCase before handlers see them. */
function normalizeInputMessages(params: Record<string, unknown>): void {
  const m = (params.initialMessage ?? params.message) as { parts?: unknown } | undefined;
  if (m && typeof m === 'object') normalizeMessage(m);
}
