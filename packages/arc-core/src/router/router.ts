/**
 * The transport-free request pipeline:
 *
 *   parse → [onRequest] → validate the envelope → route by `targetAgent` and method → validate
 *   params and limits → [preHandler] → concurrency slot → dispatch (chat lifecycle, handler)
 *   → [onSend] → reply … [onResponse] when the exchange is over; [onError] on the way out of a
 *   failure.
 *
 * It returns a JSON reply or an SSE stream for an adapter (express/, or a bare node:http
 * server) to write, and logs one structured line per request. Files: hooks.ts (the stages),
 * request-state.ts (one request), dispatch.ts (methods), chat-stream.ts (SSE replies),
 * invoker.ts (handlers and timeouts), access-log.ts.
 */
import { randomUUID } from 'node:crypto';
import { ArcError, errors } from '../errors/arc-error';
import { ArcErrorCode, httpStatusFor, isRetryable } from '../errors/codes';
import { silentLogger, type Logger } from '../logging/logger';
import { addressOf, errorEnvelope, successEnvelope } from '../protocol/envelope';
import { DEFAULT_MAX_METADATA_BYTES, clip } from '../protocol/limits';
import { canonicalMethod, normalizeAliasParams } from '../protocol/methods';
import { parseJsonBody } from '../protocol/parse';
import { ArcValidator } from '../protocol/validation';
import { AgentCallService, type AgentCallConfig } from '../calls/agent-call-service';
import type { ChatStore } from '../state/chat-store';
import { MemoryChatStore } from '../state/memory-chat-store';
import { accessLogEntry } from './access-log';
import { ArcAgent } from './agent';
import { ChatLifecycle } from './chat-lifecycle';
import type { StreamTransport } from './chat-stream';
import { ConcurrencyLimit } from './concurrency';
import { Dispatcher } from './dispatch';
import { Hooks, runErrorHooks, runRequestHooks, runSendHooks, type HookMap, type HookName } from './hooks';
import { HandlerInvoker } from './invoker';
import { ParamsCheck } from './params-check';
import { TaskService, type TaskObserver, type TaskOptions } from '../tasks/task-service';
import { RequestState, type ArcReply, type RequestMeta } from './request-state';

export type { ArcReply, JsonReply, RequestMeta, StreamReply } from './request-state';

export interface RouterOptions {
  /** Names this server in logs, /health and error envelopes. */
  serverId: string;
  chatStore?: ChatStore;
  logger?: Logger;
  /** Requests in flight per agent before -41011 / 503 (default 100). */
  maxConcurrentPerAgent?: number;
  /** Time a handler has to produce its reply, and each chunk of a stream, before -41006 (default 120 s). */
  handlerTimeoutMs?: number;
  /** Largest `params.metadata` accepted, as JSON bytes (default 16 KiB); larger is -32602. */
  maxMetadataBytes?: number;
  /** Task store, queue, limits and the webhook sink, for agents with a task handler (onTask). */
  tasks?: Partial<TaskOptions>;
  /** Calls from handlers to other agents (`ctx.agents`): routes, gateway, timeout, hop limit. */
  agentCalls?: AgentCallConfig;
}

interface AgentEntry {
  agent: ArcAgent;
  limit: ConcurrencyLimit;
}

export class ArcRouter {
  readonly serverId: string;
  readonly chatStore: ChatStore;
  readonly logger: Logger;
  readonly hooks = new Hooks();
  private readonly validator = new ArcValidator();
  private readonly agents = new Map<string, AgentEntry>();
  private readonly maxConcurrent: number;
  private readonly params: ParamsCheck;
  private readonly dispatcher: Dispatcher;
  private readonly taskOptions: Partial<TaskOptions>;
  private taskService: TaskService | undefined = undefined;
  private taskObserver: TaskObserver | undefined = undefined;
  /** The agent calls (`ctx.agents`) of this router's handlers (metrics observe them). */
  readonly calls: AgentCallService;
  /** The chat lifecycle of every agent (metrics observe it). */
  readonly chats: ChatLifecycle;

