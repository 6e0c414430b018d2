/**
 * Reading an ARC SSE stream (ARC-PROTOCOL.md §8) in the browser: bytes from fetch's
 * ReadableStream, decoded as UTF-8 across chunk boundaries, framed by eventsource-parser, each
 * frame handed on as it arrives; and what an ARC frame means (a text delta, the end, an error).
 * Pure apart from the stream it is given, so it is unit-tested (test/sse.test.ts).
 */
import { createParser } from 'eventsource-parser';

export interface SseFrame {
  /** The `event:` name (`message` when the frame has none). */
  event: string;
  /** The `data:` text as received. */
  data: string;
  /** `data` parsed as JSON, or undefined when it is not JSON. */
  json?: unknown;
}

/** Feeds decoded text to a parser that calls `onFrame` for every complete frame (comments are skipped). */
export function createFrameReader(onFrame: (frame: SseFrame) => void): { feed(text: string): void } {
  const parser = createParser({
    onEvent(message) {
      let json: unknown;
      try {
        json = JSON.parse(message.data);
      } catch {
        json = undefined;
      }
      onFrame({ event: message.event ?? 'message', data: message.data, json });
    },
  });
  return { feed: (text) => parser.feed(text) };
}

/** Reads `body` to its end (or until `signal` aborts), calling `onFrame` for each frame as it arrives. */
export async function readSse(body: ReadableStream<Uint8Array>, onFrame: (frame: SseFrame) => void, signal?: AbortSignal): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const frames = createFrameReader(onFrame);
  const cancel = (): void => void reader.cancel().catch(() => undefined);
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      frames.feed(decoder.decode(value, { stream: true }));
    }
    frames.feed(decoder.decode());
  } finally {
    signal?.removeEventListener('abort', cancel);
    reader.releaseLock();
  }
}

/** What one ARC frame says. */
export type ArcStreamEvent =
  | { kind: 'delta'; chatId?: string; text: string }
  | { kind: 'done'; chatId?: string; status?: string }
  | { kind: 'error'; chatId?: string; code?: number; message: string }
  | { kind: 'other'; event: string };

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The text of a message's parts: TextPart contents joined; other parts as JSON. */
export function partsText(message: unknown): string {
  if (!isObject(message) || !Array.isArray(message.parts)) return '';
  return message.parts
    .map((p: unknown) => {
      if (!isObject(p)) return '';
      const type = str(p.type)?.toLowerCase();
      if ((type === 'textpart' || type === 'text') && typeof p.content === 'string') return p.content;
      return JSON.stringify(p.content ?? p);
    })
    .join('');
}

/**
 * An ARC frame's meaning: `stream` carries a delta (new text only), `done` ends the stream,
 * `error` comes in two shapes ({chatId, error: {code, message}} from this server and the SDK's
 * chat stream, {message, code} from the SDK's lower-level wrapper).
 */
export function arcStreamEvent(frame: SseFrame): ArcStreamEvent {
  const data = isObject(frame.json) ? frame.json : {};
  const chatId = str(data.chatId);
  switch (frame.event) {
    case 'stream':
      return { kind: 'delta', chatId, text: partsText(data.message) };
    case 'done':
      return { kind: 'done', chatId, status: str(data.status) };
    case 'error': {
      const err = isObject(data.error) ? data.error : data;
      const code = typeof err.code === 'number' ? err.code : undefined;
      return { kind: 'error', chatId, code, message: str(err.message) ?? frame.data };
    }
    default:
      return { kind: 'other', event: frame.event };
  }
}
