/**
 * pythonJsonDumps / reformatPythonJson against Python's `json.dumps` (default arguments). The
 * expected strings are Python's outputs, written out here (checked with CPython 3.11).
 */
import { pythonJsonDumps, pythonJsonString, pythonNumber, reformatPythonJson } from '../../src/webhooks/python-json';
import { loadWebhookCapture } from './webhook-capture';

describe('pythonJsonDumps', () => {
  it('writes the SDK-signed capture body byte for byte from its parsed value', () => {
    const { body } = loadWebhookCapture();
    expect(pythonJsonDumps(JSON.parse(body.toString('utf8')))).toBe(body.toString('utf8'));
  });

  it('uses ", " and ": " separators, keeps key order, writes every JSON type', () => {
    const value = { arc: '1.0', n: 1, f: 0.5, neg: -2, t: true, fa: false, nu: null, l: [], o: {}, nested: [1, [2, { a: 'b' }]] };
    expect(pythonJsonDumps(value)).toBe(
      '{"arc": "1.0", "n": 1, "f": 0.5, "neg": -2, "t": true, "fa": false, "nu": null, "l": [], "o": {}, "nested": [1, [2, {"a": "b"}]]}',
    );
  });

  it('escapes non-ASCII as lowercase \\uXXXX, astral characters as surrogate pairs', () => {
    expect(pythonJsonDumps('caf\u00e9 \u20ac \u{1f600} \u2028')).toBe('"caf\\u00e9 \\u20ac \\ud83d\\ude00 \\u2028"');
    expect(pythonJsonDumps({ clé: 'Réservé 👍' })).toBe('{"cl\\u00e9": "R\\u00e9serv\\u00e9 \\ud83d\\udc4d"}');
  });

  it("escapes control characters, quotes and backslashes as Python does, and leaves '/' alone", () => {
    expect(pythonJsonDumps('ctl \x00\x01\x1f\x7f \b\f\n\r\t " \\ /')).toBe('"ctl \\u0000\\u0001\\u001f\\u007f \\b\\f\\n\\r\\t \\" \\\\ /"');
  });

  it('writes a lone surrogate as its escape, as Python does', () => {
    expect(pythonJsonString('\ud800x')).toBe('"\\ud800x"');
  });

  it("writes floats in Python's repr (exponent form below 1e-4, two-digit exponent)", () => {
    const floats = [0.1, 1.5, -0.001, 0.0001, 0.00001, 1.5e-7, 123.456, 5e-324, 1e-100, 2.5e-5, 1 / 3, 100.25, 1e15 + 0.5];
    expect(pythonJsonDumps(floats)).toBe(
      '[0.1, 1.5, -0.001, 0.0001, 1e-05, 1.5e-07, 123.456, 5e-324, 1e-100, 2.5e-05, 0.3333333333333333, 100.25, 1000000000000000.5]',
    );
    expect(pythonNumber(-2.5e-5)).toBe('-2.5e-05');
    expect(() => pythonNumber(Number.NaN)).toThrow(TypeError);
  });

  it('writes integers as Python ints, beyond 2^53 too (numbers and bigints)', () => {
    expect(pythonJsonDumps([1e21, 2 ** 53, 9007199254740993n, -42])).toBe(
      '[1000000000000000000000, 9007199254740992, 9007199254740993, -42]',
    );
  });

  it('documented edge cases: an integral float is written as an int, -0 as 0', () => {
    // Python would write 7000.0 for the float 7000.0 and -0.0 for -0.0; JS cannot tell.
    expect(pythonJsonDumps({ duration: 7000.0, zero: -0 })).toBe('{"duration": 7000, "zero": 0}');
  });

  it('leaves out undefined properties, as JSON.stringify does', () => {
    expect(pythonJsonDumps({ a: 1, traceId: undefined, b: 2 })).toBe('{"a": 1, "b": 2}');
  });

  it('accepts objects without a prototype and values shared (not circular) between branches', () => {
    const shared = { x: 1 };
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { k: 'v' });
    expect(pythonJsonDumps({ a: shared, b: shared, bare })).toBe('{"a": {"x": 1}, "b": {"x": 1}, "bare": {"k": "v"}}');
  });

  it.each([
    ['NaN', Number.NaN, /NaN has no JSON form/],
    ['Infinity', Infinity, /Infinity has no JSON form/],
    ['-Infinity', { x: -Infinity }, /\$\.x: -Infinity has no JSON form/],
    ['undefined in an array', [1, undefined], /\$\[1\]: undefined has no JSON form/],
    ['a function', { f: () => 1 }, /\$\.f: function has no JSON form/],
    ['a symbol', Symbol('s'), /symbol has no JSON form/],
    ['undefined at the top', undefined, /^\$: undefined has no JSON form/],
    ['a Date', { at: new Date(0) }, /\$\.at: only plain objects/],
    ['a Map', new Map(), /only plain objects/],
  ])('refuses %s with a TypeError', (_name, value, message) => {
    expect(() => pythonJsonDumps(value)).toThrow(TypeError);
    expect(() => pythonJsonDumps(value)).toThrow(message);
  });

  it('refuses circular structures', () => {
    const loop: Record<string, unknown> = { a: 1 };
    loop.self = { back: loop };
    expect(() => pythonJsonDumps(loop)).toThrow(/\$\.self\.back: circular structure/);
    const list: unknown[] = [];
    list.push(list);
    expect(() => pythonJsonDumps(list)).toThrow(/circular/);
  });
});

