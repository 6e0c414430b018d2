/**
 * What `arc` writes and how it ends: the streams it is given (CliIo, so tests can drive it),
 * colours (only on a TTY, never with NO_COLOR or TERM=dumb), JSON documents for `--json`, and
 * the exit code of each kind of failure:
 *
 *   0 success · 1 an ARC error (code and message on stderr) · 2 a usage error · 3 no answer
 *   (connection refused or reset, not an ARC server, a timeout)
 *
 * Expected failures are one line on stderr, never a stack trace. Anything else (a bug) is one
 * line too, "arc: unexpected error: …", exit 1; `--verbose` adds its stack.
 */
import type { Readable, Writable } from 'node:stream';
import { ArcResponseError, ArcTimeoutError, ArcTransportError, ArcWaitTimeoutError, ArcStreamError } from '@arc/core/client';

export const EXIT = Object.freeze({ ok: 0, arcError: 1, usage: 2, network: 3 });

/** The process around a run: its streams, environment and interrupt (Ctrl-C). */
export interface CliIo {
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean; columns?: number };
  stdin: Readable & { isTTY?: boolean };
  env: Readonly<Record<string, string | undefined>>;
  /** Calls `handler` on SIGINT/SIGTERM until the returned function is called. */
  onInterrupt(handler: () => void): () => void;
}

/** Bad input from the user: exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A failure already explained in `message`, ending with `exitCode` (an ARC code, if any). */
export class CliFailure extends Error {
  override name = 'CliFailure';
  constructor(
    message: string,
    readonly exitCode: number,
    readonly code?: number,
  ) {
    super(message);
  }
}

export type Paint = (text: string) => string;
export interface Colours {
  red: Paint;
  green: Paint;
  yellow: Paint;
  cyan: Paint;
  dim: Paint;
  bold: Paint;
}

const sgr =
  (on: number, off: number): Paint =>
  (text) =>
    `\x1b[${on}m${text}\x1b[${off}m`;
const plain: Paint = (text) => text;

export function colours(enabled: boolean): Colours {
  if (!enabled) return { red: plain, green: plain, yellow: plain, cyan: plain, dim: plain, bold: plain };
  return { red: sgr(31, 39), green: sgr(32, 39), yellow: sgr(33, 39), cyan: sgr(36, 39), dim: sgr(2, 22), bold: sgr(1, 22) };
}

/** Colours on this stream? A TTY, NO_COLOR unset or empty (no-color.org), TERM not "dumb". */
export function colourEnabled(stream: { isTTY?: boolean }, env: CliIo['env']): boolean {
  return stream.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb';
}

export interface OutputMode {
  json: boolean;
  verbose: boolean;
}

/** Printing for one run: lines for people, or JSON documents (one a line) with `--json`. */
export class Output {
  /** Colours for stdout and for stderr. */
  readonly c: Colours;
  readonly e: Colours;
  readonly json: boolean;
  readonly verbose: boolean;

  constructor(
    readonly io: CliIo,
    mode: OutputMode,
  ) {
    this.json = mode.json;
    this.verbose = mode.verbose;
    this.c = colours(colourEnabled(io.stdout, io.env));
    this.e = colours(colourEnabled(io.stderr, io.env));
  }

  /** A line on stdout. */
  line(text = ''): void {
    this.io.stdout.write(`${text}\n`);
  }

  /** Text on stdout as it is (stream deltas). */
  write(text: string): void {
    this.io.stdout.write(text);
  }

  /** One JSON document on one line of stdout. */
  doc(value: unknown): void {
    this.io.stdout.write(`${JSON.stringify(value)}\n`);
  }

  /** A line on stderr. */
  note(text: string): void {
    this.io.stderr.write(`${text}\n`);
  }

  /** A line on stderr with --verbose only. */
  trace(text: string): void {
    if (this.verbose) this.io.stderr.write(`${this.e.dim(text)}\n`);
  }

  /** Reports `err` on stderr (and as a JSON line with --json) and returns its exit code. */
  fail(err: unknown): number {
    const f = describeFailure(err);
    if (this.json && f.doc !== undefined) this.doc(f.doc);
    this.note(`${this.e.red('arc:')} ${f.line}`);
    if (f.exitCode === EXIT.arcError && f.unexpected && this.verbose && err instanceof Error && err.stack) this.note(err.stack);
    return f.exitCode;
  }
}

export interface Failure {
  exitCode: number;
  line: string;
  /** What --json prints for it (the error as the server sent it). */
  doc?: unknown;
  unexpected?: boolean;
}

/** The exit code and the one line that tell what went wrong. */
export function describeFailure(err: unknown): Failure {
  if (err instanceof UsageError) return { exitCode: EXIT.usage, line: err.message };
  if (err instanceof CliFailure) {
    const doc = err.code === undefined ? undefined : { error: { code: err.code, message: err.message } };
    return { exitCode: err.exitCode, line: err.code === undefined ? err.message : `${err.code} ${err.message}`, doc };
  }
  if (err instanceof ArcResponseError) {
    return { exitCode: EXIT.arcError, line: `${err.code} ${err.message}${statusNote(err.httpStatus)}`, doc: err.response };
  }
  if (err instanceof ArcStreamError) {
    return {
      exitCode: EXIT.arcError,
      line: `${err.code} ${err.message} (in the stream)`,
      doc: { type: 'error', chatId: err.chatId, error: { code: err.code, message: err.message, details: err.details } },
    };
  }
  if (err instanceof ArcTimeoutError || err instanceof ArcWaitTimeoutError || err instanceof ArcTransportError) {
    return { exitCode: EXIT.network, line: err.message + causeNote(err) };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { exitCode: EXIT.arcError, line: `unexpected error: ${message}`, unexpected: true };
}

function statusNote(status: number): string {
  return status === 200 ? '' : ` (HTTP ${status})`;
}

/** The transport's own words (ECONNREFUSED …) when the message does not hold them yet. */
function causeNote(err: Error): string {
  const cause = err.cause;
  if (!(cause instanceof Error) || err.message.includes(cause.message)) return '';
  return `: ${cause.message}`;
}
