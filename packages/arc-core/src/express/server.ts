/**
 * The Express integration, close to the Python guide's API:
 *
 *   const server = createArcServer({ serverId: 'finance-server' });
 *   server.agentHandler('finance-agent', 'chat.start', async (params, context) => 'Hello');
 *   await server.listen(8001, '0.0.0.0');
 *
 * Routes: POST /arc (any Content-Type, parsed as JSON), GET /health, GET /agent-info, GET /metrics
 * (with the `metrics` option; Prometheus text), GET /inspector/ (with the `inspector` option); other verbs on /arc → 405 + `Allow: POST`; any
 * other path → 404; every other answer is JSON.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Express, Response } from 'express';
import type { Registry } from 'prom-client';
import type { Logger } from '../logging/logger';
import type { StandardMethod } from '../protocol/types';
import type { ArcAgent, ArcHandler, HandlerOptions } from '../router/agent';
import type { HookMap, HookName } from '../router/hooks';
import { ArcRouter, type RouterOptions } from '../router/router';
import type { ChatStore } from '../state/chat-store';
import { createArcRequestHandler } from './arc-request-handler';
import { resolveTimeouts, type HttpTimeouts } from './connection-limits';
import { installAuth, type AuthGuard, type AuthOptions } from '../auth/auth-hooks';
import { installRateLimits, type RateLimiter, type RateLimitOptions } from '../limits/rate-limit-hook';
import { createCorsHandler, type CorsHandler, type CorsOptions } from './cors';
import { answerHttpError, buildExpressApp } from './express-app';
import { createInspectorHandler } from './inspector';
import { createWebhookReceiver } from './webhook-receiver';
import { refuseMissingHost } from './http-errors';
import { createHttpServer } from './http-server';
import { writeJson } from './reply-writer';
import { createMetricsRegistry, type MetricsOptions } from '../metrics/registry';
import { RequestMetrics } from '../metrics/request-metrics';
import { AgentCallMetrics } from '../metrics/agent-call-metrics';
import { ChatMetrics } from '../metrics/chat-metrics';
import { TaskMetrics } from '../metrics/task-metrics';
import { RedisErrorMetrics } from '../metrics/redis-error-metrics';
import { installTracing } from '../tracing/tracing-hooks';
import { closeTracing, tracerOf, type TracingOption } from '../tracing/tracing-option';

const CORE_VERSION: string = (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;

export interface ArcServerOptions extends RouterOptions, CorsOptions {
  description?: string;
  /** Reported by /health; defaults to the arc-core version. */
  version?: string;
  /** Largest request body in bytes; larger ones get -45004 / 413 (default 10 MiB). */
  bodyLimitBytes?: number;
  /** A comment line keeps quiet SSE streams alive every this many ms (default 15000; 0: none). */
  sseHeartbeatMs?: number;
  /** A connection must send a complete request head within this many ms (default 10000); 408 otherwise. */
  headersTimeoutMs?: number;
  /** The whole request, body included, must arrive within this many ms (default 30000); 408 otherwise. */
  requestTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this many ms (default 65000). */
  keepAliveTimeoutMs?: number;
  chatStore?: ChatStore;
  logger?: Logger;
  /**
   * Bearer-token auth (auth/auth-hooks.ts): when given, every ARC method needs a valid token and
   * its scopes; /health stays open, /agent-info too unless `protectAgentInfo` (default true).
   */
  auth?: ServerAuthOptions;
  /**
   * Rate limits (limits/rate-limit-hook.ts): per caller and per agent, with agents' own
   * `rateLimit`; checked after auth, so the caller is the token's subject when auth is on.
   */
  rateLimits?: RateLimitOptions;
  /**
   * GET /metrics in Prometheus format (metrics/): request counts, durations, in flight, process
   * metrics, on a registry of this server's own (`server.metrics`). Default off; runService turns
   * it on unless METRICS_ENABLED=false. With auth, /metrics needs a token unless `protectMetrics: false`.
   */
  metrics?: boolean | MetricsOptions;
  /**
   * OpenTelemetry tracing (tracing/): a SERVER span per request and a CLIENT span per agent call.
   * A tracer (`{ tracer, shutdown }` from createTracing: shut down on close) or a TracerProvider
   * (flushed on close). Default off: no hook installed. runService turns it on with
   * OTEL_EXPORTER_OTLP_ENDPOINT.
   */
  tracing?: TracingOption;
  /**
   * The web inspector at GET /inspector/ (express/inspector.ts, docs/inspector.md). Default off;
   * runService turns it on with INSPECTOR=on. Throws if @arc/inspector is not built.
   */
  inspector?: boolean;
}

