/**
 * `arc chat` as a child process against the single server: one message (streamed and not),
 * a session driven through a stdin pipe (/end, end of input, SIGINT), --json and --verbose, ARC
 * errors inside a session, a timeout (3), and the terminal path through a pseudo-terminal
 * (`script` from util-linux): the prompt, Ctrl-C → chat.end sent, exit 0.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { ArcClient, ArcResponseError } from '@arc/core/client';
import { findBinary, testNeeding } from '@arc/devkit';
import { arc, arcProcess, ARC_BIN, jsonLines } from './support/cli';
import { startService, stopAll, type Proc } from './support/processes';

let single: Proc;
let url: string;
let client: ArcClient;
/** Accepts connections and never answers. */
let silent: Server;
const held = new Set<Socket>();
let silentUrl: string;

beforeAll(async () => {
  single = await startService('single-server');
  url = `${single.url}/arc`;
  client = new ArcClient(url, { requestAgent: 'cli-chat-e2e' });
  silent = createServer((socket) => held.add(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/arc`;
});

afterAll(async () => {
  client?.close();
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => silent?.close(resolve));
  await stopAll();
});

/** The chat was ended: the agent refuses another message in it with -43002. */
async function expectClosed(chatId: string): Promise<void> {
  const err = await client.chat.message('finance-agent', chatId, 'still there?').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ArcResponseError);
  expect((err as ArcResponseError).code).toBe(-43002);
}

describe('one message', () => {
  test('streamed (the default): the reply on stdout, exit 0; --json: the events, then the end of the chat', async () => {
    const [plain, json] = await Promise.all([
      arc(['chat', url, 'finance-agent', 'I need help with an invoice']),
      arc(['chat', url, 'finance-agent', 'Any news on my payment?', '--json']),
    ]);
    expect(plain).toMatchObject({ code: 0, stdout: 'I can help with invoice inquiries. Please provide invoice number.\n', stderr: '' });
    expect(json.code).toBe(0);
    const events = jsonLines(json.stdout);
    expect(events.map((e) => e.type)).toEqual(['stream', 'done', 'end']);
    const chatId = events[0].chatId;
    expect(events[0]).toMatchObject({ chatId, text: "I can assist with payment processing. What's your payment ID?" });
    expect(events[1]).toMatchObject({ chatId, status: 'ACTIVE' });
    expect(events[2]).toEqual({ type: 'end', chatId });
    await expectClosed(chatId);
  });

  test('--no-stream --json: one reply document', async () => {
    const r = await arc(['chat', url, 'support-agent', 'General support needed', '--no-stream', '--json']);
    expect(r.code).toBe(0);
    const [reply, end, ...rest] = jsonLines(r.stdout);
    expect(rest).toEqual([]);
    expect(reply).toMatchObject({ type: 'reply', agent: 'support-agent', status: 'ACTIVE', chatId: expect.stringMatching(/^chat-/) });
    expect(reply.message.parts[0].content).toBe("Hi! I'm here to help with general support. What do you need?");
    expect(end).toEqual({ type: 'end', chatId: reply.chatId });
  });

  test('--verbose: the envelopes, the SSE frames and the traceId on stderr', async () => {
    const r = await arc(['chat', url, 'finance-agent', 'hello', '--verbose', '--trace-id', 'trace-cli-chat']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('I handle invoices, payments, and budgets. How can I help?\n');
    const lines = r.stderr.split('\n');
    const start = JSON.parse(lines[1]!.slice(2));
    expect(lines[0]).toBe(`> POST ${url}`);
    expect(start).toMatchObject({
      method: 'chat.start',
      targetAgent: 'finance-agent',
      traceId: 'trace-cli-chat',
      params: { stream: true },
    });
    expect(lines[2]).toBe('< HTTP 200 text/event-stream');
    expect(lines[3]).toBe('< event: stream');
    expect(lines[4]).toMatch(/^< data: \{"chatId":"chat-[0-9a-f]+","message":/);
    expect(lines[5]).toBe('< event: done');
    expect(r.stderr).toMatch(/> \{[^\n]*"method":"chat\.end"[^\n]*"reason":"one message"/);
  });

  test('an unknown agent: code and message on stderr, exit 1', async () => {
    const r = await arc(['chat', url, 'nobody', 'hi']);
    expect(r).toMatchObject({ code: 1, stdout: '', stderr: 'arc: -41001 Agent not found: nobody (HTTP 404)\n' });
  });

  test('no answer within --timeout → 3, streamed or not', async () => {
    const [streamed, whole] = await Promise.all([
      arc(['chat', silentUrl, 'finance-agent', 'hi', '--timeout', '300ms']),
      arc(['chat', silentUrl, 'finance-agent', 'hi', '--timeout', '300ms', '--no-stream']),
    ]);
    for (const r of [streamed, whole]) {
      expect(r.code).toBe(3);
      expect(r.stderr).toBe(`arc: ARC request to ${silentUrl} timed out after 300 ms\n`);
    }
  });
});

describe('a session through a pipe', () => {
  test('each line a message in one chat; /end ends it (chat.end sent), what follows is not sent', async () => {
    const r = await arc(['chat', url, 'finance-agent', '--no-stream'], {
      input: 'I need help with an invoice\n\n  Invoice number INV-12345  \n/end\nnot sent\n',
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'I can help with invoice inquiries. Please provide invoice number.\nProcessing your request: Invoice number INV-12345\n',
    );
    const [, chatId] = r.stderr.match(/^chat (chat-[0-9a-f]+) ended\n$/)!;
    await expectClosed(chatId!);
  });

  test('streamed, ended by the end of input; --json lines', async () => {
    const r = await arc(['chat', url, 'hr-agent', '--json'], { input: 'Question about salary\nE-42\n' });
    expect(r.code).toBe(0);
    const events = jsonLines(r.stdout);
    expect(events.map((e) => e.type)).toEqual(['stream', 'done', 'stream', 'done', 'end']);
    expect(events.map((e) => e.text).filter(Boolean)).toEqual([
      'I can help with salary inquiries. Please provide your employee ID.',
      'Let me check that for you: E-42',
    ]);
    expect(new Set(events.map((e) => e.chatId)).size).toBe(1);
  });

  test('ARC errors are reported and the session goes on; the exit code is then 1', async () => {
    const r = await arc(['chat', url, 'nobody'], { input: 'one\ntwo\n' });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('arc: -41001 Agent not found: nobody (HTTP 404)\n'.repeat(2));
  });

  test('SIGINT ends the session cleanly: chat.end sent, exit 0', async () => {
    const p = arcProcess(['chat', url, 'finance-agent']);
    p.write('I need help with an invoice\n');
    await p.waitFor('stdout', /Please provide invoice number\.\n/);
    p.child.kill('SIGINT');
    const r = await p.exited;
    expect(r.code).toBe(0);
    const [, chatId] = r.stderr.match(/^chat (chat-[0-9a-f]+) ended\n$/)!;
    await expectClosed(chatId!);
  });
});

const scriptBinary = findBinary('script');
const withPty = testNeeding([
  { name: 'script', problem: () => (scriptBinary ? null : 'script (util-linux) is not installed: apt-get install -y bsdutils') },
]);

withPty('on a terminal (a pseudo-terminal from script): prompt, agent prefix, Ctrl-C → chat.end, exit 0', async () => {
  const command = [process.execPath, ARC_BIN, 'chat', url, 'finance-agent'].map((a) => `'${a}'`).join(' ');
  const p = arcProcess(['-qfec', command, '/dev/null'], { command: scriptBinary!, env: { NO_COLOR: '1', TERM: 'xterm' } });
  await p.waitFor('stdout', /you> /);
  p.write('I need help with an invoice\r');
  await p.waitFor('stdout', /finance-agent> I can help with invoice inquiries\. Please provide invoice number\.\r?\n/);
  await p.waitFor('stdout', /you> [^]*you> /); // the next prompt: the reply is complete
  p.write('\x03');
  const [, chatId] = await p.waitFor('stdout', /chat (chat-[0-9a-f]+) ended/);
  const r = await p.exited;
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('chatting with finance-agent at');
  expect(r.stdout).not.toContain('\x1b[3'); // NO_COLOR: no colours (SGR 3x), even on a terminal
  await expectClosed(chatId!);
});
