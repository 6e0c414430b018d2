/**
 * Reads a request body into a Buffer with a size limit, without a framework: -45004 when it is
 * larger than the limit (by Content-Length before reading, or while reading), -32700 when the
 * Content-Encoding is unknown or the body cannot be inflated. gzip, deflate and br are inflated.
 */
import type { IncomingMessage } from 'node:http';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { ArcError } from '../errors/arc-error';
import { ArcErrorCode } from '../errors/codes';

export function tooLarge(limit: number): ArcError {
  return new ArcError(ArcErrorCode.MessageTooLarge, `Request body exceeds the limit of ${limit} bytes`, { limitBytes: limit });
}

function decoder(encoding: string) {
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

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  const declared = req.headers['content-length'];
  if (encoding === 'identity' && declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge(limit));
  let source: NodeJS.ReadableStream = req;
  if (encoding !== 'identity') {
    const inflate = decoder(encoding);
    if (!inflate) {
      return Promise.reject(new ArcError(ArcErrorCode.ParseError, `Parse error: unsupported Content-Encoding "${encoding}"`, { encoding }));
    }
    source = req.pipe(inflate);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: ArcError | undefined): void => {
      if (done) return;
      done = true;
      source.removeListener('data', onData);
      if (err) reject(err);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) finish(tooLarge(limit));
      else chunks.push(chunk);
    };
    source.on('data', onData);
    source.once('end', () => finish(undefined));
    source.once('error', () =>
      finish(new ArcError(ArcErrorCode.ParseError, 'Parse error: the request body could not be read or inflated')),
    );
    if (source !== req)
      req.once('error', () => finish(new ArcError(ArcErrorCode.ParseError, 'Parse error: the client aborted the request')));
  });
}
