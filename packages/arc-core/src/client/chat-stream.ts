/**
 * The answer of a streamed chat.start / chat.message (ARC-PROTOCOL.md §8) as ArcClient hands it
 * out: an async iterable of the events, with what they told so far.
 *
 *   const stream = await client.chat.startStream('finance-agent', 'Summarise INV-12345');
 *   for await (const e of stream) if (e.type === 'stream') process.stdout.write(e.text);
 *   // stream.chatId: the chat to continue; stream.status: 'ACTIVE' from `done`; stream.text: the whole text
 *
 * Events: `stream` (a delta: `text` is its TextParts joined), `error` (either shape the SDK sends:
 * `{chatId, error: {code, message}}` or `{message, code}`; yielded, and kept as `stream.error`),
 * `done` (the status). Iteration ends after `done` or at the end of the response; other events
 * are skipped. The connection is cut on `break`, close(), the call's signal (the iterator then
 * rejects with its reason) and the call's timeout, which bounds each wait for an event (and how
 * long a stream may stay unread): ArcTimeoutError. A connection that breaks off mid-stream is an
 * ArcTransportError.
 */
import { ArcError } from '../errors/arc-error';
import { chatResultEvents, decodeChatStreamEvent, parseSseData } from '../protocol/sse';
import type { Message } from '../protocol/types';
import type { SseFrame } from '../util/sse-response';
import { ArcTimeoutError, ArcTransportError } from './errors';

export type { SseFrame } from '../util/sse-response';

export type ArcStreamEvent =
  | { type: 'stream'; chatId: string; message: Message; /** The TextParts joined: the delta. */ text: string; raw: SseFrame }
  | { type: 'error'; chatId?: string; error: { code: number; message: string; details?: unknown }; raw: SseFrame }
  | { type: 'done'; chatId: string; status: string; requestId?: string | number; raw: SseFrame };

export interface ArcChatStream extends AsyncIterable<ArcStreamEvent> {
  /** The chat's id, once an event (or the JSON result) named it. */
  readonly chatId: string | undefined;
  /** The status in `done` ('ACTIVE', 'CLOSED', 'ERROR'); 'ERROR' after an error event without `done`. */
  readonly status: string | undefined;
  /** The deltas read so far, concatenated: after the last event, the whole text. */
  readonly text: string;
  /** The error event, if one came. */
  readonly error: ArcStreamError | undefined;
  /** Stops the stream and cuts the connection (the server's handler sees the abort). Idempotent. */
  close(): void;
  /** Reads to the end; rejects with ArcStreamError if an error event came. */
  collect(): Promise<{ chatId: string | undefined; status: string | undefined; text: string }>;
}

/** An `error` event of a stream: the server failed after streaming began. */
export class ArcStreamError extends ArcError {
  readonly chatId: string | undefined;

  constructor(code: number, message: string, details: Record<string, unknown>, chatId?: string) {
    super(code, message, details);
    this.name = 'ArcStreamError';
    this.chatId = chatId;
  }
}

/** Where a stream's frames come from: an SSE response (util/sse-response.ts) or a list. */
export interface FrameSource {
  /** The next frame; undefined at the end. May reject (a connection that broke). */
  next(): Promise<SseFrame | undefined>;
  /**
   * Releases what carries the frames; `complete`: the server finished the stream (read its
   * response to the end, keeping the connection). Settles once released; never rejects.
   */
  close(complete: boolean): Promise<void> | void;
}

/** The call a stream belongs to. */
export interface StreamCall {
  readonly url: string;
  /** Longest wait for an event (and longest a stream may stay unread): the call's timeout. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

const STOPPED = Symbol('stopped');

export class ClientChatStream implements ArcChatStream {
  private ownChatId: string | undefined;
  private ownStatus: string | undefined = undefined;
  private ownText = '';
  private ownError: ArcStreamError | undefined = undefined;
  private ended = false;
  /** The server's `done` or `error` event was read. */
  private completed = false;
  /** Why the stream was closed under the reader (timeout, signal): thrown at the next read. */
  private failure: unknown = undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly onAbort: (() => void) | undefined;
  private iterator: AsyncGenerator<ArcStreamEvent, void, undefined> | undefined = undefined;
  private stop!: () => void;
  private readonly stopped = new Promise<typeof STOPPED>((resolve) => {
    this.stop = () => resolve(STOPPED);
  });
  private released: Promise<void> | void = undefined;
  /** A frame read ahead by chatIdKnown(), for the iterator to take first. */
  private ahead: Promise<SseFrame | undefined> | undefined = undefined;
  private readonly chatIdWaiters: Array<(chatId: string | undefined) => void> = [];

