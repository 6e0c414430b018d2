/** run() in-process: help on every command, usage errors (exit 2, one line, no stack), --version. */
import { run } from '../src/program';
import { memoryIo } from './helpers';

const COMMANDS = [
  ['agents'],
  ['chat'],
  ['call'],
  ['task'],
  ['task', 'create'],
  ['task', 'info'],
  ['task', 'send'],
  ['task', 'cancel'],
  ['task', 'watch'],
  ['webhook', 'listen'],
];

test.each(COMMANDS)('arc %s %s --help: usage and an example, exit 0', async (...command) => {
  const io = memoryIo();
  expect(await run([...command.filter(Boolean), '--help'], io)).toBe(0);
  expect(io.out()).toMatch(/^Usage: arc /);
  expect(io.out()).toMatch(/\nExamples?:\n {2}\$ arc /);
  expect(io.err()).toBe('');
});

test('the client commands list the common flags', async () => {
  for (const command of [['agents'], ['chat'], ['call'], ['task', 'create'], ['task', 'watch']]) {
    const io = memoryIo();
    await run([...command, '--help'], io);
    for (const flag of ['--token', '--request-agent', '--trace-id', '--timeout', '--json', '--verbose']) expect(io.out()).toContain(flag);
  }
});

test('arc --help, --version; arc alone is a usage error with the help on stderr', async () => {
  const help = memoryIo();
  expect(await run(['--help'], help)).toBe(0);
  expect(help.out()).toContain('Exit codes: 0 success, 1 ARC error, 2 usage error, 3 no answer');
  const version = memoryIo();
  expect(await run(['--version'], version)).toBe(0);
  expect(version.out()).toBe('0.1.0\n');
  const none = memoryIo();
  expect(await run([], none)).toBe(2);
  expect(none.err()).toMatch(/^Usage: arc /);
});

test.each([
  [['call', 'http://localhost:8000/arc', 'finance-agent'], "error: missing required argument 'method'"],
  [['chat', 'http://localhost:8000/arc', 'a', 'b', 'c'], "error: too many arguments for 'chat'"],
  [['agents', 'http://localhost:8000/arc', '--bogus'], "error: unknown option '--bogus'"],
  [['frobnicate'], "error: unknown command 'frobnicate'"],
  [['call', 'localhost:8000/arc', 'a', 'm'], 'arc: URL "localhost:8000/arc" must start with http:// or https://'],
  [['call', 'http://h/arc', 'a', 'm', '--params', '{"a":'], 'arc: --params is not valid JSON'],
  [['call', 'http://h/arc', 'a', 'm', '--params', '"text"'], 'arc: --params must be a JSON object'],
  [
    ['call', 'http://h/arc', 'a', 'chat.start', '--params', '{"stream":true}'],
    'arc: params.stream=true asks for an event stream: use `arc chat`',
  ],
  [['chat', 'http://h/arc', 'a', 'hi', '--timeout', 'soon'], 'arc: --timeout must be a duration'],
  [
    ['task', 'create', 'http://h/arc', 'a', 'm', '--priority', 'asap'],
    'arc: --priority must be one of LOW, NORMAL, HIGH, URGENT, not "asap"',
  ],
  [['task', 'create', 'http://h/arc', 'a', 'm', '--metadata', '[]'], 'arc: --metadata must be a JSON object'],
  [['task', 'send', 'http://h/arc', 'a', 't', 'm', '--watch', '--max-wait', 'x'], 'arc: --max-wait must be a duration'],
  [['task', 'watch', 'http://h/arc', 'a', 't', '--max-wait', '0'], 'arc: --max-wait must be a duration'],
  [['webhook', 'listen', '--port', '70000'], 'arc: --port must be a port number'],
])('%j → exit 2: %s', async (argv, message) => {
  const io = memoryIo();
  expect(await run(argv, io)).toBe(2);
  expect(io.err().startsWith(message)).toBe(true);
  expect(io.err()).not.toMatch(/\n\s+at /);
  expect(io.out()).toBe('');
});
