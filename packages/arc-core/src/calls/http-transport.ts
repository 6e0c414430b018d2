/**
 * Agent calls over HTTP with ArcClient (its timeout, and its retries of calls that certainly did
 * nothing: refused connection, 429, 503 -41011 after Retry-After), to the address agent-routes.ts
 * gives (a route, else the gateway's `/arc/<agent>`; neither: -41001).
 *
 *   new HttpAgentTransport({ routes: { 'hr-agent': 'http://hr:8000/arc' }, gatewayUrl: 'http://nginx' })
 */
import { ArcClient } from '../client/arc-client';
import type { RetryOptions } from '../client/retry';
import { AgentRoutes, type AgentRoutesOptions } from './agent-routes';
import { CALL_CHAIN_HEADER, formatCallChain } from './call-chain';
import { AgentCallError } from './errors';
import { TRACEPARENT_HEADER } from './trace-context';
import type { AgentCallRequest, AgentCallTransport } from './transport';

export interface HttpAgentTransportOptions extends AgentRoutesOptions {
  /** ArcClient's retries (default: its own). */
  retries?: RetryOptions | false;
  /** Extra headers on every call (an Authorization header, say). */
  headers?: Readonly<Record<string, string>>;
}

export class HttpAgentTransport implements AgentCallTransport {
  readonly routes: AgentRoutes;

  /** `routes`: an AgentRoutes already built (the options' routes and gatewayUrl are then not read). */
  constructor(
    private readonly options: HttpAgentTransportOptions,
    routes?: AgentRoutes,
  ) {
    this.routes = routes ?? new AgentRoutes(options);
  }

  /** The ARC endpoint of `target`, or undefined when no route or gateway names one. */
  resolve(target: string): string | undefined {
    return this.routes.resolve(target);
  }

  canReach(target: string): boolean {
    return this.resolve(target) !== undefined;
  }

  async call(request: AgentCallRequest): Promise<unknown> {
    const { target, method, timeoutMs } = request;
    const url = this.resolve(target);
    if (url === undefined) throw new AgentCallError(-41001, `No route to agent ${target}`, target, method, { retryable: false });
    // One client per call: the trace and chain headers are the call's own (connections are
    // pooled by Node's global agent all the same).
    const client = new ArcClient(url, {
      requestAgent: request.requestAgent,
      timeoutMs,
      ...(this.options.retries !== undefined ? { retries: this.options.retries } : {}),
      headers: {
        ...this.options.headers,
        [TRACEPARENT_HEADER]: request.traceparent,
        [CALL_CHAIN_HEADER]: formatCallChain(request.chain),
      },
    });
    try {
      const reply = await client.request(method, target, request.params, {
        id: request.id,
        traceId: request.traceId,
        timeoutMs,
        ...(request.signal !== undefined ? { signal: request.signal } : {}),
      });
      return reply.result;
    } catch (err) {
      throw AgentCallError.from(err, target, method, timeoutMs);
    }
  }
}
