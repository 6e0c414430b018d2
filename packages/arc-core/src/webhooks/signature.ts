/**
 * Webhook signatures and delivery headers. Two schemes are sent side by side:
 *
 * - v1, the Python SDK's (ARC-PROTOCOL.md §9): `X-ARC-Signature: sha256=<base64 HMAC-SHA256(secret,
 *   body)>`. Our body is already in `json.dumps` form (payload.ts), so this one value satisfies
 *   the SDK's own check and a check of the raw bytes. It has no timestamp: a captured delivery
 *   can be replayed forever.
 * - v2, ours: `X-ARC-Timestamp: <unix seconds>` and `X-ARC-Signature-V2: sha256=<base64
 *   HMAC-SHA256(secret, "<timestamp>.<raw body>")>`. The timestamp is signed, so a receiver that
 *   refuses old timestamps (verify.ts: 5 minutes) refuses replays.
 *
 * Headers are built per attempt: a retry gets a fresh timestamp (else a receiver down for longer
 * than its tolerance would refuse the retries) but keeps its X-ARC-Delivery id, by which a
 * receiver drops duplicates (delivery is at least once).
 */
import { createHmac } from 'node:crypto';
import type { TaskEvent } from '../protocol/types';

export const WEBHOOK_HEADERS = {
  event: 'X-ARC-Event',
  delivery: 'X-ARC-Delivery',
  signature: 'X-ARC-Signature',
  timestamp: 'X-ARC-Timestamp',
  signatureV2: 'X-ARC-Signature-V2',
} as const;

/** v1: `sha256=` + base64 HMAC-SHA256 of the body as sent. */
export function signatureV1(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('base64')}`;
}

/** v2: `sha256=` + base64 HMAC-SHA256 of `<timestamp>.<body>`. */
export function signatureV2(secret: string, timestamp: number | string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('base64')}`;
}

export interface DeliveryHeaderFields {
  /** The exact body that will be sent (serializeWebhookBody). */
  body: string | Buffer;
  /** WEBHOOK_SECRET. Absent or empty: no signature headers, as the SDK sends without a secret. */
  secret?: string;
  event: TaskEvent;
  /** One id per event and subscription, the same on every retry. */
  deliveryId: string;
  subscriptionId: string;
  /** Unix seconds of this attempt; defaults to now. */
  timestamp?: number;
}

/**
 * All headers of one delivery attempt. The User-Agent names us, not the Python SDK
 * (`arc-webhooks/<subscriptionId>` rather than `arc-sdk-python-webhooks/…`): receivers that log
 * or filter by agent can tell the senders apart, while the `/<subscriptionId>` suffix that some
 * read the subscription from stays where the SDK puts it.
 */
export function webhookHeaders(fields: DeliveryHeaderFields): Record<string, string> {
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': `arc-webhooks/${fields.subscriptionId}`,
    [WEBHOOK_HEADERS.event]: fields.event,
    [WEBHOOK_HEADERS.delivery]: fields.deliveryId,
  };
  if (fields.secret) {
    const timestamp = fields.timestamp ?? Math.floor(Date.now() / 1000);
    headers[WEBHOOK_HEADERS.signature] = signatureV1(fields.secret, fields.body);
    headers[WEBHOOK_HEADERS.timestamp] = String(timestamp);
    headers[WEBHOOK_HEADERS.signatureV2] = signatureV2(fields.secret, timestamp, fields.body);
  }
  return headers;
}