export interface ServerAuthOptions extends AuthOptions {
  /** GET /agent-info needs a valid token too (AUTH_PROTECT_AGENT_INFO; default true). */
  protectAgentInfo?: boolean;
  /** GET /metrics needs a valid token too (AUTH_PROTECT_METRICS; default true). */
  protectMetrics?: boolean;
}

export interface ListenAddress {
  host: string;
  port: number;
  url: string;
}

export class ArcServer {
  readonly app: Express;
  readonly router: ArcRouter;
  readonly serverId: string;
  private readonly description: string;
  private readonly version: string;
  private readonly bodyLimitBytes: number;
  private readonly timeouts: HttpTimeouts;
  private readonly webhookSecret: string | undefined;
  private http: Server | undefined;
  private draining = false;
  private readonly handleArc: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  private readonly cors: CorsHandler | undefined;
  private readonly auth: AuthGuard | undefined;
  private readonly protectAgentInfo: boolean;
  private readonly rateLimitOptions: RateLimitOptions | undefined;
  private limiter: RateLimiter | undefined;
  private readonly metricsRegistry: Registry | undefined;
  /** Counts the Redis stores' failed operations (with metrics); a limiter made later is watched when made. */
  private redisErrors: RedisErrorMetrics | undefined = undefined;
  private readonly protectMetrics: boolean;
  private readonly tracing: TracingOption | undefined;

  constructor(options: ArcServerOptions) {
    this.router = new ArcRouter(options);
    // Tracing first: its span is open before the scope and rate-limit checks run.
    this.tracing = options.tracing;
    if (this.tracing !== undefined) installTracing(this.router, tracerOf(this.tracing, CORE_VERSION));
    // Hooks run in the order they were added: auth first, so rate limits count the token's subject.
    this.auth = options.auth === undefined ? undefined : installAuth(this.router, options.auth);
    this.protectAgentInfo = this.auth !== undefined && options.auth?.protectAgentInfo !== false;
    this.rateLimitOptions = options.rateLimits;
    this.installLimits();
    // Metrics: a registry of this server's own and the onResponse hook (metrics/request-metrics.ts).
    this.protectMetrics = this.auth !== undefined && options.auth?.protectMetrics !== false;
    if (options.metrics !== undefined && options.metrics !== false) {
      this.metricsRegistry = createMetricsRegistry(options.metrics === true ? {} : options.metrics);
      this.router.addHook('onResponse', new RequestMetrics(this.metricsRegistry, this.router).onResponse);
      this.router.calls.observe(new AgentCallMetrics(this.metricsRegistry));
      this.router.chats.observe(new ChatMetrics(this.metricsRegistry, this.router.chatStore));
      this.router.observeTasks(new TaskMetrics(this.metricsRegistry));
      this.redisErrors = new RedisErrorMetrics(this.metricsRegistry);
      const stores = [
        this.router.chatStore,
        options.tasks?.store,
        options.tasks?.queue,
        options.tasks?.webhooks?.outbox,
        this.limiter?.store,
      ];
      for (const store of stores) this.redisErrors.watch(store);
    }
    this.serverId = options.serverId;
    this.description = options.description ?? `ARC server ${options.serverId}`;
    this.version = options.version ?? CORE_VERSION;
    this.bodyLimitBytes = options.bodyLimitBytes ?? 10 * 1024 * 1024;
    this.timeouts = resolveTimeouts(options);
    this.webhookSecret = options.tasks?.webhooks?.secret;
    this.handleArc = createArcRequestHandler({
      router: this.router,
      bodyLimitBytes: this.bodyLimitBytes,
      isDraining: () => this.draining,
      sseHeartbeatMs: options.sseHeartbeatMs ?? 15_000,
    });
    this.app = this.buildApp(options.inspector === true);
    this.cors = createCorsHandler(options, this.serverId);
  }

