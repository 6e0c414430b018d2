/**
 * One request on its way through the pipeline: what the transport told us (RequestMeta), what
 * routing found, and the handler's view of it (HandlerContext). Hooks get this object; handlers
 * see it through the HandlerContext interface. All fields exist from the constructor on (one
 * object shape for V8); routing fills them in.
 */
import type { AuthContext } from '../auth/caller';
import type { Logger } from '../logging/logger';
import type { SseEvent } from '../protocol/sse';
import type { ArcRequest, ArcResponse, RequestId } from '../protocol/types';
import type { ChatRecord } from '../state/chat-store';
import type { ChatLifecycle } from './chat-lifecycle';
import type { AgentCallService } from '../calls/agent-call-service';
import type { AgentCalls } from '../calls/agent-calls';
import type { HandlerContext } from './agent';

/** What the transport knows of a request besides its body. All optional: in-process calls have none. */
export interface RequestMeta {
  /**
   * Registers a callback for when the caller disconnects before the reply is written. Called
   * lazily, only when a handler reads `context.signal`, so the hot path adds no listener.
   */
  onDisconnect?: (abort: () => void) => void;
  /** Request headers with lower-case names, as node:http gives them (for hooks such as auth). */
  headers?: Readonly<Record<string, string | string[] | undefined>>;
  /** The caller's network address, as the transport saw it. */
  remoteAddress?: string;
  /**
   * A caller the transport already authenticated by other means (a webhook delivery with a
   * verified signature): the auth hook takes it instead of asking for a bearer token.
   */
  authenticated?: AuthContext;
  /**
   * Agent calls (calls/): the agents this request came through, the caller last (in process
   * directly, over HTTP from `X-Arc-Call-Chain`); undefined for a request from outside.
   */
  callChain?: readonly string[];
}

export interface JsonReply {
  kind: 'json';
  status: number;
  body: ArcResponse;
  /** Seconds, sent as `Retry-After`. */
  retryAfter?: number;
  /** Extra response headers (from hooks). */
  headers?: Record<string, string>;
}

export interface StreamReply {
  kind: 'stream';
  status: 200;
  events: AsyncIterable<SseEvent>;
  /**
   * Ends the exchange without reading the events: the caller went away, or the transport
   * cannot write. Frees the concurrency slot and aborts the handler's signal. Idempotent, and
   * safe after the events were read to the end.
   */
  cancel(): void;
  headers?: Record<string, string>;
}

export type ArcReply = JsonReply | StreamReply;

export class RequestState implements HandlerContext {
  /** The validated envelope, once validated. */
  request: ArcRequest | undefined = undefined;
  /** The routed agent's id ('' until routed). */
  agentId = '';
  /** Canonical method name, aliases resolved ('' until routed). */
  method = '';
  requestId: RequestId = '';
  traceId: string | undefined = undefined;
  requestAgent = '';
  /** Validated params (set before preHandler). */
  params: Record<string, unknown> = {};
  stream = false;
  chat: ChatRecord | undefined = undefined;
  /** Where `chat` lives (set with it by the dispatcher), for saveChatState. */
  private chats: ChatLifecycle | undefined = undefined;
  /** The authenticated caller, set by the auth hook (undefined while auth is off). */
  auth: AuthContext | undefined = undefined;
  private ownLocals: Record<string, unknown> | undefined = undefined;
  private bound: Logger | undefined = undefined;
  private controller: AbortController | undefined = undefined;
  // Agent calls: created when a handler first reads `agents`.
  private ownAgents: AgentCalls | undefined = undefined;

  constructor(
    /** performance.now() when the request arrived. */
    readonly startedAt: number,
    readonly meta: RequestMeta,
    /** The parsed request body, before validation (for onRequest hooks). */
    readonly body: unknown,
    private readonly rootLogger: Logger,
    /** The router's agent calls (none for a state built outside a router). */
    private readonly callService?: AgentCallService,
  ) {}

  /** Fills in what routing found. */
  route(request: ArcRequest, agentId: string, method: string, params: Record<string, unknown>, stream: boolean): void {
    this.request = request;
    this.agentId = agentId;
    this.method = method;
    this.requestId = request.id;
    this.traceId = request.traceId;
    this.requestAgent = request.requestAgent;
    this.params = params;
    this.stream = stream;
  }

  /** The chat this request is about, and the lifecycle that keeps it. */
  useChat(chat: ChatRecord, chats: ChatLifecycle): void {
    this.chat = chat;
    this.chats = chats;
  }

  /**
   * Keeps `state` with this request's chat (chat.start, chat.message, chat.end handlers): the
   * next request of the chat finds it as `chat.state`, on any replica sharing the store. Replaces
   * what was saved before. The chat must still be open (-43001 / -43002 otherwise).
   */
  async saveChatState(state: Record<string, unknown>): Promise<void> {
    if (this.chat === undefined || this.chats === undefined)
      throw new Error(`saveChatState needs a chat request; ${this.method || 'this'} has no chat`);
    await this.chats.saveState(this.agentId, this.chat.chatId, state);
    this.chat = { ...this.chat, state };
  }

  /** Free space for hooks (e.g. the authenticated caller), shared with the handler's context. Created on first use. */
  get locals(): Record<string, unknown> {
    this.ownLocals ??= {};
    return this.ownLocals;
  }

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

  /**
   * Calls to other agents (calls/agent-calls.ts), created on first use. A request without a
   * traceId gets one here (from its traceparent, or a new one): `traceId` and the logger carry it
   * from then on; the reply still echoes a traceId only when the request had one.
   */
  get agents(): AgentCalls {
    if (this.ownAgents === undefined) {
      if (this.callService === undefined) throw new Error('ctx.agents needs a request handled by an ArcRouter');
      this.ownAgents = this.callService.forRequest(this);
      if (this.traceId === undefined) {
        this.traceId = this.ownAgents.traceId;
        this.bound = undefined; // bound again, with the traceId, on next use
      }
    }
    return this.ownAgents;
  }

  get logger(): Logger {
    this.bound ??= this.rootLogger.child({ traceId: this.traceId, id: this.requestId, agent: this.agentId, method: this.method });
    return this.bound;
  }
}
