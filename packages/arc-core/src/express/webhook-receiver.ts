/**
 * Receiving webhook deliveries: `POST /webhooks/<agentId>` takes the flat body the SDK's
 * WebhookManager (and our own dispatcher) sends (ARC-PROTOCOL.md §9), or an ARC
 * `task.notification` request, checks the signature when the server has a WEBHOOK_SECRET
 * (`verifyWebhook`: both schemes), and hands it to that agent's `task.notification` handler as an
 * ARC request - the same handler that serves `task.notification` sent to POST /arc.
 *
 *   agent.on('task.notification', (params, ctx) => { … params.taskId, params.event, params.data … });
 *
 * With auth on, a delivery whose signature was verified needs no bearer token (its caller is
 * SIGNED_WEBHOOK_CALLER, holding the task.notification scopes); an unsigned one (no WEBHOOK_SECRET)
 * must bring one, like any ARC request.
 *
 * Answers: the handler's ARC envelope (200), -44001 / 401 for a missing or bad signature, -32700 /
 * -32600 / 400 for a body that is not a notification, -41001 / 404 for an unknown agent.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SIGNED_WEBHOOK_CALLER } from '../auth/caller';
import { ArcError } from '../errors/arc-error';
import { ArcErrorCode, httpStatusFor } from '../errors/codes';
import type { Logger } from '../logging/logger';
import { UNREADABLE, errorEnvelope } from '../protocol/envelope';
import { clip } from '../protocol/limits';
import { parseJsonBody } from '../protocol/parse';
import type { ArcRouter } from '../router/router';
import { parseWebhookNotification } from '../webhooks/payload';
import { verifyWebhook } from '../webhooks/verify';
import { readBody } from './body-reader';
import { writeJson, writeReply } from './reply-writer';

export interface WebhookReceiverOptions {
  router: ArcRouter;
  bodyLimitBytes: number;
  /** WEBHOOK_SECRET; without it deliveries are accepted unsigned (development). */
  secret: string | undefined;
  logger: Logger;
}

export const WEBHOOK_PATH_PREFIX = '/webhooks/';

export function createWebhookReceiver(o: WebhookReceiverOptions) {
  const fail = (res: ServerResponse, err: ArcError, status = httpStatusFor(err.code)): void =>
    writeJson(res, status === 200 ? 400 : status, errorEnvelope(UNREADABLE, err, o.router.serverId));

  return async function receiveWebhook(req: IncomingMessage, res: ServerResponse, agentId: string): Promise<void> {
    let raw: Buffer;
    try {
      raw = await readBody(req, o.bodyLimitBytes);
    } catch (err) {
      fail(res, err instanceof ArcError ? err : new ArcError(ArcErrorCode.ParseError, 'Parse error: the body could not be read'));
      return;
    }
    let body: unknown;
    let signed = false;
    if (o.secret) {
      const check = verifyWebhook(raw, req.headers, o.secret);
      if (!check.valid) {
        o.logger.warn('webhook refused', { agent: clip(agentId), reason: check.reason, from: req.socket.remoteAddress });
        fail(res, new ArcError(ArcErrorCode.Authentication, `Webhook signature not accepted: ${check.reason}`, {}), 401);
        return;
      }
      signed = true;
    }
    try {
      body = parseJsonBody(raw);
    } catch (err) {
      fail(res, err as ArcError);
      return;
    }
    const parsed = parseWebhookNotification(body);
    if (!parsed.ok) {
      fail(res, new ArcError(ArcErrorCode.InvalidRequest, `Not a task notification: ${parsed.reason}`, {}));
      return;
    }
    const n = parsed.notification;
    const delivery = req.headers['x-arc-delivery'];
    const request: Record<string, unknown> = {
      arc: '1.0',
      id: typeof delivery === 'string' && delivery.length <= 256 ? delivery : randomUUID(),
      method: 'task.notification',
      requestAgent: n.requestAgent ?? 'webhook',
      targetAgent: agentId,
      params: { taskId: n.taskId, event: n.event, timestamp: n.timestamp, data: n.data },
    };
    if (n.traceId !== undefined) request.traceId = n.traceId;
    // A verified signature is the sender's credential: with auth on, no bearer token is asked for.
    const meta = signed
      ? { headers: req.headers, remoteAddress: req.socket.remoteAddress, authenticated: SIGNED_WEBHOOK_CALLER }
      : { headers: req.headers, remoteAddress: req.socket.remoteAddress };
    const reply = await o.router.handle(request, meta);
    if (!res.destroyed) await writeReply(res, reply);
  };
}
