import { execFileSync } from 'node:child_process';
import { curlCommand, shellQuote } from '../src/curl';

/** What a POSIX shell makes of `words`: each argument on its own line, as printf prints them. */
function shellWords(command: string): string[] {
  const out = execFileSync('sh', ['-c', `set -- ${command.replace(/\\\n/g, '')}; for a in "$@"; do printf '%s\\0' "$a"; done`], {
    encoding: 'utf8',
  });
  return out.split('\0').slice(0, -1);
}

describe('shellQuote', () => {
  it.each([
    ['plain', 'plain'],
    ['http://127.0.0.1:8000/arc', 'http://127.0.0.1:8000/arc'],
    ['', "''"],
    ['two words', "'two words'"],
    ["it's", "'it'\\''s'"],
    ['$HOME `id` "x" !', '\'$HOME `id` "x" !\''],
  ])('%j → %s', (value, quoted) => {
    expect(shellQuote(value)).toBe(quoted);
  });

  it('gives the shell back exactly the value, whatever it holds', () => {
    const values = ["it's", 'a\nb', '$(rm -rf /)', '`x`', '"', "'", "''", '\\', 'ü ✓ 😀', '{"a":"b\'c"}', '!event', '*'];
    expect(shellWords(values.map(shellQuote).join(' '))).toEqual(values);
  });
});

describe('curlCommand', () => {
  const body = JSON.stringify({ arc: '1.0', id: '1', method: 'chat.start', params: { initialMessage: { content: "it's $5" } } });
  const request = { method: 'POST' as const, url: 'http://127.0.0.1:8000/arc', headers: { 'Content-Type': 'application/arc+json' }, body };

  it('POSTs the exact body with --data-raw and the headers, one option per line', () => {
    const command = curlCommand(request);
    expect(command).toBe(
      [
        'curl -sS',
        'http://127.0.0.1:8000/arc',
        "-H 'Content-Type: application/arc+json'",
        `--data-raw '${body.replace(/'/g, `'\\''`)}'`,
      ].join(' \\\n  '),
    );
    expect(shellWords(command)).toEqual(['curl', '-sS', request.url, '-H', 'Content-Type: application/arc+json', '--data-raw', body]);
  });

  it('adds -N for a stream', () => {
    expect(curlCommand({ ...request, stream: true }).startsWith('curl -sS -N \\\n')).toBe(true);
  });

  it('sends the token inline for the clipboard, as $ARC_TOKEN for display, and no other Authorization header', () => {
    const withAuth = { ...request, headers: { ...request.headers, Authorization: 'Bearer old' } };
    const inline = curlCommand(withAuth, { token: 'eyJ.a-b_c.d', tokenAs: 'inline' });
    expect(shellWords(inline)).toContain('Authorization: Bearer eyJ.a-b_c.d');
    expect(inline).not.toContain('old');
    const shown = curlCommand(withAuth, { token: 'eyJ.a-b_c.d', tokenAs: 'variable' });
    expect(shown).toContain('-H "Authorization: Bearer $ARC_TOKEN"');
    expect(shown).not.toContain('eyJ');
    expect(curlCommand(withAuth, { token: '' })).not.toContain('Authorization');
  });

  it('writes a GET without a body or -X', () => {
    expect(curlCommand({ method: 'GET', url: 'http://h/agent-info', headers: { Accept: 'application/json' } })).toBe(
      "curl -sS \\\n  http://h/agent-info \\\n  -H 'Accept: application/json'",
    );
  });
});
