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

/** Resolves when an SSE stream has been written; a JSON reply is written at once (no promise). */
export function writeReply(res: ServerResponse, reply: ArcReply): Promise<void> | undefined {
  if (reply.kind === 'stream') return writeSse(res, reply.events);
  writeJson(res, reply.status, reply.body, reply.retryAfter === undefined ? undefined : { 'Retry-After': reply.retryAfter });
  return undefined;
}
