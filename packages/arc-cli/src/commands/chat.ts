/**
 * `arc chat <url> <agent> [message]`: one message (the chat is ended after the reply), or an
 * interactive session reading lines from stdin — a terminal or a pipe — in one chat
 * (client.threads: a chat the agent forgot is started again). Replies are streamed as they arrive
 * unless --no-stream. `/end` (or `/exit`, `/quit`), end of input and Ctrl-C end the session; each
 * sends chat.end and exits 0, or 1 if a message got an ARC error on the way. No answer at all
 * (connection refused, timeout) ends it with 3.
 *
 * --json: one line per reply `{"type":"reply","agent",…chat}`, or per stream event
 * `{"type":"stream"|"error"|"done",…}`, and `{"type":"end","chatId"}` when the chat is ended.
 */
import { createInterface, type Interface } from 'node:readline';
import { ArcResponseError, ArcStreamError } from '@arc/core/client';
import type { Command } from 'commander';
import { messageText } from '../format';
import { withClientOptions, withSession, type ClientFlags, type Session } from '../options';
import { EXIT } from '../output';
import type { CommandContext } from '../program';

interface ChatFlags extends ClientFlags {
  stream: boolean;
}

const END_COMMANDS = new Set(['/end', '/exit', '/quit']);

/** One chat with one agent: sends, prints, interrupts, ends. */
class ChatSession {
  /** A message got an ARC error (the exit code is then 1). */
  failed = false;
  interrupted = false;
  private inFlight: AbortController | undefined;
  private ending: AbortController | undefined;

  constructor(
    private readonly s: Session,
    private readonly agent: string,
    private readonly stream: boolean,
  ) {}

  /** Sends `text` and prints the reply; ARC errors are reported (not thrown), no answer is thrown. */
  async send(text: string): Promise<void> {
    const before = this.s.client.threads.chatId(this.agent);
    const ac = new AbortController();
    this.inFlight = ac;
    const options = { ...this.s.call, signal: ac.signal };
    try {
      if (this.stream) await this.streamReply(text, options);
      else await this.wholeReply(text, options);
    } catch (err) {
      if (this.interrupted) return;
      if (!(err instanceof ArcResponseError || err instanceof ArcStreamError)) throw err;
      this.failed = true;
      this.s.out.fail(err);
    } finally {
      this.inFlight = undefined;
    }
    const after = this.s.client.threads.chatId(this.agent);
    if (before !== undefined && after !== undefined && after !== before && !this.s.out.json) {
      this.s.out.note(this.s.out.e.dim(`(chat ${before} was gone; continued in a new chat ${after})`));
    }
  }

  private prefix(): string {
    return this.s.out.io.stdout.isTTY === true ? this.s.out.c.cyan(`${this.agent}> `) : '';
  }

  private async wholeReply(text: string, options: Session['call']): Promise<void> {
    const chat = await this.s.client.threads.send(this.agent, text, options);
    if (this.s.out.json) this.s.out.doc({ type: 'reply', agent: this.agent, ...chat });
    else this.s.out.line(`${this.prefix()}${chat.message ? messageText(chat.message) : ''}`);
  }

  private async streamReply(text: string, options: Session['call']): Promise<void> {
    const { out } = this.s;
    const stream = await this.s.client.threads.sendStream(this.agent, text, options);
    let written = '';
    try {
      for await (const ev of stream) {
        out.trace(`< event: ${ev.raw.event}`);
        out.trace(`< data: ${ev.raw.data}`);
        if (out.json) {
          const { raw: _raw, ...doc } = ev;
          out.doc(doc);
        } else if (ev.type === 'stream' && ev.text !== '') {
          if (written === '') out.write(this.prefix());
          out.write(ev.text);
          written += ev.text;
        }
      }
    } finally {
      if (!out.json && (written !== '' || this.prefix() !== '') && !written.endsWith('\n')) out.write('\n');
    }
    if (stream.error !== undefined) {
      this.failed = true;
      out.note(`${out.e.red('arc:')} ${stream.error.code} ${stream.error.message} (in the stream)`);
    }
  }

