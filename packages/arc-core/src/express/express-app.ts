/**
 * The Express app behind ArcServer: the operational endpoints (/health, /health/live,
 * /agent-info, /metrics), the web inspector (/inspector/, when on), POST /arc for when the app is mounted in another server (ArcServer itself sends
 * POST /arc past Express), and JSON answers for every other route and error. Every answer is
 * JSON; nothing a client sent is echoed beyond a bounded prefix.
 */
import type { ServerResponse } from 'node:http';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { ArcError } from '../errors/arc-error';
import { ArcErrorCode, httpStatusFor } from '../errors/codes';
import type { Logger } from '../logging/logger';
import { UNREADABLE, errorEnvelope } from '../protocol/envelope';
import { clip } from '../protocol/limits';
import type { InspectorHandler } from './inspector';
import { writeJson } from './reply-writer';

export interface ExpressAppDeps {
  serverId: string;
  logger: Logger;
  bodyLimitBytes: number;
  handleArc: (req: Request, res: Response) => Promise<void>;
  /** Readiness: 200, or 503 while draining or when the chat store does not answer. */
  health: (res: Response) => Promise<void>;
  agentInfo: () => Record<string, unknown>;
  /** With auth protecting /agent-info: resolves for a valid token, rejects with the ArcError to answer. */
  authorize?: (req: Request) => Promise<unknown>;
  /** The WWW-Authenticate challenge for an auth refusal. */
  challenge?: (err: unknown) => string | undefined;
  receiveWebhook: (req: Request, res: Response, agentId: string) => Promise<void>;
  /** GET /metrics (Prometheus text); undefined: no such route (404). */
  metrics?: (res: Response) => Promise<void>;
  /** With auth protecting /metrics: as `authorize`. */
  authorizeMetrics?: (req: Request) => Promise<unknown>;
  /** GET /inspector/ (inspector.ts); undefined: no such route (404). */
  inspector?: InspectorHandler;
}

export function buildExpressApp(deps: ExpressAppDeps): Express {
  const { serverId } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  // Readiness: can this replica serve (chat store reachable, not draining)? 200 or 503.
  app.get('/health', (_req, res) => void deps.health(res));
  // Liveness: the process is up and its event loop answers (restart it if this fails).
  app.get('/health/live', (_req, res) => writeJson(res, 200, { status: 'alive', server_id: serverId }));
  /** Answers with `send` once `authorize` (if any) accepts the caller; an ARC error envelope otherwise. */
  const guarded =
    (authorize: ((req: Request) => Promise<unknown>) | undefined, send: (res: Response) => void | Promise<void>) =>
    (req: Request, res: Response, next: NextFunction): void => {
      const allowed = authorize === undefined ? Promise.resolve() : authorize(req);
      allowed
        .then(
          () => send(res),
          (err: unknown) => {
            const arc = err instanceof ArcError ? err : new ArcError(ArcErrorCode.Authentication, 'Authentication failed');
            const challenge = deps.challenge?.(err);
            if (challenge !== undefined) res.setHeader('WWW-Authenticate', challenge);
            if (arc.retryAfter !== undefined) res.setHeader('Retry-After', String(arc.retryAfter));
            writeJson(res, httpStatusFor(arc.code), errorEnvelope(UNREADABLE, arc, serverId));
          },
        )
        .catch(next);
    };
  const sendAgentInfo = (res: Response): void => writeJson(res, 200, deps.agentInfo());
  if (deps.authorize === undefined) app.get('/agent-info', (_req, res) => sendAgentInfo(res));
  else app.get('/agent-info', guarded(deps.authorize, sendAgentInfo));
  // Prometheus scrapes (metrics/); absent without the `metrics` option, so the 404 below answers.
  if (deps.metrics !== undefined) app.get('/metrics', guarded(deps.authorizeMetrics, deps.metrics));
  // The web inspector's static files (inspector.ts); absent with INSPECTOR=off, so the 404 below answers.
  const inspector = deps.inspector;
  if (inspector !== undefined) app.use((req, res, next) => inspector(req, res, next));
  // Webhook deliveries for an agent's task.notification handler (webhook-receiver.ts).
  app.post('/webhooks/:agentId', (req, res, next) => {
    deps.receiveWebhook(req, res, String(req.params.agentId)).catch(next);
  });

  // The same handler as ArcServer's fast path, for when `app` is mounted in another server.
  app.post('/arc', (req, res, next) => {
    deps.handleArc(req, res).catch(next);
  });
  app.all('/arc', (req, res) => {
    res.setHeader('Allow', 'POST');
    const err = new ArcError(
      ArcErrorCode.InvalidRequest,
      `HTTP method ${clip(req.method, 32)} is not allowed on /arc; send ARC requests with POST`,
      {
        allow: ['POST'],
      },
    );
    writeJson(res, 405, errorEnvelope(UNREADABLE, err, serverId));
  });
  app.use((req, res) => {
    const err = new ArcError(
      ArcErrorCode.InvalidRequest,
      `No route for ${clip(req.method, 32)} ${clip(req.path, 128)}; ARC requests go to POST /arc`,
    );
    writeJson(res, 404, errorEnvelope(UNREADABLE, err, serverId));
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => answerHttpError(err, res, deps));
  return app;
}

/** Errors from body reading (size, encoding, abort) and anything else that escaped, as ARC envelopes. */
export function answerHttpError(
  err: unknown,
  res: ServerResponse,
  deps: Pick<ExpressAppDeps, 'serverId' | 'logger' | 'bodyLimitBytes'>,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const e = err as { type?: string; status?: number; limit?: number };
  let arc: ArcError;
  if (e.type === 'entity.too.large') {
    arc = new ArcError(ArcErrorCode.MessageTooLarge, `Request body exceeds the limit of ${deps.bodyLimitBytes} bytes`, {
      limitBytes: deps.bodyLimitBytes,
    });
  } else if (e.type === 'request.aborted') {
    return;
  } else if (e.type === 'encoding.unsupported') {
    arc = new ArcError(ArcErrorCode.ParseError, 'Parse error: unsupported Content-Encoding', {});
  } else if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    arc = new ArcError(ArcErrorCode.ParseError, 'Parse error: the request body could not be read', {});
  } else {
    const errorId = crypto.randomUUID();
    deps.logger.error('unexpected HTTP error', { errorId, err: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    arc = new ArcError(ArcErrorCode.InternalError, 'Internal error', { errorId });
  }
  const status = arc.code === ArcErrorCode.MessageTooLarge ? 413 : arc.code === ArcErrorCode.InternalError ? 500 : 400;
  writeJson(res, status, errorEnvelope(UNREADABLE, arc, deps.serverId));
}
