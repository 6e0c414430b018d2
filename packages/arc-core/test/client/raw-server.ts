/**
 * A raw TCP server for the client's stream tests: it reads HTTP/1.1 requests (head and a
 * Content-Length body, several per connection) and lets the test answer with exact bytes, or
 * reset, or hold the connection. It records every request and when each connection closed. Not
 * a test file.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { deferred, type Deferred } from '../support/util';

export interface RawHttpRequest {
  /** The request line and headers, as sent. */
  head: string;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  body: string;
  socket: net.Socket;
  /** Settles when this request's connection closed (the client cut it, or the server did). */
  closed: Promise<void>;
}

export interface RawServer {
  url: string;
  port: number;
  requests: RawHttpRequest[];
  close(): Promise<void>;
}

/** Starts a server on `port` (default: any free one) that hands each request to `answer`. */
export async function rawServer(answer: (req: RawHttpRequest, n: number) => void, port = 0): Promise<RawServer> {
  const requests: RawHttpRequest[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const closed: Deferred<void> = deferred();
    socket.on('close', () => {
      sockets.delete(socket);
      closed.resolve();
    });
    socket.on('error', () => undefined);
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString('latin1');
        const headers: Record<string, string> = {};
        for (const line of head.split('\r\n').slice(1)) {
          const i = line.indexOf(':');
          headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
        }
        const length = Number(headers['content-length'] ?? 0);
        if (buffer.length < end + 4 + length) return;
        const body = buffer.subarray(end + 4, end + 4 + length).toString('utf8');
        buffer = buffer.subarray(end + 4 + length);
        const req = { head, headers, body, socket, closed: closed.promise };
        requests.push(req);
        answer(req, requests.length);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}/arc`,
    port: bound,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A response head and body of an ARC JSON answer (`Content-Length`, keep-alive). */
export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): string {
  const text = JSON.stringify(body);
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return (
    `HTTP/1.1 ${status} X\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\n${extra}` +
    `connection: keep-alive\r\n\r\n${text}`
  );
}

/** The head of an SSE response whose body the test then writes as chunks (each `chunk()` is one). */
export const SSE_HEAD =
  'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: keep-alive\r\ntransfer-encoding: chunked\r\n\r\n';

/** One chunk of a chunked body. */
export function chunk(text: string): string {
  return `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
}

/** The last chunk of a chunked body. */
export const LAST_CHUNK = '0\r\n\r\n';

/** The id of the ARC request in `req`. */
export function requestId(req: RawHttpRequest): string | number {
  return (JSON.parse(req.body) as { id: string | number }).id;
}
