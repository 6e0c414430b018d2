/**
 * The router's side of agent calls: one per router. It picks the transport (in process when the
 * target is mounted here, else the configured one), checks the target id (-41004) and the call
 * chain (-45006), bounds the timeout by what is left of the calling handler's time, runs remote
 * calls through the target's circuit breaker (circuit-breakers.ts), logs each call and tells an
 * observer (metrics) how it ended. `forRequest` gives a request its `ctx.agents` (created only
 * when a handler asks for it).
 */
import { randomUUID } from 'node:crypto';
import type { AuthContext } from '../auth/caller';
import { ArcErrorCode } from '../errors/codes';
import { silentLogger, type Logger } from '../logging/logger';
import type { RequestState } from '../router/request-state';
import { AgentCalls, type AgentCallOptions } from './agent-calls';
import type { AgentChatStream } from './agent-stream';
import { AGENT_ID, DEFAULT_MAX_HOPS, nextChain } from './call-chain';
import { CircuitBreakers, type BreakerOptions, type BreakerState } from './circuit-breakers';
import { AgentCallError } from './errors';
import { AgentRoutes } from './agent-routes';
import type { HttpAgentTransport } from './http-transport';
import type { AgentCallToken } from './service-token';
import { childTraceparent, newTraceId, parseTraceparent, w3cTraceId } from './trace-context';
import { requestTrace, type CallSpan, type RequestTrace } from '../tracing/request-trace';
import { InProcessTransport, type AgentCallRequest, type AgentCallTransport, type LocalAgents } from './transport';

export const DEFAULT_AGENT_CALL_TIMEOUT_MS = 10_000;

/** A W3C trace-id: 32 lower-case hex digits, not all zero. */
const VALID_TRACE_ID = /^(?!0{32})[0-9a-f]{32}$/;

/** RouterOptions.agentCalls: where agents outside this router are, and the limits of a call. */
export interface AgentCallConfig {
  /** Agent id → ARC endpoint URL (AGENT_ROUTES). */
  routes?: Record<string, string>;
  /** A gateway routing `<gatewayUrl>/arc/<agent>` (ARC_GATEWAY_URL), for agents without a route. */
  gatewayUrl?: string;
  /** Default timeout of one call, retries included (default 10 s); for a stream, of its answer and of each wait for an event. */
  timeoutMs?: number;
  /** Longest call chain (default 8); longer, or a call back into the chain, is -45006. */
  maxHops?: number;
  /** Carries calls to agents not mounted here, instead of HTTP from routes / gatewayUrl. */
  transport?: AgentCallTransport;
  /**
   * A circuit breaker per remote target (AGENT_CALL_BREAKER, AGENT_CALL_BREAKER_RESET_MS; on by
   * default): after repeated failures calls to it fail at once with -41003. See circuit-breakers.ts.
   */
  breaker?: BreakerOptions;
  /** The bearer token of HTTP calls (AGENT_CALL_TOKEN, or self-signed with AUTH_JWT_SECRET; service-token.ts). */
  token?: AgentCallToken;
}

/**
 * Told how agent calls end and how breakers change (metrics/agent-call-metrics.ts implements it).
 * Called on the calling path: keep it to a few arithmetic operations.
 */
export interface AgentCallObserver {
  /** A call ended (a stream: once it was accepted or refused); `code` undefined for success. */
  onCallEnd(target: string, method: string, code: number | undefined, seconds: number): void;
  /** The breaker of a remote target was created (closed) or changed state. */
  onBreakerState(target: string, state: BreakerState): void;
}

/** Who calls, fixed once per incoming request. */
export interface CallOrigin {
  readonly agentId: string;
  /** The traceId passed on: the incoming one, else the incoming traceparent's, else a new one. */
  readonly traceId: string;
  /** The W3C trace-id of the child traceparents. */
  readonly w3cTraceId: string;
  readonly traceFlags: string;
  /** The chain the request came with (undefined: it came from outside). */
  readonly chain: readonly string[] | undefined;
  readonly auth: AuthContext | undefined;
  /** performance.now() at which the calling handler's time is up. */
  readonly deadline: number;
  readonly logger: () => Logger;
  /** The request's server span when tracing is on: each call gets a client span under it. */
  readonly trace?: RequestTrace | undefined;
}

