/**
 * Calls handlers: a value a handler returns synchronously is used as it is (no timer, no extra
 * promise: the common case for simple agents); a promise, and each chunk of a stream, gets the
 * handler timeout, after which the request's signal aborts and the call fails with -41006.
 */
import { ArcError } from '../errors/arc-error';
import { ArcErrorCode } from '../errors/codes';
import type { Message, Part } from '../protocol/types';
import type { ArcHandler, ChatReply, RegisteredHandler } from './agent';
import { collectReply, isAsyncIterable, replyMessage } from './replies';
import type { RequestState } from './request-state';

export class HandlerInvoker {
  constructor(readonly timeoutMs: number) {}

  /** Calls a handler (undefined when the method has none, e.g. the core's own chat.end). */
  invoke(handler: RegisteredHandler | undefined, params: Record<string, unknown>, ctx: RequestState): unknown {
    if (!handler) return undefined;
    let out: unknown;
    try {
      out = (handler.fn as ArcHandler)(params as never, ctx);
    } catch (err) {
      return Promise.reject(err);
    }
    return isThenable(out) ? this.timed(ctx, out) : out;
  }

  /** A chat handler's reply as one message (a streamed reply is gathered, under the timeout). */
  async chatMessage(
    handler: RegisteredHandler | undefined,
    params: Record<string, unknown>,
    ctx: RequestState,
  ): Promise<Message | undefined> {
    let reply = this.invoke(handler, params, ctx);
    if (isThenable(reply)) reply = await reply;
    if (isAsyncIterable(reply)) return this.timed(ctx, collectReply(reply as AsyncIterable<string | Part>));
    return replyMessage(reply as Exclude<ChatReply, AsyncIterable<unknown>>);
  }

  /**
   * Settles a promise under the handler timeout; on expiry the request's signal aborts. With
   * `stop`, settles as soon as that does too (a cancelled stream), and the timer goes with it.
   */
  timed<T>(ctx: RequestState, work: PromiseLike<T>): Promise<T>;
  timed<T, S>(ctx: RequestState, work: PromiseLike<T>, stop: Promise<S>): Promise<T | S>;
  timed<T, S>(ctx: RequestState, work: PromiseLike<T>, stop?: Promise<S>): Promise<T | S> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        ctx.abort();
        reject(
          new ArcError(ArcErrorCode.AgentTimeout, `Agent ${ctx.agentId} did not answer within ${this.timeoutMs} ms`, {
            agentId: ctx.agentId,
            timeoutMs: this.timeoutMs,
          }),
        );
      }, this.timeoutMs);
    });
    const racers: PromiseLike<T | S>[] = stop ? [work, timeout, stop] : [work, timeout];
    return Promise.race(racers).finally(() => clearTimeout(timer));
  }
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}
