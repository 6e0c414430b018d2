/**
 * One webhook delivery attempt: one POST, an outcome for the delivery queue, never a throw.
 *
 * - 2xx → delivered; 410 → gone (the queue deactivates the subscription, as the SDK does);
 *   anything else, a network error, a refused address or the time running out → retry.
 * - Redirects are not followed: a 3xx is a retry with an error saying so. Following one would
 *   let a receiver send our POST (and its signature) to an address nobody checked.
 * - The SSRF guard runs again here: the URL and an IP-literal host before connecting, and a host
 *   name at connect time through safeLookup, so the address connected to is the one checked.
 * - `agent: false`: a new connection per attempt. Deliveries go to many third-party hosts at a
 *   low rate each; a keep-alive pool would hold idle sockets to all of them, and reusing a socket
 *   the receiver has just closed fails a POST half-way, making a duplicate delivery. Each attempt
 *   also re-resolves and re-checks DNS. The cost, a handshake per delivery, is small beside it.
 * - `timeoutMs` bounds the whole attempt (DNS, connect, TLS, answer); the response body is read
 *   and discarded up to 64 KiB, then the connection is closed.
 */
import { request as httpRequest, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { parseCallbackUrl, safeLookup, type HostResolver, type WebhookNetworkPolicy } from './ssrf';

export interface SendWebhookOptions {
  url: string;
  /** The exact body, as signed. */
  body: string | Buffer;
  /** The delivery headers (webhookHeaders); Content-Length is added. */
  headers: Readonly<Record<string, string>>;
  /** Bound on the whole attempt (default 10 000 ms). */
  timeoutMs?: number;
  policy: WebhookNetworkPolicy;
  /** Resolves host names at connect time (default: the system resolver); tests inject one. */
  resolve?: HostResolver;
}

export type DeliveryOutcome = 'delivered' | 'gone' | 'retry';

export interface WebhookSendResult {
  /** HTTP status of the answer, 0 when there was none. */
  status: number;
  outcome: DeliveryOutcome;
  /** Why the attempt did not deliver, for logs and task.info. */
  error?: string;
  durationMs: number;
}

export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;
const RESPONSE_BODY_LIMIT = 64 * 1024;

export function sendWebhook(options: SendWebhookOptions): Promise<WebhookSendResult> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  return new Promise((resolve) => {
    let status = 0;
    let location: string | undefined;
    let req: ClientRequest | undefined;
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    // Once there is a status it decides the outcome; `reason` only explains a missing one.
    const finish = (reason: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req?.destroy();
      const durationMs = Math.round(performance.now() - started);
      if (status === 0) resolve({ status, outcome: 'retry', error: reason, durationMs });
      else resolve({ status, ...classify(status, location), durationMs });
    };
    try {
      const url = parseCallbackUrl(options.url, options.policy);
      const body = typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : options.body;
      req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
        method: 'POST',
        headers: { ...options.headers, 'Content-Length': String(body.length) },
        agent: false,
        lookup: safeLookup(options.policy, options.resolve),
      });
      timer = setTimeout(() => finish(`no answer within ${timeoutMs} ms`), timeoutMs);
      req.on('error', (error) => finish(error.message));
      req.on('response', (res) => {
        status = res.statusCode ?? 0; // always set on a client response; 0 would read as "no answer"
        const to = res.headers.location;
        if (to !== undefined) location = to.length > 200 ? `${to.slice(0, 200)}…` : to;
        let received = 0;
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > RESPONSE_BODY_LIMIT) finish('response body too large');
        });
        res.on('end', () => finish('response ended'));
        res.on('error', (error) => finish(error.message));
        res.on('close', () => finish('connection closed'));
      });
      req.end(body);
    } catch (error) {
      // Refused by the SSRF guard, or a header value Node will not send.
      finish(error instanceof Error ? error.message : String(error));
    }
  });
}

function classify(status: number, location: string | undefined): { outcome: DeliveryOutcome; error?: string } {
  if (status >= 200 && status < 300) return { outcome: 'delivered' };
  if (status === 410) return { outcome: 'gone', error: 'HTTP 410 Gone: the receiver ended the subscription' };
  if (status >= 300 && status < 400) {
    const to = location === undefined ? '' : ` to ${location}`;
    return { outcome: 'retry', error: `HTTP ${status} redirect${to} not followed: the callback URL must answer itself` };
  }
  return { outcome: 'retry', error: `HTTP ${status}` };
}
