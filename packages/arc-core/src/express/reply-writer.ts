/** Writes an ArcReply (JSON envelope or SSE stream) to a Node response. */
import type { ServerResponse } from 'node:http';
import type { ArcReply } from '../router/router';
import { writeSse } from './sse-writer';

export function writeJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string | number>): void {
  const text = JSON.stringify(body);
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  if (headers) for (const name in headers) res.setHeader(name, headers[name]!);
  res.writeHead(status);
  res.end(text);
}

export async function writeReply(res: ServerResponse, reply: ArcReply): Promise<void> {
  if (reply.kind === 'stream') return writeSse(res, reply.events);
  writeJson(res, reply.status, reply.body, reply.retryAfter === undefined ? undefined : { 'Retry-After': reply.retryAfter });
}