type Send<T> = (transport: AgentCallTransport, request: AgentCallRequest) => Promise<T>;

const sendCall: Send<unknown> = (transport, request) => transport.call(request);

const sendStream: Send<AgentChatStream> = (transport, request) => {
  if (transport.stream === undefined) {
    return Promise.reject(
      new AgentCallError(
        ArcErrorCode.InternalError,
        `The transport to agent ${request.target} does not stream`,
        request.target,
        request.method,
        {
          retryable: false,
        },
      ),
    );
  }
  return transport.stream(request);
};

export class AgentCallService {
  readonly timeoutMs: number;
  readonly maxHops: number;
  private readonly local: InProcessTransport;
  private readonly remote: AgentCallTransport | undefined;
  private readonly breakers: CircuitBreakers | undefined;
  private observer: AgentCallObserver | undefined = undefined;

  constructor(
    options: AgentCallConfig,
    local: LocalAgents,
    private readonly handlerTimeoutMs: number,
    logger: Logger = silentLogger,
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_AGENT_CALL_TIMEOUT_MS;
    this.maxHops = options.maxHops ?? DEFAULT_MAX_HOPS;
    if (!(this.timeoutMs > 0)) throw new TypeError('agentCalls.timeoutMs must be > 0');
    if (!Number.isInteger(this.maxHops) || this.maxHops < 1) throw new TypeError('agentCalls.maxHops must be an integer >= 1');
    this.local = new InProcessTransport(local);
    const routes = new AgentRoutes(options);
    this.remote = options.transport ?? (routes.empty ? undefined : new LazyHttpTransport(routes, options.token));
    const breaker = options.breaker ?? {};
    this.breakers =
      this.remote === undefined || breaker.enabled === false
        ? undefined
        : new CircuitBreakers(breaker, logger, (target, state) => this.observer?.onBreakerState(target, state));
  }

  /** Sets the observer of calls and breakers (one; metrics). */
  observe(observer: AgentCallObserver | undefined): void {
    this.observer = observer;
  }

  /** The state of the circuit breaker of a remote target; undefined without a breaker or a call to it yet. */
  breakerState(target: string): BreakerState | undefined {
    return this.breakers?.state(target);
  }

  /** Shuts the breakers down (their timers go); the router calls it on close. */
  close(): void {
    this.breakers?.close();
  }

  /** The `ctx.agents` of a routed request. Fixes its traceId (see trace-context.ts). */
  forRequest(state: RequestState): AgentCalls {
    const parent = parseTraceparent(state.meta.headers?.traceparent);
    const trace = requestTrace(state);
    // Without a traceId or traceparent, a traced request's own span trace-id becomes its traceId.
    const spanTraceId = trace !== undefined && VALID_TRACE_ID.test(trace.spanTraceId) ? trace.spanTraceId : undefined;
    const traceId = state.traceId ?? parent?.traceId ?? spanTraceId ?? newTraceId();
    const origin: CallOrigin = {
      agentId: state.agentId,
      traceId,
      w3cTraceId: parent?.traceId ?? spanTraceId ?? w3cTraceId(traceId),
      traceFlags: parent?.flags ?? '01',
      chain: state.meta.callChain,
      auth: state.auth,
      deadline: state.startedAt + this.handlerTimeoutMs,
      logger: () => state.logger,
      trace,
    };
    return new AgentCalls(this, origin);
  }

  /** One call: its result, or an AgentCallError. */
  call(origin: CallOrigin, target: string, method: string, params: object, options: AgentCallOptions = {}): Promise<unknown> {
    return this.run(origin, target, method, params, options, sendCall);
  }

  /**
   * A streamed chat.start / chat.message (`params.stream` must be true): resolves once the
   * target accepted it, rejects with AgentCallError for anything that failed before streaming.
   */
  stream(origin: CallOrigin, target: string, method: string, params: object, options: AgentCallOptions = {}): Promise<AgentChatStream> {
    return this.run(origin, target, method, params, options, sendStream);
  }

