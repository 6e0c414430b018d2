/** Writes an ArcReply (JSON envelope or SSE stream) to a Node response. */
import type { ServerResponse } from 'node:http';
import type { ArcReply } from '../router/router';
import { writeSse } from './sse-writer';

export function writeJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string | number>): void {
  const text = JSON.stringify(body);
  // One writeHead with a flat list: setHeader per header validates and stores each one again.
  const list: (string | number)[] = ['Content-Type', 'application/json', 'Content-Length', Buffer.byteLength(text)];
  if (headers) for (const name in headers) list.push(name, headers[name]!);
  res.writeHead(status, list);
  res.end(text);
}

export interface ReplyWriteOptions {
  /** SSE heartbeat interval in ms (0: none). */
  sseHeartbeatMs?: number;
}

/**
 * Resolves when an SSE stream has been written; a JSON reply is written at once (no promise).
 * A stream always ends its exchange: read to the end, or cancelled if the caller leaves.
 */
export function writeReply(res: ServerResponse, reply: ArcReply, options: ReplyWriteOptions = {}): Promise<void> | undefined {
  if (reply.kind === 'stream') {
    return writeSse(res, reply.events, {
      onClose: () => reply.cancel(),
      heartbeatMs: options.sseHeartbeatMs,
      headers: reply.headers,
    }).finally(() => reply.cancel());
  }
  let headers: Record<string, string | number> | undefined = reply.headers;
  if (reply.retryAfter !== undefined) headers = { ...headers, 'Retry-After': reply.retryAfter };
  writeJson(res, reply.status, reply.body, headers);
  return undefined;
}
