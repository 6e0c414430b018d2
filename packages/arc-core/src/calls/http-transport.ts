/**
 * Agent calls over HTTP with ArcClient (its timeout, and its retries of calls that certainly did
 * nothing: refused connection, 429, 503 -41011 after Retry-After), to the address agent-routes.ts
 * gives (a route, else the gateway's `/arc/<agent>`; neither: -41001).
 *
 *   new HttpAgentTransport({ routes: { 'hr-agent': 'http://hr:8000/arc' }, gatewayUrl: 'http://nginx' })
 *
 * Streamed chat calls go over node:http instead (http-stream.ts), with the same headers.
 */
import { ArcClient } from '../client/arc-client';
import type { RetryOptions } from '../client/retry';
import { AgentRoutes, type AgentRoutesOptions } from './agent-routes';
import { CALL_CHAIN_HEADER, formatCallChain } from './call-chain';
import type { AgentChatStream } from './agent-stream';
import { AgentCallError } from './errors';
import { openHttpStream } from './http-stream';
import { TRACEPARENT_HEADER } from './trace-context';
import { callEnvelope, type AgentCallRequest, type AgentCallTransport } from './transport';
import { authorizationFor, type AgentCallToken } from './service-token';

export interface HttpAgentTransportOptions extends AgentRoutesOptions {
  /** ArcClient's retries (default: its own). */
  retries?: RetryOptions | false;
  /** Extra headers on every call. */
  headers?: Readonly<Record<string, string>>;
  /** The bearer token of every call, or one per calling agent (service-token.ts). */
  token?: AgentCallToken;
}

export class HttpAgentTransport implements AgentCallTransport {
  readonly routes: AgentRoutes;
  private readonly clients = new Map<string, ArcClient>();

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
    const authorization = await this.authorization(request);
    const client = this.clientFor(url, request.requestAgent);
    try {
      const reply = await client.request(method, target, request.params, {
        id: request.id,
        traceId: request.traceId,
        timeoutMs,
        ...(request.signal !== undefined ? { signal: request.signal } : {}),
        // The call's own headers; the client (and its connections) is shared by the calls to `url`.
        headers: {
          ...authorization,
          [TRACEPARENT_HEADER]: request.traceparent,
          [CALL_CHAIN_HEADER]: formatCallChain(request.chain),
        },
      });
      return reply.result;
    } catch (err) {
      throw AgentCallError.from(err, target, method, timeoutMs);
    }
  }

  /** A streamed chat call: the same envelope and headers as `call`, the answer read as SSE (http-stream.ts). */
  async stream(request: AgentCallRequest): Promise<AgentChatStream> {
    const { target, method, timeoutMs } = request;
    const url = this.resolve(target);
    if (url === undefined) throw new AgentCallError(-41001, `No route to agent ${target}`, target, method, { retryable: false });
    const authorization = await this.authorization(request);
    const body = JSON.stringify(callEnvelope(request));
    return openHttpStream({
      url,
      id: request.id,
      body,
      target,
      method,
      timeoutMs,
      ...(request.signal !== undefined ? { signal: request.signal } : {}),
      headers: {
        'Content-Type': 'application/arc+json',
        Accept: 'text/event-stream, application/arc+json, application/json',
        'User-Agent': 'arc-ts-client',
        ...this.options.headers,
        ...authorization,
        [TRACEPARENT_HEADER]: request.traceparent,
        [CALL_CHAIN_HEADER]: formatCallChain(request.chain),
      },
    });
  }

  /** One client per endpoint and calling agent (a handful: the routes × the agents mounted here). */
  private clientFor(url: string, requestAgent: string): ArcClient {
    const key = `${requestAgent} ${url}`;
    let client = this.clients.get(key);
    if (client === undefined) {
      client = new ArcClient(url, {
        requestAgent,
        ...(this.options.retries !== undefined ? { retries: this.options.retries } : {}),
        ...(this.options.headers !== undefined ? { headers: { ...this.options.headers } } : {}),
      });
      this.clients.set(key, client);
    }
    return client;
  }

  /** The Authorization header of this call's caller, if a token is configured. */
  private async authorization(request: AgentCallRequest): Promise<Record<string, string>> {
    try {
      const value = await authorizationFor(this.options.token, request.requestAgent);
      return value === undefined ? {} : { Authorization: value };
    } catch (err) {
      throw new AgentCallError(
        -32603,
        `No token for the call to agent ${request.target}: ${err instanceof Error ? err.message : String(err)}`,
        request.target,
        request.method,
        {
          retryable: false,
        },
      );
    }
  }
}
