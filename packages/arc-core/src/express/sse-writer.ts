/**
 * Writes an SSE event stream to a Node response, as ARC-PROTOCOL.md §8 frames it, honouring
 * back-pressure; if the caller goes away the event source is closed (its `finally` runs).
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

export async function writeSse(res: ServerResponse, events: AsyncIterable<SseEvent>): Promise<void> {
  const iterator = events[Symbol.asyncIterator]();
  let closed = false;
  const onClose = (): void => {
    closed = true;
    void iterator.return?.();
  };
  res.on('close', onClose);
  res.writeHead(200, SSE_HEADERS);
  res.flushHeaders();
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done || closed) break;
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
    res.off('close', onClose);
    if (!res.writableEnded && !res.destroyed) res.end();
  }
}
