/**
 * ARC error envelopes for requests refused below the ARC handler (issue 8, hole 8): what Node's
 * HTTP parser rejects (`clientError`), a request not received in time, an HTTP/1.1 request
 * without Host, an `Expect` we do not support. Node's own answers are bare status lines with no
 * body; these are complete responses with an envelope and `Connection: close`.
 *
 * Codes and statuses:
 *  - malformed HTTP (request line, header syntax, Content-Length, Transfer-Encoding, chunk
 *    framing) → 400 -32700: the bytes are not a readable request, as unparseable JSON is;
 *  - a request head over Node's header limit → 431 -45004 (the message is too large; 431 is
 *    the precise HTTP status for a head), oversized chunk extensions → 413 -45004;
 *  - no complete head within the head timeout, or no complete request within the request
 *    timeout → 408 -32600 (an incomplete request); a connection that sent nothing at all is
 *    closed without an answer, as nginx does;
 *  - HTTP/1.1 without Host → 400 -32600, `Expect` other than 100-continue → 417 -32600.
 * An answer is written only while the socket is writable and no response has started on it;
 * otherwise the connection is destroyed (bytes written into another answer would corrupt it).
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ArcError } from '../errors/arc-error';
import { ArcErrorCode } from '../errors/codes';
import type { Logger } from '../logging/logger';
import { UNREADABLE, errorEnvelope } from '../protocol/envelope';
import { DISCARD_BOUNDS, type HttpTimeouts } from './connection-limits';
import { refuseBody } from './refuse-body';
import { writeJson } from './reply-writer';

export interface ClientErrorContext {
  serverId: string;
  timeouts: HttpTimeouts;
  /** Node's limit on a request head, in bytes (http.maxHeaderSize unless the server sets one). */
  maxHeaderSize: number;
  logger: Logger;
}

interface Refusal {
  status: number;
  error: ArcError;
}

/** What Node's parser reports: its error code (HPE_*) and a fixed llhttp reason. */
type ClientError = Error & { code?: string; reason?: string };

/** Node's own field (see socketOnError in lib/_http_server.js): the response currently on the socket. */
type HttpSocket = Socket & { _httpMessage?: ServerResponse | null };

const answered = Symbol('arc.clientErrorAnswered');
type AnsweredSocket = HttpSocket & { [answered]?: number };

/** Maps a parser or timeout error to its ARC refusal; undefined for socket errors (ECONNRESET, …). */
function refusalFor(err: ClientError, ctx: ClientErrorContext, headComplete: boolean): Refusal | undefined {
  const code = err.code ?? '';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return headComplete
      ? refusal(
          408,
          ArcErrorCode.InvalidRequest,
          `Invalid request: the request was not received completely within ${ctx.timeouts.requestTimeoutMs} ms`,
          {
            timeoutMs: ctx.timeouts.requestTimeoutMs,
          },
        )
      : refusal(408, ArcErrorCode.InvalidRequest, `Invalid request: no complete request head within ${ctx.timeouts.headersTimeoutMs} ms`, {
          timeoutMs: ctx.timeouts.headersTimeoutMs,
        });
  }
  if (!code.startsWith('HPE_')) return undefined;
  if (code === 'HPE_HEADER_OVERFLOW') {
    return refusal(431, ArcErrorCode.MessageTooLarge, `Request head exceeds the limit of ${ctx.maxHeaderSize} bytes`, {
      limitBytes: ctx.maxHeaderSize,
    });
  }
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') {
    return refusal(413, ArcErrorCode.MessageTooLarge, 'Request chunk extensions exceed the limit', {});
  }
  // llhttp's reasons are fixed strings ("Invalid character in Content-Length"); bounded anyway.
  const reason = (err.reason ?? code).replace(/[^\x20-\x7e]/g, '').slice(0, 120);
  return refusal(400, ArcErrorCode.ParseError, `Parse error: malformed HTTP request (${reason})`, { httpError: code.slice(0, 64) });
}

function refusal(status: number, code: number, message: string, details: Record<string, unknown>): Refusal {
  return { status, error: new ArcError(code, message, details) };
}

/** A complete HTTP/1.1 response, for a socket that has no ServerResponse. */
function rawResponse(status: number, body: unknown): Buffer {
  const text = JSON.stringify(body);
  return Buffer.from(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    'utf8',
  );
}

/**
 * The server's `clientError` listener. Node calls it again for every chunk that reaches a parser
 * in error, so a socket already answered is only watched: destroyed once it has sent more than
 * the discard bound, or gone.
 */
export function createClientErrorListener(ctx: ClientErrorContext): (err: ClientError, socket: Socket) => void {
  return (err, plainSocket) => {
    const socket = plainSocket as AnsweredSocket;
    const answeredAt = socket[answered];
    if (answeredAt !== undefined) {
      if (socket.bytesRead - answeredAt > DISCARD_BOUNDS.maxBytes || !(err.code ?? '').startsWith('HPE_')) socket.destroy();
      return;
    }
    const res = socket._httpMessage ?? undefined;
    // A request whose head was read has a response object; the error concerns it only while it is incomplete.
    const req = res?.req as IncomingMessage | undefined;
    const mine = res === undefined || (!res.headersSent && req !== undefined && !req.complete);
    const timedOutSilent = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' && socket.bytesRead === 0;
    const found = socket.writable && mine && !timedOutSilent ? refusalFor(err, ctx, res !== undefined) : undefined;
    if (!found) {
      socket.destroy();
      return;
    }
    ctx.logger.debug('HTTP request refused by the parser', { code: (err.code ?? '').slice(0, 64), status: found.status });
    const envelope = errorEnvelope(UNREADABLE, found.error, ctx.serverId);
    socket[answered] = socket.bytesRead;
    if (res) {
      // The request's head was read: answer through its response, so its handler sees it sent.
      writeJson(res, found.status, envelope, { Connection: 'close' });
      return;
    }
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      // The parser is not in error: close as soon as the answer is out, before more is parsed.
      socket.end(rawResponse(found.status, envelope), () => socket.destroy());
      return;
    }
    // The parser drops whatever else arrives: let the client finish sending, then close (see
    // refuse-body.ts for why closing at once would reset the connection under it).
    socket.end(rawResponse(found.status, envelope));
    const timer = setTimeout(() => socket.destroy(), DISCARD_BOUNDS.maxMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  };
}

/** `checkExpectation` listener: an `Expect` other than 100-continue → 417 -32600. */
export function refuseExpectation(serverId: string) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const error = new ArcError(ArcErrorCode.InvalidRequest, 'Invalid request: only "Expect: 100-continue" is supported');
    refuseBody(req, res, 417, errorEnvelope(UNREADABLE, error, serverId));
  };
}

/** The answer to an HTTP/1.1 request without Host (Node's own check answers a bare 400). */
export function refuseMissingHost(req: IncomingMessage, res: ServerResponse, serverId: string): void {
  const error = new ArcError(ArcErrorCode.InvalidRequest, 'Invalid request: an HTTP/1.1 request needs a Host header');
  refuseBody(req, res, 400, errorEnvelope(UNREADABLE, error, serverId));
}