  /** The guide's `agent_handler(agent_id, method, handler)`: registers one handler. */
  agentHandler<M extends StandardMethod>(agentId: string, method: M, handler: ArcHandler<M>, options?: HandlerOptions): this;
  agentHandler(agentId: string, method: string, handler: ArcHandler, options?: HandlerOptions): this;
  agentHandler(agentId: string, method: string, handler: ArcHandler<never>, options?: HandlerOptions): this {
    this.router.agent(agentId).on(method, handler as unknown as ArcHandler, options);
    return this;
  }

  /** Adds a hook to a stage of the request pipeline (auth, limits, metrics, tracing; see router/hooks.ts). */
  addHook<N extends HookName>(name: N, hook: HookMap[N]): this {
    this.router.addHook(name, hook);
    return this;
  }

  /** Mounts an agent defined elsewhere (each service exports its agent). */
  addAgent(agent: ArcAgent): this {
    this.router.addAgent(agent);
    // An agent with its own rateLimit needs the limiter even when the server has no limit.
    if (agent.rateLimit !== undefined) this.installLimits();
    return this;
  }

  /** The rate-limit hook, once: when a server limit or a mounted agent's own limit applies. */
  private installLimits(): void {
    if (this.limiter !== undefined) return;
    this.limiter = installRateLimits(this.router, { logger: this.logger, ...this.rateLimitOptions });
    if (this.limiter !== undefined) this.redisErrors?.watch(this.limiter.store);
  }

  get logger(): Logger {
    return this.router.logger;
  }

  /** The Prometheus registry behind GET /metrics (add your own metrics to it); undefined without the `metrics` option. */
  get metrics(): Registry | undefined {
    return this.metricsRegistry;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Starts listening; resolves with the bound address (port 0 picks a free port). */
  listen(port: number, host = '0.0.0.0'): Promise<ListenAddress> {
    return new Promise((resolve, reject) => {
      const server = createHttpServer(
        { serverId: this.serverId, bodyLimitBytes: this.bodyLimitBytes, timeouts: this.timeouts, logger: this.logger },
        (req, res) => this.onRequest(req, res),
      );
      server.listen(port, host);
      server.once('error', reject);
      server.once('listening', () => {
        server.off('error', reject);
        this.http = server;
        const addr = server.address() as AddressInfo;
        const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
        const address = { host: addr.address, port: addr.port, url: `http://${shownHost}:${addr.port}` };
        this.logger.info('listening', {
          serverId: this.serverId,
          host: addr.address,
          port: addr.port,
          agents: this.router.agentList.map((a) => a.id),
        });
        resolve(address);
      });
    });
  }

  /**
   * The Node request listener: POST /arc goes straight to the ARC handler (the hot path needs
   * none of Express's routing, query parsing or body parsers); everything else goes to Express.
   */
  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    // HTTP/1.1 requires Host; Node's own check (requireHostHeader) would answer a bare 400.
    if (req.headers.host === undefined && req.httpVersionMinor === 1) return refuseMissingHost(req, res, this.serverId);
    // CORS headers for every route; a preflight is answered there (off: one check).
    if (this.cors !== undefined && this.cors(req, res)) return;
    const url = req.url;
    if (req.method === 'POST' && (url === '/arc' || url === '/arc/')) {
      this.handleArc(req, res).catch((err: unknown) => this.onHttpError(err, res));
      return;
    }
    this.app(req, res);
  }

  /** The underlying Node server, once listening. */
  get httpServer(): Server | undefined {
    return this.http;
  }

