/**
 * Streamed agent calls (`ctx.agents.chat.startStream` / `messageStream`): the target's SSE reply
 * (ARC-PROTOCOL.md §8) as an async iterable of chunks, whatever carried it (an in-process
 * StreamReply, an HTTP text/event-stream response, or a JSON result where a stream was asked).
 *
 *   const stream = await ctx.agents.chat.startStream('writer-agent', 'Draft a memo', { signal: ctx.signal });
 *   for await (const chunk of stream) yield chunk.text;   // relay the deltas
 *   // stream.chatId: the chat to continue; stream.status: 'ACTIVE' from the `done` event
 *
 * Events: `stream` → a chunk; `error` (either shape) → the iterator throws AgentCallError with its
 * code (default -43005); `done` → the end (status set); EOF without `done` → a quiet end; other
 * events are skipped. The stream is closed (the HTTP response, or the in-process StreamReply
 * and its concurrency slot) on every way out: read to the end, `break`, `cancel()`, the call's
 * signal, an error, or the call timeout — the same timeout bounds each wait for an event, and
 * a stream left unread for that long is closed too.
 */
import { ArcErrorCode } from '../errors/codes';
import { chatResultEvents, decodeChatStreamEvent } from '../protocol/sse';
import type { Message } from '../protocol/types';
import { AgentCallError } from './errors';

export interface AgentStreamChunk {
  chatId: string;
  message: Message;
  /** the text of its TextParts, joined */
  text: string;
}

export interface AgentChatStream extends AsyncIterable<AgentStreamChunk> {
  /** The target's chatId once known (the first event, or the JSON result); undefined before. */
  readonly chatId: string | undefined;
  /** The status in the target's `done` event (e.g. 'ACTIVE', 'CLOSED'), once the stream ended. */
  readonly status: string | undefined;
  /** Stops the stream (closes the HTTP response / cancels the in-process StreamReply, freeing its slot). Idempotent. */
  cancel(): void;
}

/** One SSE event as a transport read it: its name and its data (parsed JSON, else the text). */
export interface StreamEvent {
  readonly event: string;
  readonly data: unknown;
}

/** Where a stream's events come from (transport.ts, http-stream.ts). */
export interface StreamEventSource {
  /** The next event; done at EOF. May reject (a connection that broke). */
  next(): Promise<IteratorResult<StreamEvent, unknown>>;
  /**
   * Releases what carries the events. Idempotent; a pending `next` may then settle either way.
   * `complete`: the target finished the stream (its `done` or `error` event was read), so let it
   * end the exchange itself (no cancel, the connection back to the pool); else cut it off.
   */
  close(complete: boolean): void;
}

/** The call a stream belongs to: for its errors, its timeout and its signal. */
export interface StreamCall {
  readonly target: string;
  readonly method: string;
  /** Longest wait for an event (and longest a stream may stay unread). */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

const STOPPED = Symbol('stopped');

/** An AgentChatStream over a StreamEventSource. */
export class EventChatStream implements AgentChatStream {
  private ownChatId: string | undefined;
  private ownStatus: string | undefined = undefined;
  private ended = false;
  /** The target's `done` or `error` event was read. */
  private completed = false;
  /** Why the stream was closed under the reader (timeout, signal): thrown at the next read. */
  private failure: AgentCallError | undefined = undefined;
  private waiting = false;
  private readonly timer: NodeJS.Timeout;
  private readonly onAbort: (() => void) | undefined;
  private iterator: AsyncGenerator<AgentStreamChunk, void, undefined> | undefined = undefined;
  private stop!: () => void;
  private readonly stopped = new Promise<typeof STOPPED>((resolve) => {
    this.stop = () => resolve(STOPPED);
  });

