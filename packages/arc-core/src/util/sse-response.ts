/**
 * Reads the frames of a text/event-stream HTTP response (node:http), as the reader asks for them.
 * Shared by the streamed agent calls (calls/http-stream.ts) and ArcClient's streams
 * (client/chat-stream.ts), which give the frames their meaning.
 *
 * SSE is parsed by eventsource-parser: `event:` / `data:` with or without a space, LF, CR or CRLF
 * line ends, several `data:` lines joined, comments and unknown fields skipped; a frame without an
 * `event:` line is named `message`. An event (or an unterminated line) larger than `maxEventChars`
 * fails the read with SseEventTooLargeError.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import { createParser, type EventSourceParser } from 'eventsource-parser';

/** One SSE event as it came: its name and its data, unparsed. */
export interface SseFrame {
  event: string;
  data: string;
}

/** After the sender finished (its last event was read), how long the rest of the response may take before the connection is cut. */
const DRAIN_MS = 1000;

/** An event larger than the reader takes. */
export class SseEventTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`an event larger than ${limit} characters`);
    this.name = 'SseEventTooLargeError';
  }
}

export class SseResponseReader {
  private readonly queue: SseFrame[] = [];
  private readonly chunks: AsyncIterator<string>;
  private readonly parser: EventSourceParser;
  private failure: SseEventTooLargeError | undefined = undefined;
  private released: Promise<void> | undefined = undefined;

  constructor(
    private readonly req: ClientRequest,
    private readonly res: IncomingMessage,
    maxEventChars: number,
  ) {
    res.setEncoding('utf8');
    // The iterator listens only from its first read; an error before that (a reset) must not go
    // unhandled. The iterator still throws it (the stream keeps it as `errored`).
    res.on('error', () => undefined);
    this.chunks = res[Symbol.asyncIterator]() as AsyncIterator<string>;
    this.parser = createParser({
      maxBufferSize: maxEventChars,
      onEvent: (e) => {
        // The parser bounds what it buffers; an event that came whole in one chunk is checked here.
        if (e.data.length > maxEventChars) this.failure ??= new SseEventTooLargeError(maxEventChars);
        else this.queue.push({ event: e.event ?? 'message', data: e.data });
      },
      onError: (err) => {
        // Unknown fields are ignored (as the Python client does); only an oversized event fails the read.
        if (err.type === 'max-buffer-size-exceeded') this.failure = new SseEventTooLargeError(maxEventChars);
      },
    });
  }

  /** The next frame; undefined at the end of the response. Rejects if the connection broke or an event was too large. */
  async next(): Promise<SseFrame | undefined> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      const frame = this.queue.shift();
      if (frame !== undefined) return frame;
      const chunk = await this.chunks.next();
      if (chunk.done) return undefined;
      this.parser.feed(chunk.value);
    }
  }

  /**
   * Releases the response; resolves once it is released. Idempotent. `complete`: the sender
   * finished its stream, so read on to the end of its response (at most DRAIN_MS) and let the
   * connection go back to its agent's pool; else cut the connection at once (the server sees the
   * request aborted).
   */
  close(complete: boolean): Promise<void> {
    if (this.released !== undefined) return this.released;
    if (!complete || this.res.destroyed) {
      this.destroy();
      this.released = Promise.resolve();
      return this.released;
    }
    const timer = setTimeout(() => this.destroy(), DRAIN_MS);
    timer.unref();
    this.released = (async () => {
      try {
        while (!(await this.chunks.next()).done);
      } catch {
        /* destroyed, or broke: either way it is released */
      } finally {
        clearTimeout(timer);
      }
    })();
    return this.released;
  }

  private destroy(): void {
    this.res.destroy();
    this.req.destroy();
  }
}