describe('reformatPythonJson', () => {
  it('turns the compact form of the capture (httpx >= 0.28) back into the signed text', () => {
    const signed = loadWebhookCapture().body.toString('utf8');
    const compact = JSON.stringify(JSON.parse(signed));
    expect(compact).not.toBe(signed);
    expect(reformatPythonJson(compact)).toBe(signed);
  });

  it('keeps number literals and key order that a JS round trip would lose', () => {
    // Python: json.dumps(json.loads(text)); JS would reorder "2","1" first and write 7000.0 as 7000.
    const compact = '{"b":1,"2":2,"1":3,"x":7000.0,"big":12345678901234567890123,"s":"\\u00e9\\/é😀"}';
    expect(reformatPythonJson(compact)).toBe(
      '{"b": 1, "2": 2, "1": 3, "x": 7000.0, "big": 12345678901234567890123, "s": "\\u00e9/\\u00e9\\ud83d\\ude00"}',
    );
  });

  it('decodes every JSON escape and re-escapes as Python does', () => {
    expect(reformatPythonJson('"\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\ud83d\\ude00\\u00E9 \\u007f"')).toBe(
      '"\\"\\\\/\\b\\f\\n\\r\\tA\\ud83d\\ude00\\u00e9 \\u007f"',
    );
  });

  it('accepts any JSON whitespace and writes Python separators', () => {
    const spaced = '{\n  "a" : [ 1 , 2.5 , {"b" : null} ] ,\n\t"c":true,"d":false, "e": [ ], "f": { }, "g": -0.0, "h": 1.5e-07 }\r\n';
    expect(reformatPythonJson(spaced)).toBe(
      '{"a": [1, 2.5, {"b": null}], "c": true, "d": false, "e": [], "f": {}, "g": -0.0, "h": 1.5e-07}',
    );
  });

  it('documented edge cases: non-Python number forms and duplicate keys are kept as they are', () => {
    expect(reformatPythonJson('{"y":1E2,"z":1.50,"d":1,"d":2}')).toBe('{"y": 1E2, "z": 1.50, "d": 1, "d": 2}');
  });

  it.each([
    ['empty text', ''],
    ['an unclosed object', '{'],
    ['a missing colon', '{"a" 1}'],
    ['a trailing comma', '[1,]'],
    ['a non-string key', '{1:2}'],
    ['NaN', '[NaN]'],
    ['Infinity', '-Infinity'],
    ['a leading zero', '01'],
    ['a raw control character in a string', '"a\u0001b"'],
    ['a bad escape', '"\\x41"'],
    ['an unterminated string', '"abc'],
    ['two values', '1 2'],
    ['a bare word', 'nul'],
  ])('refuses %s with a SyntaxError', (_name, text) => {
    expect(() => reformatPythonJson(text)).toThrow(SyntaxError);
  });

  it("refuses nesting deeper than Python's recursion limit, accepts ordinary depth", () => {
    expect(() => reformatPythonJson('['.repeat(5000) + ']'.repeat(5000))).toThrow(/nesting too deep/);
    expect(reformatPythonJson('['.repeat(100) + ']'.repeat(100))).toBe('['.repeat(100) + ']'.repeat(100));
  });
});
