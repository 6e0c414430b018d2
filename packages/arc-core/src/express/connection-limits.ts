/**
 * What one connection may cost the server (issue 8, holes 4 and 6): how long it may take to send
 * a request, how long it may sit idle between requests, and how much of an unwanted body the
 * server reads and throws away after refusing it.
 *
 * Node enforces the first two itself (`headersTimeout`, `requestTimeout`, checked every
 * `connectionsCheckingInterval`, 30 s by default: why silent connections used to live 75–105 s).
 * The head timeout runs from the connection's opening (so one that sends nothing is closed too)
 * and, on a kept-alive connection, from the first byte of each later request; the request timeout
 * bounds receiving the whole request, body included, never the handler or its stream.
 */
import type { ServerOptions } from 'node:http';

export interface HttpTimeouts {
  /** A connection must deliver a complete request head within this (408, or closed if it sent nothing). */
  headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this (408). */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
}

/**
 * Defaults. Head: 10 s, as nginx's client_header_timeout. Request: 30 s, enough for a body at the
 * 10 MiB limit at ≥ 3 Mbit/s; behind the gateway the service gets bodies at LAN speed (nginx
 * buffers them first, with its own client_body_timeout), so only direct slow clients are cut.
 * Keep-alive: 65 s, longer than the idle timeout of nginx's upstream pool or a cloud load
 * balancer (60 s), so the proxy, not the service, closes an idle connection and never sends a
 * request on one the service is closing.
 */
export const DEFAULT_HTTP_TIMEOUTS: Readonly<HttpTimeouts> = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 65_000,
});

/**
 * The timeouts from a server's options, defaults filled in; an unset head timeout never exceeds
 * a shorter request timeout. Throws a clear error for values Node would refuse or that make no sense.
 */
export function resolveTimeouts(options: Partial<HttpTimeouts>): HttpTimeouts {
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_HTTP_TIMEOUTS.requestTimeoutMs;
  const t: HttpTimeouts = {
    headersTimeoutMs: options.headersTimeoutMs ?? Math.min(DEFAULT_HTTP_TIMEOUTS.headersTimeoutMs, requestTimeoutMs),
    requestTimeoutMs,
    keepAliveTimeoutMs: options.keepAliveTimeoutMs ?? DEFAULT_HTTP_TIMEOUTS.keepAliveTimeoutMs,
  };
  checkTimeouts(t);
  return t;
}

function checkTimeouts(t: HttpTimeouts): void {
  for (const name of ['headersTimeoutMs', 'requestTimeoutMs', 'keepAliveTimeoutMs'] as const) {
    if (!Number.isInteger(t[name]) || t[name] < 1) throw new RangeError(`${name} must be a positive integer (ms), got ${t[name]}`);
  }
  if (t.headersTimeoutMs > t.requestTimeoutMs) {
    throw new RangeError(`headersTimeoutMs (${t.headersTimeoutMs}) must be <= requestTimeoutMs (${t.requestTimeoutMs})`);
  }
}

/**
 * Node's server options for these timeouts. The check runs every second (a tenth of the head
 * timeout when that is shorter), so a deadline is honoured within about a second; each check
 * walks only connections in the middle of a request.
 */
export function httpServerOptions(t: HttpTimeouts): ServerOptions {
  return {
    headersTimeout: t.headersTimeoutMs,
    requestTimeout: t.requestTimeoutMs,
    keepAliveTimeout: t.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(t.headersTimeoutMs / 10))),
  };
}

/**
 * After refusing a body (413 before or while reading it, a malformed request), the server keeps
 * reading and discarding what the client still sends, so that closing the connection does not
 * reset it under the client's feet (see refuse-body.ts), but at most this long and this much:
 * then the connection is closed whatever the client is doing. 5 s is nginx's lingering_timeout.
 */
export interface DiscardBounds {
  maxMs: number;
  maxBytes: number;
}

export const DISCARD_BOUNDS: Readonly<DiscardBounds> = Object.freeze({ maxMs: 5_000, maxBytes: 64 * 1024 * 1024 });
