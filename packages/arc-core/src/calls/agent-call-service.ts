/**
 * The router's side of agent calls: one per router. It picks the transport (in process when the
 * target is mounted here, else the configured one), checks the call chain (-45006), bounds the
 * timeout by what is left of the calling handler's time, and logs each call. `forRequest` gives
 * a request its `ctx.agents` (created only when a handler asks for it).
 */
import { randomUUID } from 'node:crypto';
import type { AuthContext } from '../auth/caller';
import { ArcErrorCode } from '../errors/codes';
import type { Logger } from '../logging/logger';
import type { RequestState } from '../router/request-state';
import { AgentCalls, type AgentCallOptions } from './agent-calls';
import { DEFAULT_MAX_HOPS, nextChain } from './call-chain';
import { AgentCallError } from './errors';
import { AgentRoutes } from './agent-routes';
import { childTraceparent, newTraceId, parseTraceparent, w3cTraceId } from './trace-context';
import { InProcessTransport, type AgentCallRequest, type AgentCallTransport, type LocalAgents } from './transport';

export const DEFAULT_AGENT_CALL_TIMEOUT_MS = 10_000;

/** RouterOptions.agentCalls: where agents outside this router are, and the limits of a call. */
export interface AgentCallConfig {
  /** Agent id → ARC endpoint URL (AGENT_ROUTES). */
  routes?: Record<string, string>;
  /** A gateway routing `<gatewayUrl>/arc/<agent>` (ARC_GATEWAY_URL), for agents without a route. */
  gatewayUrl?: string;
  /** Default timeout of one call, retries included (default 10 s). */
  timeoutMs?: number;
  /** Longest call chain (default 8); longer, or a call back into the chain, is -45006. */
  maxHops?: number;
  /** Carries calls to agents not mounted here, instead of HTTP from routes / gatewayUrl. */
  transport?: AgentCallTransport;
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
}

export class AgentCallService {
  readonly timeoutMs: number;
  readonly maxHops: number;
  private readonly local: InProcessTransport;
  private readonly remote: AgentCallTransport | undefined;

  constructor(
    options: AgentCallConfig,
    local: LocalAgents,
    private readonly handlerTimeoutMs: number,
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_AGENT_CALL_TIMEOUT_MS;
    this.maxHops = options.maxHops ?? DEFAULT_MAX_HOPS;
    if (!(this.timeoutMs > 0)) throw new TypeError('agentCalls.timeoutMs must be > 0');
    if (!Number.isInteger(this.maxHops) || this.maxHops < 1) throw new TypeError('agentCalls.maxHops must be an integer >= 1');
    this.local = new InProcessTransport(local);
    const routes = new AgentRoutes(options);
    this.remote = options.transport ?? (routes.empty ? undefined : new LazyHttpTransport(routes));
  }

  /** The `ctx.agents` of a routed request. Fixes its traceId (see trace-context.ts). */
  forRequest(state: RequestState): AgentCalls {
    const parent = parseTraceparent(state.meta.headers?.traceparent);
    const traceId = state.traceId ?? parent?.traceId ?? newTraceId();
    const origin: CallOrigin = {
      agentId: state.agentId,
      traceId,
      w3cTraceId: parent?.traceId ?? w3cTraceId(traceId),
      traceFlags: parent?.flags ?? '01',
      chain: state.meta.callChain,
      auth: state.auth,
      deadline: state.startedAt + this.handlerTimeoutMs,
      logger: () => state.logger,
    };
    return new AgentCalls(this, origin);
  }

  /** One call: its result, or an AgentCallError. */
  async call(origin: CallOrigin, target: string, method: string, params: object, options: AgentCallOptions = {}): Promise<unknown> {
    const chain = nextChain(origin.chain, origin.agentId, target, method, this.maxHops);
    const transport = this.local.canReach(target) ? this.local : this.remote?.canReach(target) ? this.remote : undefined;
    if (transport === undefined) {
      throw new AgentCallError(ArcErrorCode.AgentNotFound, `Agent ${target} is not mounted here and has no route`, target, method, {
        details: { agentId: target },
        retryable: false,
      });
    }
    const wanted = options.timeoutMs ?? this.timeoutMs;
    const left = Math.floor(origin.deadline - performance.now());
    const timeoutMs = Math.min(wanted, left);
    if (timeoutMs <= 0) throw AgentCallError.timeout(target, method, wanted);
    const request: AgentCallRequest = {
      id: randomUUID(),
      target,
      method,
      params,
      requestAgent: origin.agentId,
      traceId: origin.traceId,
      traceparent: childTraceparent(origin.w3cTraceId, origin.traceFlags),
      chain,
      timeoutMs,
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      ...(origin.auth !== undefined ? { auth: origin.auth } : {}),
    };
    const started = performance.now();
    const via = transport === this.local ? 'in-process' : 'remote';
    try {
      const result = await transport.call(request);
      origin.logger().debug('agent call', { target, method, via, callId: request.id, durationMs: elapsed(started) });
      return result;
    } catch (err) {
      const error = AgentCallError.from(err, target, method, timeoutMs);
      origin.logger().warn('agent call failed', {
        target,
        method,
        via,
        callId: request.id,
        code: error.code,
        durationMs: elapsed(started),
        err: error.message,
      });
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
  private loaded: AgentCallTransport | undefined = undefined;

  constructor(private readonly routes: AgentRoutes) {}

  canReach(target: string): boolean {
    return this.routes.resolve(target) !== undefined;
  }

  call(request: AgentCallRequest): Promise<unknown> {
    if (this.loaded === undefined) {
      // A require, not import(): this package compiles to CommonJS, where import() would load ESM.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { HttpAgentTransport } = require('./http-transport') as typeof import('./http-transport');
      this.loaded = new HttpAgentTransport({}, this.routes);
    }
    return this.loaded.call(request);
  }
}
