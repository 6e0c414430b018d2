/**
 * An agent: an id and its handlers, registered per method. An ArcAgent holds no transport, so
 * a service can export its agent and any process can mount it.
 *
 *   export const financeAgent = new ArcAgent('finance-agent', { description: 'Invoices and payments' })
 *     .on('chat.start', async (params, ctx) => 'How can I help?')
 *     .on('chat.message', async (params, ctx) => `You said: ${messageText(params.message)}`);
 *
 * Chat handlers return a reply: a string, a Message, a guide-style ChatResult, or an
 * AsyncIterable of text chunks (or parts) to stream. The core owns the chat lifecycle (ids,
 * status, closing), so `chat.end` works for every agent that handles `chat.start`; a `chat.end`
 * handler, if given, runs before the chat is closed (for clean-up) and may refuse by throwing.
 */
import type { AuthContext } from '../auth/caller';
import type { AgentCalls } from '../calls/agent-calls';
import { checkDeclaredScopes } from '../auth/scopes';
import { ArcError } from '../errors/arc-error';
import { ArcErrorCode } from '../errors/codes';
import type { Logger } from '../logging/logger';
import { checkAgentRateLimit, type AgentRateLimit } from '../limits/agent-rate-limit';
import { canonicalMethod } from '../protocol/methods';
import type { JsonSchema } from '../protocol/schemas';
import type { ArcMethods, ChatResult, Message, Part, RequestId, StandardMethod } from '../protocol/types';
import type { ChatRecord } from '../state/chat-store';
import type { TaskHandler } from '../tasks/task-context';

/** The methods the core's task lifecycle serves for an agent with a task handler. */
export const TASK_LIFECYCLE_METHODS: readonly string[] = ['task.create', 'task.info', 'task.send', 'task.cancel', 'task.subscribe'];

export interface HandlerContext {
  readonly agentId: string;
  /** Canonical method name (aliases resolved). */
  readonly method: string;
  readonly requestId: RequestId;
  readonly traceId: string | undefined;
  readonly requestAgent: string;
  /** The chat this request belongs to (chat.* methods only); `chat.state` is what saveChatState kept. */
  readonly chat: ChatRecord | undefined;
  /**
   * Keeps `state` (JSON, at most 16 KiB) with this request's chat until the chat ends, for the
   * chat's next requests on any replica sharing the chat store. Replaces the previous state.
   */
  saveChatState(state: Record<string, unknown>): Promise<void>;
  /** True when the caller asked for an SSE stream (`params.stream === true`). */
  readonly stream: boolean;
  /** Aborted when the caller goes away or the handler's time is up. */
  readonly signal: AbortSignal;
  /** A logger bound to this request (traceId, request id, agent, method). */
  readonly logger: Logger;
  /** What the pipeline's hooks left for the handler. */
  readonly locals: Record<string, unknown>;
  /** The authenticated caller (subject, scopes, claims); undefined when auth is off. */
  readonly auth: AuthContext | undefined;
  /** Calls to other agents by id (calls/agent-calls.ts): in process when mounted here, else over HTTP. */
  readonly agents: AgentCalls;
}

/** What a chat.start / chat.message handler may return. */
export type ChatReply = string | Message | ChatResult | AsyncIterable<string | Part> | undefined;

type HandlerReturn<M extends string> = M extends 'chat.start' | 'chat.message'
  ? ChatReply
  : M extends 'chat.end'
    ? void
    : M extends StandardMethod
      ? ArcMethods[M]['result']
      : unknown;

type HandlerParams<M extends string> = M extends StandardMethod ? ArcMethods[M]['params'] : Record<string, unknown>;

export type ArcHandler<M extends string = string> = (
  params: HandlerParams<M>,
  context: HandlerContext,
) => HandlerReturn<M> | Promise<HandlerReturn<M>>;

export interface HandlerOptions {
  /** JSON Schema of the params of a custom (non-standard) method; compiled at registration. */
  paramsSchema?: JsonSchema;
  /**
   * Scopes a caller's token must all hold when auth is on (auth/scopes.ts). A custom method
   * without them needs only a valid token; on a standard method they add to the protocol's own.
   */
  scopes?: readonly string[];
}