  private async run<T>(
    origin: CallOrigin,
    target: string,
    method: string,
    params: object,
    options: AgentCallOptions,
    send: Send<T>,
  ): Promise<T> {
    const started = performance.now();
    const wanted = options.timeoutMs ?? this.timeoutMs;
    let timeoutMs = wanted;
    let via: 'in-process' | 'remote' | undefined;
    let callId: string | undefined;
    let span: CallSpan | undefined;
    try {
      if (!AGENT_ID.test(target)) {
        throw new AgentCallError(ArcErrorCode.InvalidAgentId, `Invalid agent id ${JSON.stringify(target.slice(0, 64))}`, target, method, {
          details: { agentId: target.slice(0, 128) },
          retryable: false,
        });
      }
      const chain = nextChain(origin.chain, origin.agentId, target, method, this.maxHops);
      const transport = this.local.canReach(target) ? this.local : this.remote?.canReach(target) ? this.remote : undefined;
      if (transport === undefined) {
        throw new AgentCallError(ArcErrorCode.AgentNotFound, `Agent ${target} is not mounted here and has no route`, target, method, {
          details: { agentId: target },
          retryable: false,
        });
      }
      timeoutMs = Math.min(wanted, Math.floor(origin.deadline - performance.now()));
      if (timeoutMs <= 0) throw AgentCallError.timeout(target, method, wanted);
      span = origin.trace?.startCallSpan(target, method);
      const request: AgentCallRequest = {
        id: randomUUID(),
        target,
        method,
        params,
        requestAgent: origin.agentId,
        traceId: origin.traceId,
        traceparent: span?.traceparent ?? childTraceparent(origin.w3cTraceId, origin.traceFlags),
        chain,
        timeoutMs,
        ...(options.signal !== undefined ? { signal: options.signal } : {}),
        ...(origin.auth !== undefined ? { auth: origin.auth } : {}),
      };
      via = transport === this.local ? 'in-process' : 'remote';
      callId = request.id;
      const breakers = via === 'remote' ? this.breakers : undefined;
      const result =
        breakers === undefined
          ? await send(transport, request)
          : await breakers.run(target, method, timeoutMs, options.signal, () => send(transport, request));
      span?.end('ok');
      origin.logger().debug('agent call', { target, method, via, callId, durationMs: elapsed(started) });
      this.observer?.onCallEnd(target, method, undefined, (performance.now() - started) / 1000);
      return result;
    } catch (err) {
      const error = AgentCallError.from(err, target, method, timeoutMs);
      span?.end(error.code);
      // Refusals before a transport was chosen (bad id, chain, no route) are the caller's own: not logged as failed calls.
      if (via !== undefined) {
        origin.logger().warn('agent call failed', {
          target,
          method,
          via,
          callId,
          code: error.code,
          durationMs: elapsed(started),
          err: error.message,
        });
      }
      this.observer?.onCallEnd(target, method, error.code, (performance.now() - started) / 1000);
      throw error;
    }
  }
}

function elapsed(since: number): number {
  return Math.round((performance.now() - since) * 1000) / 1000;
}

/**
 * HttpAgentTransport, loaded with its axios client on the first remote call: a router whose
 * agents only call each other in process never loads it.
 */
class LazyHttpTransport implements AgentCallTransport {
  private loaded: HttpAgentTransport | undefined = undefined;

  constructor(
    private readonly routes: AgentRoutes,
    private readonly token: AgentCallToken | undefined,
  ) {}

  canReach(target: string): boolean {
    return this.routes.resolve(target) !== undefined;
  }

  call(request: AgentCallRequest): Promise<unknown> {
    return this.transport().call(request);
  }

  stream(request: AgentCallRequest): Promise<AgentChatStream> {
    return this.transport().stream(request);
  }

  private transport(): HttpAgentTransport {
    if (this.loaded === undefined) {
      // A require, not import(): this package compiles to CommonJS, where import() would load ESM.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { HttpAgentTransport } = require('./http-transport') as typeof import('./http-transport');
      this.loaded = new HttpAgentTransport(this.token === undefined ? {} : { token: this.token }, this.routes);
    }
    return this.loaded;
  }
}
