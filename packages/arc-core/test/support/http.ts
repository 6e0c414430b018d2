/** A raw HTTP client on node:http: exact bytes, any headers (or none), one connection per request. */
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Json } from './util';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json(): Json;
}

export interface RawRequest {
  method?: string;
  path?: string;
  /** Header names and values sent as given; no Content-Type is added. */
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export function httpRequest(baseUrl: string, options: RawRequest = {}): Promise<RawResponse> {
  const url = new URL(options.path ?? '/arc', baseUrl);
  const body = options.body === undefined ? undefined : Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body, 'utf8');
  const headers: Record<string, string | number> = { ...options.headers };
  if (body !== undefined) headers['Content-Length'] = body.length;
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text,
          json: () => JSON.parse(text) as Json,
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

export function postJson(
  baseUrl: string,
  body: unknown,
  headers: Record<string, string> = { 'Content-Type': 'application/arc+json' },
): Promise<RawResponse> {
  return httpRequest(baseUrl, { body: JSON.stringify(body), headers });
}

/** A request body, read whole. */
export function readAll(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Starts a plain node:http server on an OS-chosen port. */
export async function listenPlain(handler: http.RequestListener): Promise<{ server: http.Server; url: string; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port that nothing listens on: bound by the OS, then released. */
export { freePort } from '@arc/devkit';
