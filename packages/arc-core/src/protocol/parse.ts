/**
 * Request bodies are JSON whatever their Content-Type says (DECISIONS.md §6). Invalid UTF-8,
 * an empty body and malformed JSON are all -32700 / 400; a body nested deeper than
 * MAX_JSON_DEPTH is -32600 / 400 before it is parsed (deep values break validators, loggers
 * and serialisers further on).
 */
import { isUtf8 } from 'node:buffer';
import { ArcError } from '../errors/arc-error';
import { ArcErrorCode } from '../errors/codes';
import { MAX_JSON_DEPTH, excessiveNesting } from './limits';

export function parseJsonBody(raw: Uint8Array | string | undefined): unknown {
  let text: string;
  if (raw === undefined) text = '';
  else if (typeof raw === 'string') text = raw;
  else {
    if (!isUtf8(raw)) throw new ArcError(ArcErrorCode.ParseError, 'Parse error: request body is not valid UTF-8');
    text = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
    // A UTF-8 byte-order mark is not JSON whitespace.
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  }
  if (text.trim() === '') throw new ArcError(ArcErrorCode.ParseError, 'Parse error: request body is empty');
  const deepIn = excessiveNesting(text);
  if (deepIn !== undefined) {
    const where = deepIn === '' ? 'the request body' : deepIn;
    throw new ArcError(ArcErrorCode.InvalidRequest, `${where} is nested deeper than ${MAX_JSON_DEPTH} levels`, {
      ...(deepIn === '' ? {} : { field: deepIn }),
      maxDepth: MAX_JSON_DEPTH,
    });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    // V8's SyntaxError text names the position only ("Unexpected token } in JSON at position 57").
    throw new ArcError(ArcErrorCode.ParseError, `Parse error: ${(err as Error).message}`);
  }
}