  /** Ctrl-C: the reply in flight is dropped; a second one also gives up on the chat.end. */
  interrupt(): void {
    if (this.interrupted) {
      this.ending?.abort();
      return;
    }
    this.interrupted = true;
    this.inFlight?.abort();
  }

  /** Ends the chat, if one was started; resolves with its id. */
  async end(reason: string, announce: boolean): Promise<string | undefined> {
    const chatId = this.s.client.threads.chatId(this.agent);
    if (chatId === undefined) return undefined;
    this.ending = new AbortController();
    await this.s.client.threads.end(this.agent, reason, { ...this.s.call, signal: this.ending.signal });
    if (this.s.out.json) this.s.out.doc({ type: 'end', chatId });
    else if (announce) this.s.out.note(this.s.out.e.dim(`chat ${chatId} ended`));
    return chatId;
  }
}

async function interactive(s: Session, session: ChatSession, agent: string, url: string): Promise<void> {
  const { io } = s.out;
  // A person at a terminal: a prompt, line editing, Ctrl-C read as a key. Output to a file or a pipe, or JSON, gets no prompt.
  const tty = io.stdin.isTTY === true && io.stdout.isTTY === true && !s.out.json;
  const rl: Interface = createInterface({ input: io.stdin, ...(tty ? { output: io.stdout } : {}), terminal: tty });
  rl.setPrompt(s.out.c.bold('you> '));
  const onInterrupt = (): void => {
    session.interrupt();
    rl.close();
  };
  // A TTY in raw mode hands Ctrl-C to readline; otherwise it is a signal to the process.
  rl.on('SIGINT', onInterrupt);
  const stopSignals = io.onInterrupt(onInterrupt);
  if (tty) s.out.note(s.out.e.dim(`chatting with ${agent} at ${url}; /end, Ctrl-D or Ctrl-C to leave`));
  try {
    if (tty) rl.prompt();
    for await (const line of rl) {
      if (session.interrupted) break;
      const text = line.trim();
      if (END_COMMANDS.has(text)) break;
      if (text !== '') await session.send(text);
      if (session.interrupted) break;
      if (tty) rl.prompt();
    }
  } finally {
    rl.close();
    stopSignals();
  }
  if (tty) s.out.line(); // past the prompt left on the screen
  await session.end(session.interrupted ? 'interrupted' : 'ended by the user', true);
}

export function chatCommand(program: Command, { io, action }: CommandContext): void {
  withClientOptions(
    program
      .command('chat')
      .description('chat with an agent: one message, or an interactive session (lines from stdin)')
      .argument('<url>', 'the ARC endpoint, e.g. http://localhost:8000/arc')
      .argument('<agent>', 'the agent, e.g. finance-agent')
      .argument('[message]', 'send just this message, print the reply and end the chat')
      .option('--no-stream', 'wait for whole replies instead of streaming them'),
  )
    .addHelpText(
      'after',
      `
In a session each line is a message; /end, end of input (Ctrl-D) or Ctrl-C end the chat.

Examples:
  $ arc chat http://localhost:8000/arc finance-agent "I need help with an invoice"
  I can help with invoice inquiries. Please provide invoice number.

  $ arc chat http://localhost:8000/arc finance-agent
  you> I need help with an invoice
  finance-agent> I can help with invoice inquiries. Please provide invoice number.
  you> /end`,
    )
    .action(
      action((url: string, agent: string, message: string | undefined, flags: ChatFlags) =>
        withSession(url, flags, io, async (s) => {
          const session = new ChatSession(s, agent, flags.stream);
          if (message === undefined) {
            await interactive(s, session, agent, url);
          } else {
            const stop = io.onInterrupt(() => session.interrupt());
            try {
              await session.send(message);
              await session.end('one message', false);
            } finally {
              stop();
            }
          }
          return session.failed ? EXIT.arcError : EXIT.ok;
        }),
      ),
    );
}