  constructor(
    private readonly source: StreamEventSource,
    private readonly call: StreamCall,
    chatId?: string,
  ) {
    this.ownChatId = chatId;
    const { target, method, timeoutMs, signal } = call;
    this.timer = setTimeout(() => {
      const message = this.waiting
        ? `Agent ${target} sent no stream event for ${timeoutMs} ms`
        : `The stream from agent ${target} was not read for ${timeoutMs} ms and was closed`;
      this.close(
        new AgentCallError(ArcErrorCode.AgentTimeout, message, target, method, {
          details: { agentId: target, timeoutMs },
          retryable: false,
        }),
      );
    }, timeoutMs);
    if (signal !== undefined) {
      this.onAbort = () => this.close(AgentCallError.from(signal.reason, target, method, timeoutMs));
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

  cancel(): void {
    this.close(undefined);
  }

  [Symbol.asyncIterator](): AsyncIterator<AgentStreamChunk> {
    this.iterator ??= this.run();
    return this.iterator;
  }

  private async *run(): AsyncGenerator<AgentStreamChunk, void, undefined> {
    try {
      for (;;) {
        if (this.ended) break;
        this.waiting = true;
        this.timer.refresh();
        let next: IteratorResult<StreamEvent, unknown> | typeof STOPPED;
        try {
          next = await Promise.race([this.source.next(), this.stopped]);
        } catch (err) {
          if (this.ended) break;
          if (err instanceof AgentCallError) throw err;
          const reason = err instanceof Error ? err.message : String(err);
          throw new AgentCallError(
            ArcErrorCode.AgentUnreachable,
            `The stream from agent ${this.call.target} broke off: ${reason}`,
            this.call.target,
            this.call.method,
            {
              details: { agentId: this.call.target },
              retryable: false,
              cause: err,
            },
          );
        } finally {
          this.waiting = false;
        }
        if (next === STOPPED || this.ended || next.done) break;
        this.timer.refresh();
        const chunk = this.read(next.value);
        if (chunk === STOPPED) break;
        if (chunk !== undefined) yield chunk;
      }
      if (this.failure !== undefined) throw this.failure;
    } finally {
      // Read to the end, `break`, a throw: the source is released in every case.
      this.close(undefined);
    }
  }

  /** A chunk for a `stream` event, STOPPED at `done`, undefined for an event to skip; throws for `error`. */
  private read(raw: StreamEvent): AgentStreamChunk | typeof STOPPED | undefined {
    const e = decodeChatStreamEvent(raw.event, raw.data);
    if (e === undefined) return undefined;
    if (this.ownChatId === undefined && e.chatId !== undefined) this.ownChatId = e.chatId;
    switch (e.type) {
      case 'malformed':
        throw this.streamError(ArcErrorCode.InvalidChatMessage, e.reason);
      case 'stream':
        return { chatId: e.chatId ?? this.ownChatId ?? '', message: e.message, text: e.text };
      case 'done':
        this.completed = true;
        this.ownStatus = e.status;
        return STOPPED;
      case 'error':
        this.ownStatus = 'ERROR';
        this.completed = true;
        throw new AgentCallError(e.code, e.message, this.call.target, this.call.method, { details: e.details, retryable: false });
    }
  }

  private streamError(code: number, what: string): AgentCallError {
    const { target, method } = this.call;
    return new AgentCallError(code, `Stream error: agent ${target} sent ${what}`, target, method, {
      details: { agentId: target },
      retryable: false,
    });
  }

  /** Ends the stream once: the timer, the signal listener and the source go; `failure` is thrown at the next read. */
  private close(failure: AgentCallError | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = failure;
    clearTimeout(this.timer);
    if (this.onAbort !== undefined) this.call.signal!.removeEventListener('abort', this.onAbort);
    this.stop();
    try {
      this.source.close(this.completed);
    } catch {
      /* a source that cannot close has nothing left to release */
    }
  }
}

/** A source of events given up front (a JSON result answered to a streamed call). */
class ListSource implements StreamEventSource {
  private index = 0;

  constructor(private readonly events: readonly StreamEvent[]) {}

  next(): Promise<IteratorResult<StreamEvent, unknown>> {
    const e = this.events[this.index++];
    return Promise.resolve(e === undefined ? { done: true, value: undefined } : { done: false, value: e });
  }

  close(): void {
    this.index = this.events.length;
  }
}

/**
 * The stream of a JSON result answered to a streamed call (allowed by §8): its message as the
 * one chunk, then the end with the chat's status. A result that is not a chat is -32603.
 */
export function resultStream(result: unknown, call: StreamCall): EventChatStream {
  const chat = chatResultEvents(result);
  if (chat === undefined) {
    throw new AgentCallError(
      ArcErrorCode.InternalError,
      `Agent ${call.target} answered a streamed ${call.method} with a result that is not a chat`,
      call.target,
      call.method,
      { details: { agentId: call.target }, retryable: false },
    );
  }
  return new EventChatStream(new ListSource(chat.events), call, chat.chatId);
}
