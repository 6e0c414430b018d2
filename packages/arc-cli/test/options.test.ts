import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDuration, parseJsonObject, parseParams, parseUrl } from '../src/options';
import { UsageError } from '../src/output';
import { memoryIo } from './helpers';

describe('parseDuration', () => {
  test.each([
    ['1500ms', 1500],
    ['30s', 30_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['5', 5000],
    ['0.3', 300],
    [' 45s ', 45_000],
  ])('%j → %d ms', (text, ms) => expect(parseDuration(text, '--timeout')).toBe(ms));

  test.each(['0', '0ms', '-1s', 'soon', '10 s', '1d', '', '1e3', '99999999999'])('%j is a usage error naming the flag', (text) => {
    expect(() => parseDuration(text, '--max-wait')).toThrow(UsageError);
    expect(() => parseDuration(text, '--max-wait')).toThrow(/^--max-wait must be a duration/);
  });
});

describe('parseUrl', () => {
  test('http and https URLs', () => {
    expect(parseUrl('http://localhost:8000/arc').href).toBe('http://localhost:8000/arc');
    expect(parseUrl('https://arc.example.com/finance/arc').pathname).toBe('/finance/arc');
  });
  test.each([
    ['localhost:8000/arc', /must start with http:\/\/ or https:\/\//],
    ['ftp://host/arc', /must start with http:\/\/ or https:\/\//],
    ['not a url', /"not a url" is not a URL/],
    ['', /is not a URL/],
  ])('%j → UsageError', (text, message) => {
    expect(() => parseUrl(text)).toThrow(UsageError);
    expect(() => parseUrl(text)).toThrow(message);
  });
});

describe('params', () => {
  test('a JSON object, and nothing else', () => {
    expect(parseJsonObject('{"taskId":"t-1"}', '--params')).toEqual({ taskId: 't-1' });
    expect(() => parseJsonObject('[1]', '--params')).toThrow(/^--params must be a JSON object/);
    expect(() => parseJsonObject('null', '--params')).toThrow(/^--params must be a JSON object/);
    expect(() => parseJsonObject('{"a":', '--params')).toThrow(/^--params is not valid JSON: /);
  });

  test('absent: {}; @file; @- from stdin; a missing file is a usage error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'arc-cli-unit-'));
    const file = join(dir, 'p.json');
    writeFileSync(file, '{"chatId":"chat-1"}');
    expect(await parseParams(undefined, memoryIo())).toEqual({});
    expect(await parseParams(`@${file}`, memoryIo())).toEqual({ chatId: 'chat-1' });
    expect(await parseParams('@-', memoryIo({ stdin: '{"x":1}' }))).toEqual({ x: 1 });
    await expect(parseParams(`@${join(dir, 'missing.json')}`, memoryIo())).rejects.toThrow(
      /^cannot read --params file .*missing\.json: ENOENT/,
    );
    await expect(parseParams('@-', memoryIo({ stdin: 'nope' }))).rejects.toThrow(/^--params @- \(stdin\) is not valid JSON/);
  });
});