  constructor(options: RouterOptions) {
    this.serverId = options.serverId;
    this.chatStore = options.chatStore ?? new MemoryChatStore();
    this.logger = options.logger ?? silentLogger;
    this.maxConcurrent = options.maxConcurrentPerAgent ?? 100;
    this.params = new ParamsCheck(this.validator, options.maxMetadataBytes ?? DEFAULT_MAX_METADATA_BYTES);
    this.taskOptions = options.tasks ?? {};
    const handlerTimeoutMs = options.handlerTimeoutMs ?? 120_000;
    const invoker = new HandlerInvoker(handlerTimeoutMs);
    this.chats = new ChatLifecycle(this.chatStore, this.logger);
    this.dispatcher = new Dispatcher(this.chats, invoker, (err, ctx) => this.asArcError(err, ctx));
    const local = { has: (id: string) => this.agents.has(id), handle: (body: unknown, meta: RequestMeta) => this.handle(body, meta) };
    this.calls = new AgentCallService(options.agentCalls ?? {}, local, handlerTimeoutMs, this.logger);
  }

  /** Mounts an agent. Two agents with one id in one router is a programming error (-41010). */
  addAgent(agent: ArcAgent): ArcAgent {
    if (this.agents.has(agent.id)) {
      throw new ArcError(ArcErrorCode.DuplicateAgentId, `Agent ${agent.id} is already registered on ${this.serverId}`);
    }
    this.agents.set(agent.id, { agent, limit: new ConcurrencyLimit(agent.maxConcurrent ?? this.maxConcurrent) });
    if (agent.taskHandler) this.tasks.register(agent.id, agent.taskHandler);
    return agent;
  }

  /** The task machinery, created with the first agent that handles tasks. */
  get tasks(): TaskService {
    if (this.taskService === undefined) {
      this.taskService = new TaskService({ workerId: this.serverId, ...this.taskOptions }, this.logger);
      if (this.taskObserver !== undefined) this.taskService.observe(this.taskObserver);
    }
    return this.taskService;
  }

  /** Sets the observer of task status changes and webhook outcomes (metrics), now or when the task machinery is created. */
  observeTasks(observer: TaskObserver): void {
    this.taskObserver = observer;
    this.taskService?.observe(observer);
  }

  /** Resolves when every store and queue this router uses can serve (readiness); rejects naming the one that cannot. */
  async ping(): Promise<void> {
    await this.chatStore.ping().catch((err: unknown) => {
      throw new Error(`chat store: ${err instanceof Error ? err.message : String(err)}`);
    });
    if (this.taskService) await this.taskService.ping();
  }

  /** Releases the chat store, the task machinery (queue, store) and the agent calls' breakers. */
  async close(): Promise<void> {
    this.calls.close();
    await this.taskService?.close();
    await this.chatStore.dispose();
  }

  /** The agent with this id, created and mounted on first use (the guide's `agent_handler` style). */
  agent(agentId: string): ArcAgent {
    return this.agents.get(agentId)?.agent ?? this.addAgent(new ArcAgent(agentId));
  }

