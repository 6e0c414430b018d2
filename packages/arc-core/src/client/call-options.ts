/**
 * The options of an ArcClient and of its calls, and the message a call takes (a string is a
 * user message of one TextPart).
 */
import type { Message } from '../protocol/types';
import type { ExchangeObserver } from './http-exchange';
import type { RetryOptions } from './retry';
import type { TokenProvider } from './token-provider';

export interface ArcClientOptions {
  /** Our agent id, sent as `requestAgent` (default `arc-ts-client-<8 hex>`). */
  requestAgent?: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /**
   * Called before every request (and every retry); what it returns is sent as
   * `Authorization: Bearer <token>`. Caching is the provider's job (clientCredentials() caches
   * and refreshes). Not together with `token`.
   */
  tokenProvider?: TokenProvider;
  /**
   * Retries of requests that certainly did nothing (429, 503 -41011, a refused connection),
   * after the server's Retry-After (default `{ max: 3, maxDelayMs: 10000 }`; `false`: none).
   */
  retries?: RetryOptions | false;
  /** Per-call timeout, retries and their waits included; for a stream, also the longest wait for each event (default 30 s). */
  timeoutMs?: number;
  headers?: Record<string, string>;
  /** Keep connections open between calls (default true); client.close() ends them. */
  keepAlive?: boolean;
  /** Called once per HTTP attempt (retries included, streams too), for logging (`arc --verbose`) and tests; must not throw. */
  onExchange?: ExchangeObserver;
  /** Largest SSE event a stream takes (default 16 MiB); a larger one breaks the stream off with ArcTransportError. */
  maxStreamEventChars?: number;
}

export interface CallOptions {
  traceId?: string;
  /** The call's timeout, retries and their waits included; for a stream, also the longest wait for each event. */
  timeoutMs?: number;
  /** Request id; a fresh uuid by default. */
  id?: string | number;
  /** Aborts the request (or the wait before a retry, or a stream being read); it then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Headers of this call only, over the client's own (a trace header, say). */
  headers?: Record<string, string>;
}

/** chat.start's options: a chatId of the caller's choosing, and metadata for the chat. */
export type ChatStartOptions = CallOptions & { chatId?: string; metadata?: Record<string, unknown> };

export type MessageInput = string | Message;

export function toMessage(input: MessageInput): Message {
  return typeof input === 'string' ? { role: 'user', parts: [{ type: 'TextPart', content: input }] } : input;
}
