/**
 * Which failed ARC calls ArcClient sends again, and after how long. Only a failure after which
 * the request certainly did nothing is retried, so a retry never runs a method twice:
 *  - HTTP 429 (-44007 from the rate limiter or nginx): refused before any handler ran;
 *  - HTTP 503 -41011 (agent at capacity, server draining): refused before the handler ran;
 *  - a refused connection: nothing was sent.
 * Not retried: -41002 (state store unreachable: a write may have happened before it failed),
 * timeouts, resets, any other status or code.
 *
 * The wait is the server's `Retry-After` (seconds or an HTTP date), else `details.retryAfterMs`,
 * else a short doubling backoff. A wait longer than `maxDelayMs`, or past the call's timeout,
 * is not taken: the error is thrown at once, as it would be without retries.
 */
import { ArcErrorCode } from '../errors/codes';
import { ArcResponseError, ArcTransportError } from './errors';

export interface RetryOptions {
  /** Retries after the first attempt (default 3; 0: none). */
  max?: number;
  /** Longest wait before a retry; a server asking for more gets its error thrown (default 10000). */
  maxDelayMs?: number;
}

export interface RetryPolicy {
  readonly max: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRIES: RetryPolicy = Object.freeze({ max: 3, maxDelayMs: 10_000 });

/** First backoff when the server names no wait (a refused connection); doubles per retry. */
const BACKOFF_BASE_MS = 100;

/** The policy for ArcClientOptions.retries; undefined when retries are off. */
export function retryPolicy(option: RetryOptions | false | undefined): RetryPolicy | undefined {
  if (option === false) return undefined;
  const max = option?.max ?? DEFAULT_RETRIES.max;
  const maxDelayMs = option?.maxDelayMs ?? DEFAULT_RETRIES.maxDelayMs;
  if (!Number.isInteger(max) || max < 0) throw new TypeError('retries.max must be an integer >= 0');
  if (!Number.isFinite(maxDelayMs) || maxDelayMs < 0) throw new TypeError('retries.maxDelayMs must be a number >= 0');
  return max === 0 ? undefined : { max, maxDelayMs };
}

/** Milliseconds to wait before sending again, or undefined when `err` must not be retried. `retry`: 0 for the first retry. */
export function retryDelayMs(err: unknown, retry: number): number | undefined {
  if (err instanceof ArcResponseError) {
    const refused = err.httpStatus === 429 || (err.httpStatus === 503 && err.code === ArcErrorCode.AgentCapacityExceeded);
    return refused ? (serverDelayMs(err) ?? backoffMs(retry)) : undefined;
  }
  if (err instanceof ArcTransportError && (err.cause as { code?: unknown } | undefined)?.code === 'ECONNREFUSED') return backoffMs(retry);
  return undefined;
}

function serverDelayMs(err: ArcResponseError): number | undefined {
  const header = err.retryAfterHeader?.trim();
  if (header) {
    if (/^\d+$/.test(header)) return Number(header) * 1000;
    const at = Date.parse(header);
    if (Number.isFinite(at)) return Math.max(0, at - Date.now());
  }
  const fromDetails = err.details.retryAfterMs;
  return typeof fromDetails === 'number' && Number.isFinite(fromDetails) && fromDetails >= 0 ? fromDetails : undefined;
}

/** BACKOFF_BASE_MS · 2^retry, less a random part of up to half, so clients refused together spread out. */
function backoffMs(retry: number): number {
  const ceiling = BACKOFF_BASE_MS * 2 ** retry;
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** Resolves after `ms`; rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason as Error);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
