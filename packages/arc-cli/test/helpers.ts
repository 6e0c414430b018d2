/** An in-memory CliIo for driving run() in-process: what was written, and the interrupt to fire. */
import { PassThrough, Readable } from 'node:stream';
import type { CliIo } from '../src/output';

export interface MemoryIo extends CliIo {
  out(): string;
  err(): string;
}

export function memoryIo(options: { stdin?: string; env?: Record<string, string>; tty?: boolean } = {}): MemoryIo {
  const collect = (): PassThrough & { text: string; isTTY?: boolean } => {
    const s = new PassThrough() as PassThrough & { text: string; isTTY?: boolean };
    s.text = '';
    s.setEncoding('utf8').on('data', (chunk: string) => (s.text += chunk));
    if (options.tty) s.isTTY = true;
    return s;
  };
  const stdout = collect();
  const stderr = collect();
  return {
    stdout,
    stderr,
    stdin: Readable.from(options.stdin === undefined ? [] : [options.stdin]),
    env: options.env ?? {},
    onInterrupt: () => () => undefined,
    out: () => stdout.text,
    err: () => stderr.text,
  };
}
