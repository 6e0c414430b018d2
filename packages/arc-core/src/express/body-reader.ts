/**
 * Reads a request body into a Buffer with a size limit, without a framework: -45004 when it is
 * larger than the limit (by Content-Length before reading, or while reading), -32700 when the
 * Content-Encoding or Transfer-Encoding is unknown or the body cannot be inflated. gzip, deflate
 * and br are inflated, and inflation stops as soon as the limit is passed or the client leaves:
 * a compressed bomb costs what a body at the limit costs (issue 8, hole 5). After a refusal the
 * rest of the body is left unread; the caller answers and discards it (refuse-body.ts).
 */
import type { IncomingMessage } from 'node:http';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Transform } from 'node:stream';
import { ArcError } from '../errors/arc-error';
import { ArcErrorCode } from '../errors/codes';

export function tooLarge(limit: number): ArcError {
  return new ArcError(ArcErrorCode.MessageTooLarge, `Request body exceeds the limit of ${limit} bytes`, { limitBytes: limit });
}

/** True when the request declares an uncompressed body larger than `limit` (refuse before reading). */
export function declaredTooLarge(req: IncomingMessage, limit: number): boolean {
  const declared = req.headers['content-length'];
  if (declared === undefined || Number(declared) <= limit) return false;
  const encoding = req.headers['content-encoding'];
  return encoding === undefined || encoding.toLowerCase() === 'identity';
}

function decoder(encoding: string): Transform | undefined {
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      return undefined;
  }
}

const noop = (): void => undefined;

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  // Node decodes chunked only; another transfer coding in front of it would reach us still encoded.
  const transfer = req.headers['transfer-encoding'];
  if (transfer !== undefined && transfer.toLowerCase() !== 'chunked') {
    return Promise.reject(new ArcError(ArcErrorCode.ParseError, 'Parse error: unsupported Transfer-Encoding (only chunked is accepted)'));
  }
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding === 'identity') {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge(limit));
    return collect(req, limit, req, undefined);
  }
  const inflate = decoder(encoding);
  if (!inflate) {
    return Promise.reject(
      new ArcError(ArcErrorCode.ParseError, `Parse error: unsupported Content-Encoding "${encoding.slice(0, 64)}"`, {
        encoding: encoding.slice(0, 64),
      }),
    );
  }
  req.pipe(inflate);
  return collect(req, limit, inflate, inflate);
}

function collect(req: IncomingMessage, limit: number, source: NodeJS.ReadableStream, inflate: Transform | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: ArcError | undefined): void => {
      if (done) return;
      done = true;
      source.removeListener('data', onData);
      if (inflate) {
        req.removeListener('error', onGone);
        req.socket.removeListener('close', onGone);
        if (err) {
          // Stop inflating now: a bomb would otherwise go on for seconds of CPU after the answer.
          req.unpipe(inflate);
          inflate.on('error', noop);
          inflate.destroy();
        }
      }
      if (err) reject(err);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) finish(tooLarge(limit));
      else chunks.push(chunk);
    };
    const onGone = (): void => finish(new ArcError(ArcErrorCode.ParseError, 'Parse error: the client aborted the request'));
    source.on('data', onData);
    source.once('end', () => finish(undefined));
    source.once('error', () =>
      finish(new ArcError(ArcErrorCode.ParseError, 'Parse error: the request body could not be read or inflated')),
    );
    if (inflate) {
      req.once('error', onGone);
      // A bomb may arrive whole before the client leaves: only the socket tells that it left.
      // (While a large body is still arriving, Node reads the socket only as fast as the inflater
      // takes input, so a departure shows late; the limit bounds that case.)
      req.socket.once('close', onGone);
    }
  });
}
