/**
 * The body of a webhook delivery, both ways.
 *
 * Sending: the Python SDK's flat body (ARC-PROTOCOL.md §9), not an ARC envelope, with its keys in
 * the SDK's order and written by `pythonJsonDumps`, so that the bytes we send are exactly what
 * the SDK's signer hashes: a receiver may check the signature over the raw body or over
 * `json.dumps(json.loads(body))`, and both agree.
 *
 * Receiving: the flat body or an ARC `task.notification` request (DECISIONS.md 8), reduced to one
 * shape so a receiver handles both the same way.
 */
import { TASK_EVENTS, type TaskEvent } from '../protocol/types';
import { pythonJsonDumps } from './python-json';

/** The notification `data` (ARC-PROTOCOL.md §6): `status`, and the keys the event carries. */
export type WebhookEventData = Readonly<Record<string, unknown>>;

export interface WebhookBodyFields {
  /** The agent that owns the task and sends the notification. */
  requestAgent: string;
  taskId: string;
  event: TaskEvent;
  /** When the event happened; written with microseconds as the SDK does (see webhookTimestamp). */
  timestamp: string | Date | number;
  data: WebhookEventData;
  traceId?: string;
  subscriptionId: string;
}

/** The flat body, keys in the order the SDK writes them. */
export interface WebhookBody {
  arc: '1.0';
  method: 'task.notification';
  requestAgent: string;
  taskId: string;
  event: TaskEvent;
  timestamp: string;
  data: WebhookEventData;
  traceId?: string;
  subscriptionId: string;
}

export function webhookBody(fields: WebhookBodyFields): WebhookBody {
  const { requestAgent, taskId, event, data, traceId, subscriptionId } = fields;
  const head = {
    arc: '1.0',
    method: 'task.notification',
    requestAgent,
    taskId,
    event,
    timestamp: webhookTimestamp(fields.timestamp),
    data,
  } as const;
  // The SDK writes traceId between data and subscriptionId, and leaves it out when there is none.
  return traceId === undefined ? { ...head, subscriptionId } : { ...head, traceId, subscriptionId };
}

/** The exact delivery body: the bytes to send and to sign. */
export function serializeWebhookBody(fields: WebhookBodyFields): string {
  return pythonJsonDumps(webhookBody(fields));
}

const SDK_TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

/**
 * A UTC timestamp in the SDK's form, `2026-12-01T12:29:42.591364Z` (Python's `isoformat()` with
 * microseconds, plus `Z`). We keep time in milliseconds, so the last three digits are zeros:
 * `.591000Z`. Python parsers take 3 or 6 digits alike (`fromisoformat` on 3.7+ once `Z` is
 * replaced, `strptime('%f')`, pydantic); six keep the SDK's exact shape for receivers that match
 * it with a pattern. A string already in that form is kept as it is; anything else Date can read
 * is converted; an unreadable time throws a RangeError (a bug in the caller).
 */
export function webhookTimestamp(time: string | Date | number): string {
  if (typeof time === 'string' && SDK_TIMESTAMP.test(time)) return time;
  const date = time instanceof Date ? time : new Date(time);
  if (Number.isNaN(date.getTime())) throw new RangeError(`not a time: ${String(time).slice(0, 40)}`);
  return `${date.toISOString().slice(0, -1)}000Z`;
}

/** A received notification, whichever form it came in. */
export interface WebhookNotification {
  taskId: string;
  event: TaskEvent;
  timestamp: string;
  data: Record<string, unknown>;
  /** Present in the flat (webhook) form. */
  subscriptionId?: string;
  requestAgent?: string;
  traceId?: string;
}

export type NotificationParse = { ok: true; notification: WebhookNotification } | { ok: false; reason: string };

const KNOWN_EVENTS: ReadonlySet<string> = new Set(TASK_EVENTS);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads a parsed body: the flat webhook body, or an ARC request whose params hold the notification. */
export function parseWebhookNotification(body: unknown): NotificationParse {
  if (!isObject(body)) return { ok: false, reason: 'body is not a JSON object' };
  if (body.method !== 'task.notification') return { ok: false, reason: 'method is not "task.notification"' };
  const envelope = isObject(body.params);
  const fields = envelope ? (body.params as Record<string, unknown>) : body;
  const { taskId, event, timestamp, data } = fields;
  const where = envelope ? 'params.' : '';
  if (typeof taskId !== 'string' || taskId === '') return { ok: false, reason: `${where}taskId is missing or not a string` };
  if (typeof event !== 'string' || !KNOWN_EVENTS.has(event))
    return { ok: false, reason: `${where}event is missing or not a known task event` };
  if (typeof timestamp !== 'string') return { ok: false, reason: `${where}timestamp is missing or not a string` };
  if (!isObject(data)) return { ok: false, reason: `${where}data is missing or not an object` };
  const notification: WebhookNotification = { taskId, event: event as TaskEvent, timestamp, data };
  for (const key of ['subscriptionId', 'requestAgent', 'traceId'] as const) {
    const value = envelope && key === 'subscriptionId' ? undefined : body[key];
    if (value === undefined) continue;
    if (typeof value !== 'string') return { ok: false, reason: `${key} is not a string` };
    notification[key] = value;
  }
  return { ok: true, notification };
}