export interface AgentOptions {
  description?: string;
  /** Requests handled at once by this agent before -41011; overrides the server default. */
  maxConcurrent?: number;
  /**
   * This agent's rate limits (limits/), overriding the server's: a string such as '10/1s' for all
   * requests to the agent (RATE_LIMIT_AGENT), or `{ agent, caller }` (caller: each caller's
   * requests to it, RATE_LIMIT_CALLER); `false` turns that limit off for this agent.
   */
  rateLimit?: AgentRateLimit;
}

export type { AgentRateLimit };

export interface RegisteredHandler {
  readonly method: string;
  readonly fn: ArcHandler;
  readonly options: HandlerOptions;
}

const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export class ArcAgent {
  readonly id: string;
  readonly description: string | undefined;
  readonly maxConcurrent: number | undefined;
  readonly rateLimit: AgentRateLimit | undefined;
  private readonly handlers = new Map<string, RegisteredHandler>();
  private taskHandlerFn: TaskHandler | undefined = undefined;

  constructor(id: string, options: AgentOptions = {}) {
    if (!AGENT_ID.test(id)) {
      throw new ArcError(ArcErrorCode.InvalidAgentId, `Invalid agent id "${id}": use letters, digits and . _ : - (max 128)`);
    }
    this.id = id;
    this.description = options.description;
    this.maxConcurrent = options.maxConcurrent;
    if (options.rateLimit !== undefined) checkAgentRateLimit(id, options.rateLimit);
    this.rateLimit = options.rateLimit;
  }

  /** Registers the handler of a method. A second handler for the same method throws. */
  on<M extends StandardMethod>(method: M, handler: ArcHandler<M>, options?: HandlerOptions): this;
  on(method: string, handler: ArcHandler, options?: HandlerOptions): this;
  on(method: string, handler: ArcHandler<never>, options: HandlerOptions = {}): this {
    const name = canonicalMethod(method);
    if (this.handlers.has(name)) throw new Error(`Agent ${this.id} already has a handler for ${name}`);
    if (this.taskHandlerFn && TASK_LIFECYCLE_METHODS.includes(name)) {
      throw new Error(`Agent ${this.id} has a task handler, which runs ${name} itself`);
    }
    if (typeof handler !== 'function') throw new TypeError(`Handler for ${this.id}/${name} must be a function`);
    checkDeclaredScopes(`Handler for ${this.id}/${name}`, options.scopes);
    this.handlers.set(name, { method: name, fn: handler as unknown as ArcHandler, options });
    return this;
  }

  /** The handler of a canonical method name, if registered. */
  handler(method: string): RegisteredHandler | undefined {
    return this.handlers.get(method);
  }

  /**
   * Registers the agent's task handler: the core then serves task.create, task.info (task.get),
   * task.send, task.cancel and task.subscribe for this agent and runs the lifecycle; the
   * handler only does the work (see tasks/task-context.ts). One per agent.
   */
  onTask(handler: TaskHandler): this {
    if (this.taskHandlerFn) throw new Error(`Agent ${this.id} already has a task handler`);
    if (typeof handler !== 'function') throw new TypeError(`Task handler of ${this.id} must be a function`);
    for (const m of TASK_LIFECYCLE_METHODS) {
      if (this.handlers.has(m)) throw new Error(`Agent ${this.id} has its own ${m} handler; a task handler runs the task methods itself`);
    }
    this.taskHandlerFn = handler;
    return this;
  }

  /** The agent's task handler, if it has one. */
  get taskHandler(): TaskHandler | undefined {
    return this.taskHandlerFn;
  }

  /** True when the core serves this method for this agent (chat.end comes with chat.start, the task methods with onTask). */
  supports(method: string): boolean {
    return (
      this.handlers.has(method) ||
      (method === 'chat.end' && this.handlers.has('chat.start')) ||
      (this.taskHandlerFn !== undefined && TASK_LIFECYCLE_METHODS.includes(method))
    );
  }

  /** Methods this agent answers, in registration order. */
  get methods(): string[] {
    const list = [...this.handlers.keys()];
    if (this.handlers.has('chat.start') && !this.handlers.has('chat.end')) list.push('chat.end');
    if (this.taskHandlerFn) list.push(...TASK_LIFECYCLE_METHODS);
    return list;
  }
}
