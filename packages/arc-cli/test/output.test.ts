import { ArcResponseError, ArcStreamError, ArcTimeoutError, ArcTransportError, ArcWaitTimeoutError } from '@arc/core/client';
import { CliFailure, EXIT, Output, UsageError, colourEnabled, colours, describeFailure } from '../src/output';
import { memoryIo } from './helpers';

describe('colours', () => {
  test('only on a TTY, never with NO_COLOR (non-empty) or TERM=dumb', () => {
    expect(colourEnabled({ isTTY: true }, {})).toBe(true);
    expect(colourEnabled({ isTTY: false }, {})).toBe(false);
    expect(colourEnabled({}, {})).toBe(false);
    expect(colourEnabled({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colourEnabled({ isTTY: true }, { NO_COLOR: '' })).toBe(true);
    expect(colourEnabled({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
  });
  test('SGR codes on, plain text off', () => {
    expect(colours(true).red('x')).toBe('\x1b[31mx\x1b[39m');
    expect(colours(true).bold('x')).toBe('\x1b[1mx\x1b[22m');
    expect(colours(false).red('x')).toBe('x');
  });
  test('Output colours each stream by its own TTY', () => {
    const io = memoryIo({ tty: true });
    expect(new Output(io, { json: false, verbose: false }).c.green('ok')).toBe('\x1b[32mok\x1b[39m');
    expect(new Output({ ...io, env: { NO_COLOR: 'yes' } }, { json: false, verbose: false }).c.green('ok')).toBe('ok');
  });
});

describe('exit codes and lines', () => {
  const envelope = {
    arc: '1.0' as const,
    id: 'r1',
    responseAgent: 'finance-agent',
    targetAgent: 'arc-cli',
    result: null,
    error: { code: -42001, message: 'Task not found: t', details: {} },
  };

  test.each([
    [new UsageError('--port must be a port'), EXIT.usage, '--port must be a port'],
    [new CliFailure('GET x failed: ECONNREFUSED', EXIT.network), EXIT.network, 'GET x failed: ECONNREFUSED'],
    [new CliFailure('Authentication required', EXIT.arcError, -44001), EXIT.arcError, '-44001 Authentication required'],
    [new ArcResponseError(envelope, 200), EXIT.arcError, '-42001 Task not found: t'],
    [new ArcResponseError(envelope, 404), EXIT.arcError, '-42001 Task not found: t (HTTP 404)'],
    [new ArcStreamError(-43005, 'Stream error: boom', {}, 'chat-1'), EXIT.arcError, '-43005 Stream error: boom (in the stream)'],
    [new ArcTimeoutError('http://h/arc', 300), EXIT.network, 'ARC request to http://h/arc timed out after 300 ms'],
    [
      new ArcTransportError('ARC request to http://h/arc failed: ECONNRESET', 'http://h/arc'),
      EXIT.network,
      'ARC request to http://h/arc failed: ECONNRESET',
    ],
    [
      new ArcWaitTimeoutError('a', 't', 1000, ['COMPLETED'], undefined),
      EXIT.network,
      'Task t at a did not reach COMPLETED within 1000 ms (no answer)',
    ],
    [new TypeError('x is not a function'), EXIT.arcError, 'unexpected error: x is not a function'],
    ['a string', EXIT.arcError, 'unexpected error: a string'],
  ])('%s → %d', (err, code, line) => {
    const f = describeFailure(err);
    expect(f.exitCode).toBe(code);
    expect(f.line).toBe(line);
  });

  test('fail(): one line on stderr, the server error as JSON with --json, the stack only with --verbose for a bug', () => {
    const io = memoryIo();
    expect(new Output(io, { json: true, verbose: false }).fail(new ArcResponseError(envelope, 200))).toBe(1);
    expect(JSON.parse(io.out())).toEqual(envelope);
    expect(io.err()).toBe('arc: -42001 Task not found: t\n');

    const quiet = memoryIo();
    new Output(quiet, { json: false, verbose: false }).fail(new Error('bug'));
    expect(quiet.err()).toBe('arc: unexpected error: bug\n');
    const verbose = memoryIo();
    new Output(verbose, { json: false, verbose: true }).fail(new Error('bug'));
    expect(verbose.err()).toMatch(/^arc: unexpected error: bug\nError: bug\n\s+at /);
  });
});
