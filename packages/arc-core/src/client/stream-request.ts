/**
 * One attempt of a streamed ArcClient call on node:http(s) (axios cannot hand out a response as
 * it arrives): POST the envelope through the client's agent and read the answer:
 *
 *   200 text/event-stream → a ClientChatStream over its frames (util/sse-response.ts)
 *   a JSON answer         → as any call's (http-exchange.ts): an error envelope at any status is an
 *                           ArcResponseError; a result becomes a stream of one event and `done`
 *   no answer in time     → ArcTimeoutError; a refused or broken connection → ArcTransportError
 *
 * Retries are the caller's (arc-client.ts), and only ever before a stream was accepted.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { ArcRequest } from '../protocol/types';
import { SseResponseReader } from '../util/sse-response';
import { ClientChatStream, resultStream, type ArcChatStream } from './chat-stream';
import { ArcTimeoutError, ArcTransportError } from './errors';
import { asError, envelopeAnswer, headerRecord, observe, parseBody, type ExchangeObserver } from './http-exchange';

/** Largest JSON answer read in place of a stream. */
const MAX_JSON_BYTES = 16 * 1024 * 1024;

export interface StreamAttempt {
  url: string;
  envelope: ArcRequest<object>;
  /** The envelope, serialised. */
  text: string;
  /** All headers of the request (the client's, the call's, Authorization). */
  headers: Record<string, string>;
  agents: { http: http.Agent; https: https.Agent };
  /** Time this attempt may take until the stream is accepted. */
  timeoutMs: number;
  /** The call's timeout: ArcTimeoutError reports it, and it bounds each wait for an event. */
  callTimeoutMs: number;
  signal?: AbortSignal;
  maxEventChars: number;
  onExchange?: ExchangeObserver;
}

/** Opens the stream; resolves once the server accepted it (or answered JSON). */
export function openStream(attempt: StreamAttempt): Promise<ArcChatStream> {
  const { url, envelope, signal, onExchange } = attempt;
  const call = { url, timeoutMs: attempt.callTimeoutMs, ...(signal !== undefined ? { signal } : {}) };
  return new Promise<ArcChatStream>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const payload = Buffer.from(attempt.text, 'utf8');
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    let settled = false;
    const settle = (): void => {
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (err: unknown, answered?: { status: number; headers: Record<string, string> }): void => {
      if (settled) return;
      settle();
      req.destroy();
      observe(onExchange, { url, request: envelope, ...answered, error: asError(err) });
      reject(err);
    };
    const onAbort = (): void => fail(signal!.reason);
    const req = (secure ? https : http).request(
      target,
      {
        method: 'POST',
        agent: secure ? attempt.agents.https : attempt.agents.http,
        headers: {
          'Content-Type': 'application/arc+json',
          Accept: 'text/event-stream, application/arc+json, application/json',
          'User-Agent': 'arc-ts-client',
          ...attempt.headers,
          'Content-Length': String(payload.length),
        },
      },
      (res) => {
        if (settled) {
          res.destroy();
          return;
        }
        const status = res.statusCode ?? 0;
        const headers = headerRecord(res.headers);
        if (status === 200 && (headers['content-type'] ?? '').toLowerCase().startsWith('text/event-stream')) {
          settle();
          observe(onExchange, { url, request: envelope, status, headers, stream: true });
          resolve(new ClientChatStream(new SseResponseReader(req, res, attempt.maxEventChars), call));
          return;
        }
        readBody(res).then(
          (text) => {
            if (settled) return;
            settle();
            observe(onExchange, { url, request: envelope, status, headers, body: parseBody(text) });
            try {
              const reply = envelopeAnswer(url, envelope.id, status, text, headers['retry-after']);
              resolve(resultStream(reply.result, envelope.id, call));
            } catch (err) {
              reject(err);
            }
          },
          (err: unknown) =>
            fail(
              new ArcTransportError(`ARC request to ${url} got HTTP ${status}, then the answer broke off: ${errorText(err)}`, url, status, {
                cause: err,
              }),
              {
                status,
                headers,
              },
            ),
        );
      },
    );
    req.on('error', (err) =>
      fail(new ArcTransportError(`ARC request to ${url} failed: ${errorText(err)}`, url, undefined, { cause: err })),
    );
    const timer = setTimeout(() => fail(new ArcTimeoutError(url, attempt.callTimeoutMs)), attempt.timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    req.end(payload);
  });
}

function errorText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return code ? `${code}: ${message}` : message;
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_JSON_BYTES) {
        res.destroy(new Error(`answer larger than ${MAX_JSON_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('aborted')));
  });
}
