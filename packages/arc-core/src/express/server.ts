/**
 * The Express integration, close to the Python guide's API:
 *
 *   const server = createArcServer({ serverId: 'finance-server' });
 *   server.agentHandler('finance-agent', 'chat.start', async (params, context) => 'Hello');
 *   await server.listen(8001, '0.0.0.0');
 *
 * Routes: POST /arc (any Content-Type, parsed as JSON), GET /health, GET /agent-info; other
 * verbs on /arc → 405 + `Allow: POST`; any other path → 404; all answers are JSON.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { ArcError } from '../errors/arc-error';
import { ArcErrorCode } from '../errors/codes';
import type { Logger } from '../logging/logger';
import { UNREADABLE, errorEnvelope } from '../protocol/envelope';
import type { StandardMethod } from '../protocol/types';
import type { ArcAgent, ArcHandler, HandlerOptions } from '../router/agent';
import { ArcRouter, type RouterOptions } from '../router/router';
import type { ChatStore } from '../state/chat-store';
import { createArcRequestHandler } from './arc-request-handler';
import { writeJson } from './reply-writer';

const CORE_VERSION: string = (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;

export interface ArcServerOptions extends RouterOptions {
  description?: string;
  /** Reported by /health; defaults to the arc-core version. */
  version?: string;
  /** Largest request body in bytes; larger ones get -45004 / 413 (default 10 MiB). */
  bodyLimitBytes?: number;
  chatStore?: ChatStore;
  logger?: Logger;
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
  private http: Server | undefined;
  private draining = false;
  private readonly handleArc: (req: IncomingMessage, res: ServerResponse) => Promise<void>;

  constructor(options: ArcServerOptions) {
    this.router = new ArcRouter(options);
    this.serverId = options.serverId;
    this.description = options.description ?? `ARC server ${options.serverId}`;
    this.version = options.version ?? CORE_VERSION;
    this.bodyLimitBytes = options.bodyLimitBytes ?? 10 * 1024 * 1024;
    this.handleArc = createArcRequestHandler({ router: this.router, bodyLimitBytes: this.bodyLimitBytes, isDraining: () => this.draining });
    this.app = this.buildApp();
  }

  /** The guide's `agent_handler(agent_id, method, handler)`: registers one handler. */
  agentHandler<M extends StandardMethod>(agentId: string, method: M, handler: ArcHandler<M>, options?: HandlerOptions): this;
  agentHandler(agentId: string, method: string, handler: ArcHandler, options?: HandlerOptions): this;
  agentHandler(agentId: string, method: string, handler: ArcHandler<never>, options?: HandlerOptions): this {
    this.router.agent(agentId).on(method, handler as unknown as ArcHandler, options);
    return this;
  }

  /** Mounts an agent defined elsewhere (each service exports its agent). */
  addAgent(agent: ArcAgent): this {
    this.router.addAgent(agent);
    return this;
  }

  get logger(): Logger {
    return this.router.logger;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Starts listening; resolves with the bound address (port 0 picks a free port). */
  listen(port: number, host = '0.0.0.0'): Promise<ListenAddress> {
    return new Promise((resolve, reject) => {
      const server = createServer((req, res) => this.onRequest(req, res));
      server.listen(port, host);
      // Longer than nginx's upstream keepalive so nginx, not Node, closes idle connections.
      server.keepAliveTimeout = 65_000;
      server.headersTimeout = 66_000;
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
   *     connections are closed and the chat store is released.
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
    await this.router.chatStore.dispose();
  }

  // ---- Express app ----

  private buildApp(): Express {
    const app = express();
    app.disable('x-powered-by');
    app.set('etag', false);

    // Readiness: can this replica serve (chat store reachable, not draining)? 200 or 503.
    app.get('/health', (_req, res) => void this.health(res));
    // Liveness: the process is up and its event loop answers (restart it if this fails).
    app.get('/health/live', (_req, res) => writeJson(res, 200, { status: 'alive', server_id: this.serverId }));
    app.get('/agent-info', (_req, res) => writeJson(res, 200, this.agentInfo()));

    // The same handler as the fast path in onRequest, for when `app` is mounted in another server.
    app.post('/arc', (req, res, next) => {
      this.handleArc(req, res).catch(next);
    });
    app.all('/arc', (req, res) => {
      res.setHeader('Allow', 'POST');
      writeJson(
        res,
        405,
        errorEnvelope(
          UNREADABLE,
          new ArcError(ArcErrorCode.InvalidRequest, `HTTP method ${req.method} is not allowed on /arc; send ARC requests with POST`, {
            allow: ['POST'],
          }),
          this.serverId,
        ),
      );
    });
    app.use((req, res) => {
      writeJson(
        res,
        404,
        errorEnvelope(
          UNREADABLE,
          new ArcError(ArcErrorCode.InvalidRequest, `No route for ${req.method} ${req.path}; ARC requests go to POST /arc`),
          this.serverId,
        ),
      );
    });
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => this.onHttpError(err, res));
    return app;
  }

  /** Errors from body reading (size, encoding, abort) and anything else that escaped. */
  private onHttpError(err: unknown, res: ServerResponse): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const e = err as { type?: string; status?: number; limit?: number };
    let arc: ArcError;
    if (e.type === 'entity.too.large') {
      arc = new ArcError(ArcErrorCode.MessageTooLarge, `Request body exceeds the limit of ${this.bodyLimitBytes} bytes`, {
        limitBytes: this.bodyLimitBytes,
      });
    } else if (e.type === 'request.aborted') {
      return;
    } else if (e.type === 'encoding.unsupported') {
      arc = new ArcError(ArcErrorCode.ParseError, 'Parse error: unsupported Content-Encoding', {});
    } else if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      arc = new ArcError(ArcErrorCode.ParseError, 'Parse error: the request body could not be read', {});
    } else {
      const errorId = crypto.randomUUID();
      this.logger.error('unexpected HTTP error', { errorId, err: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      arc = new ArcError(ArcErrorCode.InternalError, 'Internal error', { errorId });
    }
    const status = arc.code === ArcErrorCode.MessageTooLarge ? 413 : arc.code === ArcErrorCode.InternalError ? 500 : 400;
    writeJson(res, status, errorEnvelope(UNREADABLE, arc, this.serverId));
  }

  private async health(res: Response): Promise<void> {
    const base = { server_id: this.serverId, server: this.serverId, version: this.version, agents: this.router.agentList.length };
    if (this.draining) {
      writeJson(res, 503, { status: 'draining', reason: 'server is shutting down', ...base });
      return;
    }
    try {
      await withTimeout(this.router.chatStore.ping(), 1000);
      writeJson(res, 200, { status: 'healthy', ...base });
    } catch (err) {
      this.logger.warn('not ready: chat store unreachable', { err: err instanceof Error ? err.message : String(err) });
      writeJson(res, 503, { status: 'unavailable', reason: 'chat store unreachable', ...base });
    }
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
