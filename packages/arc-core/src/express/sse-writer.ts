/**
 * Writes an SSE event stream to a Node response, as ARC-PROTOCOL.md §8 frames it, honouring
 * back-pressure. While a stream is quiet (an agent thinking), a comment line goes out every
 * `heartbeatMs` so that nginx's or a load balancer's idle timeout does not cut it; SSE readers,
 * the Python client included, ignore comment lines. If the caller goes away the stream is
 * cancelled at once (its slot freed, the handler's signal aborted).
 */
import type { ServerResponse } from 'node:http';
import { formatSseEvent, type SseEvent } from '../protocol/sse';

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
  Connection: 'keep-alive',
  // Tells nginx not to buffer this response even if the location has buffering on.
  'X-Accel-Buffering': 'no',
} as const;

/** The comment frame sent while a stream is quiet. */
export const SSE_HEARTBEAT = ': keep-alive\n\n';

export interface SseWriteOptions {
  /** Called once if the caller disconnects before the stream has ended (e.g. StreamReply.cancel). */
  onClose?: () => void;
  /** Quiet time after which a comment line is sent; 0 or undefined: none. */
  heartbeatMs?: number;
  /** Extra response headers. */
  headers?: Record<string, string>;
}

export async function writeSse(res: ServerResponse, events: AsyncIterable<SseEvent>, options: SseWriteOptions = {}): Promise<void> {
  const iterator = events[Symbol.asyncIterator]();
  let closed = false;
  const onClose = (): void => {
    closed = true;
    options.onClose?.();
    void iterator.return?.();
  };
  res.on('close', onClose);
  res.writeHead(200, options.headers ? { ...SSE_HEADERS, ...options.headers } : SSE_HEADERS);
  res.flushHeaders();
  let wrote = false;
  let heartbeat: NodeJS.Timeout | undefined;
  if (options.heartbeatMs) {
    heartbeat = setInterval(() => {
      // Only when nothing else went out in the last interval, and never into a full buffer.
      if (!wrote && !closed && !res.writableNeedDrain) res.write(SSE_HEARTBEAT);
      wrote = false;
    }, options.heartbeatMs);
    heartbeat.unref();
  }
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done || closed) break;
      wrote = true;
      if (!res.write(formatSseEvent(next.value))) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      }
    }
  } finally {
    clearInterval(heartbeat);
    res.off('close', onClose);
    if (!res.writableEnded && !res.destroyed) res.end();
  }
}
