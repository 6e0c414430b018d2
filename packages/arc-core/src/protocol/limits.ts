/**
 * Bounds on what a client may send and what the core keeps or repeats of it (DECISIONS.md 12,
 * docs/operations.md). Every client-supplied string that reaches a log line or an error answer
 * goes through `clip`, so no request can amplify itself into the logs.
 */

/** Longest `id` (as a string), `requestAgent`, `targetAgent`, `method`, `traceId`, chat or task id. */
export const MAX_ID_LENGTH = 256;
/** Longest `reason` of chat.end / task.cancel that is stored. */
export const MAX_REASON_LENGTH = 1024;
/** Deepest nesting of objects and arrays accepted in a request body. */
export const MAX_JSON_DEPTH = 64;
/** Default largest `metadata` a chat (or task) stores, as serialised JSON bytes. */
export const DEFAULT_MAX_METADATA_BYTES = 16 * 1024;

/** How much of an over-long client string a log line or an error message shows. */
const CLIP_PREFIX = 64;

/**
 * A client-supplied value, bounded for a log line or an error message: short strings and
 * numbers as they are, long strings as a prefix with their length, anything else by its kind.
 */
export function clip(value: unknown, max = MAX_ID_LENGTH): string | number | boolean | null | undefined {
  switch (typeof value) {
    case 'string':
      return value.length <= max ? value : `${value.slice(0, Math.min(CLIP_PREFIX, max))}…(${value.length} chars)`;
    case 'number':
    case 'boolean':
    case 'undefined':
      return value;
    default:
      return value === null ? null : Array.isArray(value) ? '[array]' : `[${typeof value}]`;
  }
}

/** A string short enough to echo whole (in an error envelope), else undefined. */
export function echoable(value: unknown): string | undefined {
  return typeof value === 'string' && value.length <= MAX_ID_LENGTH ? value : undefined;
}

/**
 * The top-level key under which a JSON text nests deeper than `maxDepth` (`''` when the
 * document itself, e.g. a bare array, is too deep), or undefined when it does not. Scans the
 * text once without building anything; strings are skipped with indexOf.
 */
export function excessiveNesting(text: string, maxDepth = MAX_JSON_DEPTH): string | undefined {
  // A document shorter than this, or with no more opening brackets than maxDepth, cannot nest
  // deeper than maxDepth: counted with native indexOf, which settles ordinary requests (a few
  // dozen brackets at most) without the character-by-character scan below.
  if (text.length <= maxDepth * 2 || countUpTo(text, '{', maxDepth) + countUpTo(text, '[', maxDepth) <= maxDepth) return undefined;
  let depth = 0;
  let topKey = '';
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i + 1;
      let end = text.indexOf('"', start);
      // Skip escaped quotes: an odd run of backslashes before the quote escapes it.
      while (end !== -1 && isEscaped(text, end)) end = text.indexOf('"', end + 1);
      if (end === -1) return undefined; // malformed: JSON.parse reports it
      // At depth 1 the last string before a nested container is that container's key.
      if (depth === 1) topKey = end - start <= MAX_ID_LENGTH ? text.slice(start, end) : '';
      i = end;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > maxDepth) return topKey;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return undefined;
}

/** Occurrences of `char` in `text`, counting stops past `limit`. */
function countUpTo(text: string, char: string, limit: number): number {
  let n = 0;
  for (let i = text.indexOf(char); i !== -1 && n <= limit; i = text.indexOf(char, i + 1)) n++;
  return n;
}

function isEscaped(text: string, quote: number): boolean {
  let backslashes = 0;
  for (let j = quote - 1; j >= 0 && text.charCodeAt(j) === 0x5c; j--) backslashes++;
  return backslashes % 2 === 1;
}
