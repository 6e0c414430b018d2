/**
 * The SSE reply of a streamed chat.start / chat.message (ARC-PROTOCOL.md §8): `stream` events
 * for the handler's chunks, then `done`; a failure after the first byte becomes `error` + `done`.
 *
 * The exchange ends exactly once, on every path - read to the end, failed, timed out (each
 * chunk gets the handler timeout), or cancelled by the transport before or while it is read -
 * and ending it frees the agent's concurrency slot, aborts the handler's signal, and reports
 * the outcome. Cancelling does not wait for a busy handler: the slot is free at once.
 */
import type { ArcError } from '../errors/arc-error';
import { ArcErrorCode } from '../errors/codes';
import type { SseEvent } from '../protocol/sse';
import type { Part } from '../protocol/types';
import type { ChatReply } from './agent';
import type { HandlerInvoker } from './invoker';
import { chunkPart, isAsyncIterable, replyMessage } from './replies';
import type { RequestState, StreamReply } from './request-state';

export type StreamTransport = 'stream' | 'stream-aborted';

export interface ChatStreamOptions {
  ctx: RequestState;
  chatId: string;
  reply: ChatReply;
  invoker: HandlerInvoker;
  /** Turns anything a handler threw into the ArcError to report (logs unexpected ones). */
  asArcError: (err: unknown) => ArcError;
  /** Called once when the exchange ends, with the ARC error code (undefined: success). */
  onEnd: (code: number | undefined, transport: StreamTransport) => void;
}

const STOPPED: IteratorReturnResult<undefined> = { done: true, value: undefined };

export class ChatStream implements StreamReply {
  readonly kind = 'stream';
  readonly status = 200;
  readonly events: AsyncIterable<SseEvent>;
  private ended = false;
  private completed = false;
  private source: AsyncIterator<string | Part> | undefined = undefined;
  private stop!: () => void;
  /** Settles when the exchange ends, so a wait for a chunk that never comes is cut short. */
  private readonly stopped = new Promise<typeof STOPPED>((resolve) => {
    this.stop = () => resolve(STOPPED);
  });

  constructor(private readonly options: ChatStreamOptions) {
    this.events = { [Symbol.asyncIterator]: () => this.run() };
  }

  cancel(): void {
    if (this.ended) return;
    this.end(undefined, 'stream-aborted');
    // Ask a generator handler to stop (its finally runs); never let that fail the caller.
    const source = this.source;
    if (source?.return) {
      try {
        void Promise.resolve(source.return()).catch(() => undefined);
      } catch {
        /* an iterator whose return() throws has nothing more to release */
      }
    }
  }

  private async *run(): AsyncGenerator<SseEvent> {
    const { ctx, chatId, reply, invoker } = this.options;
    let code: number | undefined;
    try {
      if (isAsyncIterable(reply)) {
        const source = (reply as AsyncIterable<string | Part>)[Symbol.asyncIterator]();
        this.source = source;
        for (;;) {
          const next = await invoker.timed(ctx, source.next(), this.stopped);
          if (next.done || this.ended) break;
          yield { event: 'stream', data: { chatId, message: { role: 'agent', parts: [chunkPart(next.value)] } } };
        }
      } else {
        const message = replyMessage(reply as Exclude<ChatReply, AsyncIterable<unknown>>);
        if (message) yield { event: 'stream', data: { chatId, message } };
      }
      if (this.ended) return;
      this.completed = true;
      yield { event: 'done', data: this.doneData('ACTIVE') };
    } catch (err) {
      if (this.ended) return;
      const arc = this.options.asArcError(err);
      code = arc.code;
      this.completed = true;
      yield { event: 'error', data: { chatId, error: { code: ArcErrorCode.InvalidChatMessage, message: `Stream error: ${arc.message}` } } };
      yield { event: 'done', data: this.doneData('ERROR') };
    } finally {
      this.end(code, this.completed ? 'stream' : 'stream-aborted');
    }
  }

  private doneData(status: string): Record<string, unknown> {
    const d: Record<string, unknown> = { chatId: this.options.chatId, status, done: true };
    const id = this.options.ctx.requestId;
    if (id !== '' && id !== 0) d.requestId = id;
    return d;
  }

  private end(code: number | undefined, transport: StreamTransport): void {
    if (this.ended) return;
    this.ended = true;
    this.stop();
    this.options.ctx.abort();
    this.options.onEnd(code, transport);
  }
}
