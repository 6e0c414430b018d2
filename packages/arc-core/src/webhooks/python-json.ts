/**
 * JSON text exactly as Python writes it with `json.dumps(value)` and default arguments.
 *
 * Why: the Python SDK's webhook signature (ARC-PROTOCOL.md §9) is an HMAC over
 * `json.dumps(payload)`, not over the bytes it sends. For our deliveries to verify with the SDK's
 * check *and* with a check of the raw bytes, the body we send must be that exact text; and a
 * receiver of a compact body (the SDK with httpx >= 0.28) must rebuild it to check the signature.
 *
 * Python's defaults: separators `", "` and `": "`; `ensure_ascii=True`, so every character
 * outside printable ASCII is `\uXXXX` (lowercase hex; astral characters as a surrogate pair);
 * control characters as `\n \r \t \b \f` or `\u00XX`; `/` is not escaped; keys in insertion order.
 *
 * Two entry points:
 * - `pythonJsonDumps(value)` writes a JS value. Integers (any integer-valued number, or a bigint)
 *   are written as Python ints and other numbers as Python's float repr (the same shortest
 *   round-trip digits as JS; Python switches to exponent form below 1e-4: `1e-05`, `1.5e-07`).
 *   Not representable, so refused with a TypeError: NaN and ±Infinity (Python would write the
 *   non-JSON `NaN`), undefined/functions/symbols in arrays, class instances (Date, Map…),
 *   circular structures. Object properties whose value is undefined are left out, as
 *   JSON.stringify does. Edge cases where a JS value cannot say what Python had: a float with an
 *   integral value (Python `7000.0`) is written `7000`; `-0` is written `0`; and JS objects put
 *   integer-like keys ("1", "2") first whatever the insertion order.
 * - `reformatPythonJson(text)` rewrites JSON text into that form without going through JS
 *   values: number literals are copied verbatim and keys stay in their order, so the edge cases
 *   above do not arise. Text from another Python writer (httpx's compact JSON) comes out exactly
 *   as `json.dumps(json.loads(text))`. Text no Python writer produces may differ: numbers Python
 *   would have written differently (`1E2`, `1.50`) stay as they were, and duplicate keys are all
 *   kept (Python keeps the last value). NaN/Infinity literals and nesting deeper than
 *   Python's default recursion limit (which `json.dumps` could not have written) are refused with
 *   a SyntaxError.
 */

const PLAIN_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const NEEDS_ESCAPE = /[\\"]|[^\x20-\x7e]/g;
const SHORT_ESCAPES: Record<string, string> = { '\\': '\\\\', '"': '\\"', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Python's `json.encoder.py_encode_basestring_ascii`: per UTF-16 unit, as Python splits astral chars. */
export function pythonJsonString(s: string): string {
  if (PLAIN_ASCII.test(s)) return `"${s}"`;
  return `"${s.replace(NEEDS_ESCAPE, (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

/** Python's `repr(float)` / `str(int)` for a finite JS number. */
export function pythonNumber(x: number): string {
  if (!Number.isFinite(x)) throw new TypeError(`${x} has no JSON form (Python would write a non-JSON literal)`);
  if (Number.isInteger(x)) return Number.isSafeInteger(x) ? String(x) : BigInt(x).toString();
  const [mantissa, exponent] = x.toExponential().split('e') as [string, string];
  const e = Number(exponent);
  // Non-integers are below 2^53, so only the small end differs: JS writes fixed notation down
  // to 1e-7, Python switches to exponent form below 1e-4 and pads the exponent to two digits.
  if (e >= -4) return String(x);
  return `${mantissa}e-${String(-e).padStart(2, '0')}`;
}

export function pythonJsonDumps(value: unknown): string {
  return dump(value, new Set(), '$');
}

function dump(value: unknown, ancestors: Set<object>, path: string): string {
  switch (typeof value) {
    case 'string':
      return pythonJsonString(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${path}: ${value} has no JSON form (Python would write a non-JSON literal)`);
      return pythonNumber(value);
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      break;
    default:
      throw new TypeError(`${path}: ${typeof value} has no JSON form`);
  }
  if (ancestors.has(value)) throw new TypeError(`${path}: circular structure`);
  ancestors.add(value);
  let out: string;
  if (Array.isArray(value)) {
    const items: string[] = [];
    for (let i = 0; i < value.length; i++) items.push(dump(value[i], ancestors, `${path}[${i}]`));
    out = `[${items.join(', ')}]`;
  } else {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) throw new TypeError(`${path}: only plain objects have a JSON form here`);
    const members: string[] = [];
    for (const [key, member] of Object.entries(value)) {
      if (member !== undefined) members.push(`${pythonJsonString(key)}: ${dump(member, ancestors, `${path}.${key}`)}`);
    }
    out = `{${members.join(', ')}}`;
  }
  ancestors.delete(value);
  return out;
}

/** Python's default recursion limit; `json.dumps` fails on anything nested deeper. */
const MAX_DEPTH = 1000;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;
// eslint-disable-next-line no-control-regex -- JSON strings may not hold raw control characters
const STRING_BODY = /(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*/y;
const UNESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

export function reformatPythonJson(text: string): string {
  let pos = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at position ${pos}`);
  };
  const skipWhitespace = (): void => {
    WHITESPACE.lastIndex = pos;
    WHITESPACE.exec(text);
    pos = WHITESPACE.lastIndex;
  };
  const expect = (c: string): void => {
    skipWhitespace();
    if (text[pos] !== c) fail(`expected '${c}'`);
    pos++;
  };
  const string = (): string => {
    expect('"');
    STRING_BODY.lastIndex = pos;
    const body = STRING_BODY.exec(text)![0];
    pos += body.length;
    if (text[pos] !== '"') fail('bad string');
    pos++;
    const decoded = body.includes('\\')
      ? body.replace(/\\(?:u([0-9a-fA-F]{4})|(.))/g, (_, hex: string | undefined, c: string) =>
          hex === undefined ? UNESCAPES[c]! : String.fromCharCode(parseInt(hex, 16)),
        )
      : body;
    return pythonJsonString(decoded);
  };
  const value = (depth: number): string => {
    if (depth > MAX_DEPTH) fail('nesting too deep');
    skipWhitespace();
    const c = text[pos];
    if (c === '"') return string();
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      pos++;
      skipWhitespace();
      if (text[pos] === close) {
        pos++;
        return c + close;
      }
      const parts: string[] = [];
      for (;;) {
        if (c === '{') {
          const key = string();
          expect(':');
          parts.push(`${key}: ${value(depth + 1)}`);
        } else {
          parts.push(value(depth + 1));
        }
        skipWhitespace();
        if (text[pos] !== ',') break;
        pos++;
      }
      expect(close);
      return `${c}${parts.join(', ')}${close}`;
    }
    for (const literal of ['true', 'false', 'null']) {
      if (text.startsWith(literal, pos)) {
        pos += literal.length;
        return literal;
      }
    }
    NUMBER.lastIndex = pos;
    const number = NUMBER.exec(text);
    if (!number) return fail('unexpected token');
    pos += number[0].length;
    return number[0];
  };
  const out = value(1);
  skipWhitespace();
  if (pos !== text.length) fail('unexpected text after JSON value');
  return out;
}