  /** Adds a hook to a stage of the pipeline (see hooks.ts). */
  addHook<N extends HookName>(name: N, hook: HookMap[N]): this {
    this.hooks.add(name, hook);
    return this;
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
      return this.errorReply(err, new RequestState(start, meta, undefined, this.logger));
    }
    return this.handle(body, meta, start);
  }

  /** Handles a parsed request body. */
  async handle(body: unknown, meta: RequestMeta = {}, start = performance.now()): Promise<ArcReply> {
    const ctx = new RequestState(start, meta, body, this.logger, this.calls);
    const hooks = this.hooks;
    try {
      if (hooks.onRequest !== null) {
        const pending = runRequestHooks(hooks.onRequest, ctx);
        if (pending !== undefined) await pending;
      }
      const req = this.validator.validateEnvelope(body);
      const entry = this.agents.get(req.targetAgent);
      if (!entry) throw errors.agentNotFound(req.targetAgent, [...this.agents.keys()]);
      const method = canonicalMethod(req.method);
      if (!entry.agent.supports(method)) throw errors.methodNotFound(req.method, entry.agent.id, entry.agent.methods);
      const handler = entry.agent.handler(method);
      const params = normalizeAliasParams(req.method, req.params);
      const stream = params.stream === true && (method === 'chat.start' || method === 'chat.message');
      ctx.route(req, entry.agent.id, method, params, stream);
      this.params.check(method, handler, params);
      if (hooks.preHandler !== null) {
        const pending = runRequestHooks(hooks.preHandler, ctx);
        if (pending !== undefined) await pending;
      }

      if (!entry.limit.tryAcquire()) throw errors.capacityExceeded(entry.agent.id, entry.limit.limit);
      let reply: ArcReply;
      if (stream) {
        try {
          // From here on the stream owns the slot: it frees it when it ends, however it ends.
          reply = await this.dispatcher.openStream(handler, ctx, (code, transport) => this.streamEnded(entry, ctx, code, transport));
        } catch (err) {
          entry.limit.release();
          throw err;
        }
      } else {
        let result: unknown;
        try {
          result = await this.dispatcher.run(handler, ctx, entry.agent.taskHandler ? this.tasks.engine : undefined);
        } finally {
          entry.limit.release();
        }
        reply = {
          kind: 'json',
          status: 200,
          body: successEnvelope(req.id, req.requestAgent, req.targetAgent, result, req.traceId, 'traceId' in req),
        };
      }
      if (hooks.onSend !== null) {
        const sent = this.sendHooks(ctx, reply);
        reply = sent instanceof Promise ? await sent : sent;
      }
      if (reply.kind === 'json') this.finished(ctx, reply.status, undefined, 'json');
      return reply;
    } catch (err) {
      return this.errorReply(err, ctx);
    }
  }

  // ---- pipeline helpers ----

  /** The onSend hooks; a reply, not a promise, while they all answer at once. */
  private sendHooks(ctx: RequestState, reply: ArcReply): ArcReply | Promise<ArcReply> {
    const cancel = (err: unknown): never => {
      if (reply.kind === 'stream') reply.cancel();
      throw err;
    };
    let out: ArcReply | Promise<ArcReply>;
    try {
      out = runSendHooks(this.hooks.onSend!, ctx, reply);
    } catch (err) {
      return cancel(err);
    }
    return out instanceof Promise ? out.catch(cancel) : out;
  }

  private streamEnded(entry: AgentEntry, ctx: RequestState, code: number | undefined, transport: StreamTransport): void {
    entry.limit.release();
    this.finished(ctx, 200, code, transport);
  }

  /** The exchange is over: one access-log line, then the onResponse hooks. */
  private finished(ctx: RequestState, status: number, code: number | undefined, transport: 'json' | StreamTransport): void {
    const entry = accessLogEntry(this.serverId, ctx, status, code, transport);
    this.logger.log(entry);
    const hooks = this.hooks.onResponse;
    if (hooks === null) return;
    const outcome = { status, code, transport, durationMs: entry.durationMs as number };
    for (const hook of hooks) {
      try {
        hook(ctx, outcome);
      } catch (err) {
        this.logger.error('onResponse hook failed', { err: err instanceof Error ? err.message : String(err) });
      }
    }
  }

  // ---- errors ----

  private asArcError(err: unknown, ctx: RequestState | undefined): ArcError {
    if (err instanceof ArcError) return err;
    const errorId = randomUUID();
    this.logger.error('unexpected error', {
      errorId,
      traceId: ctx?.traceId,
      id: clip(ctx?.requestId),
      agent: ctx?.agentId,
      method: ctx?.method,
      err: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
    return errors.internal(errorId);
  }

  private async errorReply(err: unknown, ctx: RequestState): Promise<ArcReply> {
    let arc = this.asArcError(err, ctx);
    if (this.hooks.onError !== null) {
      try {
        arc = await runErrorHooks(this.hooks.onError, ctx, arc);
      } catch (hookErr) {
        arc = this.asArcError(hookErr, ctx);
      }
    }
    let status = httpStatusFor(arc.code);
    // A streaming caller never gets a 200 JSON error: the Python client would see no event at all.
    if (ctx.stream && status === 200) status = 400;
    let address = addressOf(ctx.body);
    // Only a registered agent answers as itself; for any other targetAgent the server does, and
    // to a caller that failed authentication too, so it cannot tell which agents exist.
    if (typeof address.targetAgent === 'string' && (!this.agents.has(address.targetAgent) || arc.code === ArcErrorCode.Authentication))
      address = { ...address, targetAgent: undefined };
    let reply: ArcReply = { kind: 'json', status, body: errorEnvelope(address, arc, this.serverId) };
    if (isRetryable(arc.code)) reply.retryAfter = arc.retryAfter ?? 1;
    if (this.hooks.onSend !== null) {
      try {
        reply = await runSendHooks(this.hooks.onSend, ctx, reply);
      } catch (hookErr) {
        this.asArcError(hookErr, ctx);
      }
    }
    this.finished(ctx, reply.status, arc.code, 'json');
    return reply;
  }
}
