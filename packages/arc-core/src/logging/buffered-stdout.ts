/**
 * A winston transport that gathers formatted log lines and writes them to a file descriptor
 * (stdout) once per turn of the event loop, instead of one write(2) per line. On Linux, writes
 * from process.stdout to a pipe or a file are synchronous, so per-line writes would sit on every
 * request's path; winston's stock Stream transport also schedules a setImmediate per line.
 * Lines are never dropped: the buffer is flushed past `maxBytes`, on the next turn of the loop,
 * and synchronously when the process exits.
 */
import { writeSync } from 'node:fs';
import TransportStream from 'winston-transport';

const MESSAGE = Symbol.for('message');

export class BufferedFdTransport extends TransportStream {
  private pending = '';
  private scheduled = false;
  private readonly fd: number;
  private readonly maxBytes: number;

  constructor(options: TransportStream.TransportStreamOptions & { fd?: number; maxBytes?: number } = {}) {
    super(options);
    this.fd = options.fd ?? 1;
    this.maxBytes = options.maxBytes ?? 64 * 1024;
    process.once('exit', () => this.flush());
  }

  override log(info: Record<string | symbol, unknown>, callback: () => void): void {
    this.pending += `${String(info[MESSAGE])}\n`;
    if (this.pending.length >= this.maxBytes) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    callback();
  }

  /** Writes everything buffered now. */
  flush(): void {
    this.scheduled = false;
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    try {
      writeSync(this.fd, text);
    } catch (err) {
      // EAGAIN on a non-blocking pipe: try again shortly. Anything else (a closed stdout) drops
      // the lines rather than crashing the service over a log write.
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
        this.pending = text + this.pending;
        if (!this.scheduled) {
          this.scheduled = true;
          setTimeout(() => this.flush(), 5);
        }
      }
    }
  }
}
