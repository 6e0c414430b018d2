/**
 * Refusing a request body without resetting the connection (issue 8, hole 4).
 *
 * When a server answers before it has read the whole body and then closes the socket, the
 * client's next bytes reach a closed socket and its kernel answers with a TCP reset (RFC 9112
 * §9.6). Node does exactly that after a `Connection: close` response: once the response is
 * flushed it half-closes and destroys the socket. The client, still writing its body, gets
 * EPIPE or ECONNRESET from its write and most clients (undici's fetch, curl) give up without
 * reading the answer that is already in their receive buffer.
 *
 * So the answer is written whole at once (Content-Length, `Connection: close`: clients that read
 * while sending see it and stop), but the response is ended only when the client has stopped
 * sending: the rest of the body is read and thrown away until it ends, the client leaves, or
 * a bound is reached (connection-limits.ts); then Node closes the connection as usual.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DISCARD_BOUNDS, type DiscardBounds } from './connection-limits';

export function refuseBody(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: unknown,
  bounds: DiscardBounds = DISCARD_BOUNDS,
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, ['Content-Type', 'application/json', 'Content-Length', Buffer.byteLength(text), 'Connection', 'close']);
  if (req.complete || req.destroyed) {
    res.end(text);
    return;
  }
  res.write(text);
  let discarded = 0;
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    req.off('data', onData);
    req.off('end', finish);
    req.off('close', finish);
    // Ends the response: Node then half-closes and destroys the connection.
    if (!res.writableEnded && !res.destroyed) res.end();
  };
  const onData = (chunk: Buffer): void => {
    discarded += chunk.length;
    if (discarded > bounds.maxBytes) finish();
  };
  const timer = setTimeout(finish, bounds.maxMs);
  timer.unref();
  req.on('data', onData);
  req.once('end', finish);
  req.once('close', finish);
  req.resume();
}