  /**
   * Graceful stop (SIGTERM):
   *  1. /health answers 503 "draining" at once, so Docker and load balancers stop choosing us;
   *  2. the listening socket closes: new connections are refused, which nginx retries on
   *     another replica safely (nothing was sent);
   *  3. requests that still arrive on open keep-alive connections are served, with
   *     `Connection: close`, so no request that was already on its way is lost; idle
   *     connections are left for the peer to close (closing them ourselves races with a request
   *     nginx may be writing, which it could not retry);
   *  4. once nothing is in flight and no connection is open, or after `graceMs`, remaining
   *     connections are closed and the chat store is released; buffered spans are exported.
   */
  async close(options: { graceMs?: number } = {}): Promise<void> {
    const graceMs = options.graceMs ?? 10_000;
    this.draining = true;
    const server = this.http;
    if (server) {
      // net.Server#close, not http.Server#close: the latter also drops idle keep-alive connections.
      const closed = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
      const deadline = Date.now() + graceMs;
      while (Date.now() < deadline && (this.router.inFlight > 0 || (await openConnections(server)) > 0)) {
        await new Promise((r) => setTimeout(r, 25));
      }
      server.closeAllConnections();
      await closed;
    }
    await this.router.close();
    await this.limiter?.close();
    // Last: the spans of the requests served while draining are exported too.
    if (this.tracing !== undefined) await closeTracing(this.tracing, this.logger);
  }

  // ---- the Express app (everything but the POST /arc fast path) ----

  private buildApp(inspector: boolean): Express {
    return buildExpressApp({
      inspector: inspector ? createInspectorHandler(this.serverId) : undefined,
      serverId: this.serverId,
      logger: this.logger,
      bodyLimitBytes: this.bodyLimitBytes,
      handleArc: this.handleArc,
      health: (res) => this.health(res),
      agentInfo: () => this.agentInfo(),
      authorize: this.protectAgentInfo ? (req) => this.auth!.authenticate(req.headers, req.socket.remoteAddress) : undefined,
      metrics: this.metricsRegistry === undefined ? undefined : (res) => this.writeMetrics(res),
      authorizeMetrics: this.protectMetrics ? (req) => this.auth!.authenticate(req.headers, req.socket.remoteAddress) : undefined,
      challenge: (err) => this.auth?.challenge(err),
      receiveWebhook: createWebhookReceiver({
        router: this.router,
        bodyLimitBytes: this.bodyLimitBytes,
        secret: this.webhookSecret,
        logger: this.logger,
      }),
    });
  }

  private onHttpError(err: unknown, res: ServerResponse): void {
    answerHttpError(err, res, { serverId: this.serverId, logger: this.logger, bodyLimitBytes: this.bodyLimitBytes });
  }

  private async health(res: Response): Promise<void> {
    const base = { server_id: this.serverId, server: this.serverId, version: this.version, agents: this.router.agentList.length };
    if (this.draining) {
      writeJson(res, 503, { status: 'draining', reason: 'server is shutting down', ...base });
      return;
    }
    try {
      await withTimeout(this.router.ping(), 1000);
      writeJson(res, 200, { status: 'healthy', ...base });
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      this.logger.warn('not ready: state unreachable', { err: detail });
      // Which part, not why: "chat store unreachable", "task store unreachable", "task queue unreachable".
      const part = /^(chat store|task store|task queue)/.exec(detail)?.[1] ?? 'state';
      writeJson(res, 503, { status: 'unavailable', reason: `${part} unreachable`, ...base });
    }
  }

  /** GET /metrics: the registry in Prometheus text format. */
  private async writeMetrics(res: Response): Promise<void> {
    const registry = this.metricsRegistry!;
    const text = await registry.metrics();
    res.statusCode = 200;
    res.setHeader('Content-Type', registry.contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.end(text);
  }

  private agentInfo(): Record<string, unknown> {
    const registeredAgents: Record<string, unknown> = {};
    for (const agent of this.router.agentList) {
      registeredAgents[agent.id] = {
        supportedMethods: agent.methods,
        status: 'active',
        ...(agent.description ? { description: agent.description } : {}),
      };
    }
    return {
      server: this.serverId,
      description: this.description,
      status: this.draining ? 'draining' : 'active',
      endpoints: { arc: '/arc' },
      registeredAgents,
      totalAgents: this.router.agentList.length,
    };
  }
}

function openConnections(server: Server): Promise<number> {
  return new Promise((resolve) => server.getConnections((err, count) => resolve(err ? 0 : count)));
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export function createArcServer(options: ArcServerOptions): ArcServer {
  return new ArcServer(options);
}