  constructor(
    private readonly source: FrameSource,
    private readonly call: StreamCall,
    chatId?: string,
  ) {
    this.ownChatId = chatId;
    this.timer = setTimeout(() => this.end(new ArcTimeoutError(call.url, call.timeoutMs)), call.timeoutMs);
    const { signal } = call;
    if (signal !== undefined) {
      this.onAbort = () => this.end(signal.reason ?? new Error('aborted'));
      if (signal.aborted) this.onAbort();
      else signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  get chatId(): string | undefined {
    return this.ownChatId;
  }

  get status(): string | undefined {
    return this.ownStatus;
  }

  get text(): string {
    return this.ownText;
  }

  get error(): ArcStreamError | undefined {
    return this.ownError;
  }

  close(): void {
    this.end(undefined);
  }

  /**
   * Resolves once the chatId is known, or with undefined when the stream ended without one
   * (threads.ts). Before the stream is read, reads its first frame ahead for it (the iterator
   * then starts with that frame).
   */
  chatIdKnown(): Promise<string | undefined> {
    if (this.ownChatId !== undefined || this.ended) return Promise.resolve(this.ownChatId);
    if (this.iterator === undefined && this.ahead === undefined) {
      const ahead = this.source.next();
      this.ahead = ahead;
      ahead.then(
        (frame) => {
          const chatId = frame === undefined ? undefined : decodeChatStreamEvent(frame.event, parseSseData(frame.data))?.chatId;
          if (this.ownChatId === undefined && chatId !== undefined) this.learnChatId(chatId);
        },
        () => undefined,
      );
    }
    return new Promise((resolve) => this.chatIdWaiters.push(resolve));
  }

  async collect(): Promise<{ chatId: string | undefined; status: string | undefined; text: string }> {
    for await (const e of this) void e;
    if (this.ownError !== undefined) throw this.ownError;
    return { chatId: this.ownChatId, status: this.ownStatus, text: this.ownText };
  }

  [Symbol.asyncIterator](): AsyncIterator<ArcStreamEvent> {
    this.iterator ??= this.run();
    return this.iterator;
  }

  private async *run(): AsyncGenerator<ArcStreamEvent, void, undefined> {
    try {
      while (!this.ended) {
        this.timer.refresh();
        let frame: SseFrame | undefined | typeof STOPPED;
        try {
          const next = this.ahead ?? this.source.next();
          this.ahead = undefined;
          frame = await Promise.race([next, this.stopped]);
        } catch (err) {
          if (this.ended) break;
          throw this.brokeOff(err);
        }
        if (frame === STOPPED || this.ended || frame === undefined) break;
        this.timer.refresh();
        const e = this.read(frame);
        if (e === undefined) continue;
        yield e;
        if (e.type === 'done') break;
      }
      if (this.failure !== undefined) throw this.failure;
    } finally {
      // Read to the end, `break`, a throw: the connection is released in every case (after `done`,
      // once the response ended, so that the next call can take the connection).
      this.end(undefined);
      await this.released;
    }
  }

  /** The event of a frame; undefined for one to skip. */
  private read(raw: SseFrame): ArcStreamEvent | undefined {
    const e = decodeChatStreamEvent(raw.event, parseSseData(raw.data));
    if (e === undefined) return undefined;
    if (this.ownChatId === undefined && e.chatId !== undefined) this.learnChatId(e.chatId);
    const chatId = e.chatId ?? this.ownChatId;
    switch (e.type) {
      case 'malformed':
        throw this.brokeOff(new Error(e.reason));
      case 'stream':
        this.ownText += e.text;
        return { type: 'stream', chatId: chatId ?? '', message: e.message, text: e.text, raw };
      case 'error':
        this.ownError = new ArcStreamError(e.code, e.message, e.details, chatId);
        this.ownStatus = 'ERROR';
        this.completed = true;
        return {
          type: 'error',
          ...(e.chatId !== undefined ? { chatId: e.chatId } : {}),
          error: { code: e.code, message: e.message, ...(e.rawDetails !== undefined ? { details: e.rawDetails } : {}) },
          raw,
        };
      case 'done':
        this.completed = true;
        if (e.status !== undefined) this.ownStatus = e.status;
        return {
          type: 'done',
          chatId: chatId ?? '',
          status: this.ownStatus ?? '',
          ...(e.requestId !== undefined ? { requestId: e.requestId } : {}),
          raw,
        };
    }
  }

  private brokeOff(err: unknown): ArcTransportError {
    const reason = err instanceof Error ? err.message : String(err);
    return new ArcTransportError(`The stream from ${this.call.url} broke off: ${reason}`, this.call.url, 200, { cause: err });
  }

  private learnChatId(chatId: string): void {
    this.ownChatId = chatId;
    for (const resolve of this.chatIdWaiters.splice(0)) resolve(chatId);
  }

  /** Ends the stream once: the timer, the signal listener and the connection go; `failure` is thrown at the next read. */
  private end(failure: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = failure;
    clearTimeout(this.timer);
    if (this.onAbort !== undefined) this.call.signal!.removeEventListener('abort', this.onAbort);
    this.stop();
    for (const resolve of this.chatIdWaiters.splice(0)) resolve(this.ownChatId);
    try {
      this.released = this.source.close(this.completed);
    } catch {
      /* a source that cannot close has nothing left to release */
    }
  }
}

/** Frames given up front (a JSON result answered to a streamed call). */
class ListSource implements FrameSource {
  private index = 0;

  constructor(private readonly frames: readonly SseFrame[]) {}

  next(): Promise<SseFrame | undefined> {
    return Promise.resolve(this.frames[this.index++]);
  }

  close(): void {
    this.index = this.frames.length;
  }
}

/**
 * The stream of a JSON result answered to a streamed call (§8 allows it): its message as one
 * `stream` event, then `done` with the chat's status. A result that is not a chat is an
 * ArcTransportError.
 */
export function resultStream(result: unknown, requestId: string | number, call: StreamCall): ClientChatStream {
  const chat = chatResultEvents(result, requestId);
  if (chat === undefined) {
    throw new ArcTransportError(`ARC request to ${call.url} got a result that is not a chat to a streamed call`, call.url, 200);
  }
  const frames = chat.events.map((e): SseFrame => ({ event: e.event, data: JSON.stringify(e.data) }));
  return new ClientChatStream(new ListSource(frames), call, chat.chatId);
}
