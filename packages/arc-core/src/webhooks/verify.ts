/**
 * `verifyWebhook`: what a receiver calls on each delivery, with the raw body bytes as received
 * (before any JSON parsing: a re-serialised body is not what was signed).
 *
 * - v2 (X-ARC-Signature-V2 present): HMAC over `<X-ARC-Timestamp>.<raw body>`, and the timestamp
 *   must be within `toleranceSeconds` of now, either way, so a captured delivery cannot be
 *   replayed later. No fallback to v1 when a v2 signature is present but wrong.
 * - v1 (the Python SDK's, no timestamp): HMAC over the raw body; failing that, over the body
 *   rewritten in Python's `json.dumps` form, because the SDK with httpx >= 0.28 sends compact
 *   JSON but signs the `json.dumps` text (so under v1 a body that differs from the signed one only
 *   in JSON whitespace is accepted: the same value, as the SDK's own check sees it). An attacker who strips the v2 headers falls back to v1,
 *   which has no replay protection: a receiver that only hears from senders of v2 (this project)
 *   should pass `allowV1: false`.
 *
 * Signatures are compared in constant time. Bad input of any kind gives `{valid: false, reason}`,
 * never a throw; the reason is for the receiver's log, not for the caller.
 */
import { timingSafeEqual } from 'node:crypto';
import { parseWebhookNotification, type WebhookNotification } from './payload';
import { reformatPythonJson } from './python-json';
import { signatureV1, signatureV2 } from './signature';

export interface VerifyWebhookOptions {
  /** How far X-ARC-Timestamp may be from now, in seconds (default 300). */
  toleranceSeconds?: number;
  /** The clock, in milliseconds since the epoch (default Date.now). */
  now?: () => number;
  /** Accept deliveries signed only with the SDK's v1 scheme (default true). */
  allowV1?: boolean;
}

export type WebhookVerification = { valid: true; scheme: 'v2' | 'v1'; payload: WebhookNotification } | { valid: false; reason: string };

export type WebhookHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

const DEFAULT_TOLERANCE_SECONDS = 300;
const UNIX_SECONDS = /^\d{1,12}$/;

export function verifyWebhook(
  rawBody: string | Buffer,
  headers: WebhookHeaders,
  secret: string,
  options: VerifyWebhookOptions = {},
): WebhookVerification {
  try {
    return verify(rawBody, headers, secret, options);
  } catch {
    // Only a caller passing something outside the types can get here (a throwing `now`, a
    // headers object with throwing getters); the contract is still an answer, not a throw.
    return invalid('could not verify the delivery');
  }
}

function verify(rawBody: string | Buffer, headers: WebhookHeaders, secret: string, options: VerifyWebhookOptions): WebhookVerification {
  if (typeof secret !== 'string' || secret === '') return invalid('no webhook secret configured');
  const raw = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody instanceof Uint8Array ? Buffer.from(rawBody) : undefined;
  if (raw === undefined) return invalid('the raw body must be a string or a Buffer');
  const header = headerReader(headers);

  let scheme: 'v1' | 'v2';
  const v2 = header('x-arc-signature-v2');
  if (v2 !== undefined) {
    const timestamp = header('x-arc-timestamp');
    if (v2 === null || timestamp === null) return invalid('a signature header appears more than once');
    if (timestamp === undefined) return invalid('X-ARC-Signature-V2 without X-ARC-Timestamp');
    if (!UNIX_SECONDS.test(timestamp)) return invalid('X-ARC-Timestamp is not a time in unix seconds');
    if (!sameText(v2, signatureV2(secret, timestamp, raw))) return invalid('X-ARC-Signature-V2 does not match the body');
    const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
    const skew = Math.round((options.now ?? Date.now)() / 1000 - Number(timestamp));
    if (!(Math.abs(skew) <= tolerance)) {
      return invalid(`X-ARC-Timestamp is ${skew} s from now, beyond the ${tolerance} s tolerance (a replay, or clocks out of sync)`);
    }
    scheme = 'v2';
  } else {
    if (options.allowV1 === false) return invalid('no X-ARC-Signature-V2 header, and v1 signatures are not accepted');
    const v1 = header('x-arc-signature');
    if (v1 === null) return invalid('a signature header appears more than once');
    if (v1 === undefined) return invalid('no X-ARC-Signature or X-ARC-Signature-V2 header');
    if (!sameText(v1, signatureV1(secret, raw)) && !sameText(v1, pythonFormSignature(secret, raw))) {
      return invalid('X-ARC-Signature does not match the body');
    }
    scheme = 'v1';
  }

  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return invalid('the body is not JSON');
  }
  const parsed = parseWebhookNotification(body);
  return parsed.ok ? { valid: true, scheme, payload: parsed.notification } : invalid(parsed.reason);
}

function invalid(reason: string): { valid: false; reason: string } {
  return { valid: false, reason };
}

/** The v1 signature of the body as Python's json.dumps writes it; '' when it is not JSON. */
function pythonFormSignature(secret: string, raw: Buffer): string {
  try {
    return signatureV1(secret, reformatPythonJson(raw.toString('utf8')));
  } catch {
    return '';
  }
}

/** Constant time for equal lengths; the length of a signature is no secret. */
function sameText(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Case-insensitive lookup: the value, undefined when absent, null when given more than once. */
function headerReader(headers: WebhookHeaders): (name: string) => string | undefined | null {
  return (name) => {
    const values: string[] = [];
    if (typeof headers === 'object' && headers !== null) {
      for (const [key, value] of Object.entries(headers)) {
        if (key.toLowerCase() !== name || value === undefined) continue;
        if (typeof value === 'string') values.push(value);
        else if (Array.isArray(value)) values.push(...value.filter((v): v is string => typeof v === 'string'));
      }
    }
    if (values.length > 1) return null;
    return values[0];
  };
}
