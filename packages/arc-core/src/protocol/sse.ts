/**
 * Server-Sent Events framing as the Python client parses it (ARC-PROTOCOL.md §8): LF only, one
 * `event:` line, one compact single-line `data:` line, a blank line. And the reading side: what
 * a chat stream's events say, for every client of ours (ArcClient, streamed agent calls).
 */
import { ArcErrorCode } from '../errors/codes';
import type { Message } from './types';

/** The events a chat stream is written with (§8): `stream` (a delta), `done`, `error`. */
export type SseEventName = 'stream' | 'done' | 'error';

export interface SseEvent {
  event: SseEventName;
  data: Record<string, unknown>;
}

/** Characters JSON.stringify leaves raw that Python's str.splitlines() treats as line breaks. */
const UNICODE_LINE_BREAKS = /[\u0085\u2028\u2029]/g;

export function formatSseEvent(e: SseEvent): string {
  // JSON.stringify escapes CR/LF and the other control characters; NEL, LS and PS (which can only
  // occur inside JSON strings) are escaped too, so `data:` stays one line for every line splitter.
  const data = JSON.stringify(e.data).replace(UNICODE_LINE_BREAKS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `event: ${e.event}\ndata: ${data}\n\n`;
}

// ---- Reading a chat stream (ArcClient's streams and streamed agent calls over HTTP). ----

/** What one event of a chat stream says, whichever shape the server used (§8). */
export type ChatStreamEvent =
  | { type: 'stream'; chatId: string | undefined; message: Message; /** its TextParts joined: the delta */ text: string }
  | {
      type: 'error';
      chatId: string | undefined;
      code: number;
      message: string;
      /** `details` when it is an object, else {} */
      details: Record<string, unknown>;
      /** `details` as sent */
      rawDetails: unknown;
    }
  | { type: 'done'; chatId: string | undefined; status: string | undefined; requestId: string | number | undefined }
  /** A `stream` event without a message: the stream cannot be read on. */
  | { type: 'malformed'; chatId: string | undefined; reason: string };

/** An event's `data`: its JSON, else the text as it is (the Python client keeps it so too). */
export function parseSseData(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * Reads one event of a chat stream (`data` parsed by parseSseData); undefined for an event to
 * skip (any other name). `error` comes in two shapes: `{chatId, error: {code, message, details}}`
 * (the chat stream) or `{message, code}` (the SDK's lower-level SSE wrapper); without a code it
 * is -43005.
 */
export function decodeChatStreamEvent(event: string, data: unknown): ChatStreamEvent | undefined {
  const fields = isRecord(data) ? data : undefined;
  const chatId = typeof fields?.chatId === 'string' ? fields.chatId : undefined;
  switch (event) {
    case 'stream': {
      const message = fields?.message;
      if (!isRecord(message) || !Array.isArray(message.parts))
        return { type: 'malformed', chatId, reason: 'a stream event without a message' };
      return { type: 'stream', chatId, message: message as unknown as Message, text: deltaText(message as unknown as Message) };
    }
    case 'error': {
      const error = isRecord(fields?.error) ? fields.error : fields;
      const code = Number.isInteger(error?.code) ? (error!.code as number) : ArcErrorCode.InvalidChatMessage;
      const message = typeof error?.message === 'string' ? error.message : typeof data === 'string' && data !== '' ? data : 'Stream error';
      const details = isRecord(error?.details) ? error.details : {};
      return { type: 'error', chatId, code, message, details, rawDetails: error?.details };
    }
    case 'done': {
      const requestId = fields?.requestId;
      return {
        type: 'done',
        chatId,
        status: typeof fields?.status === 'string' ? fields.status : undefined,
        requestId: typeof requestId === 'string' || typeof requestId === 'number' ? requestId : undefined,
      };
    }
    default:
      return undefined;
  }
}

/**
 * The events that stand for a JSON chat result answered to a streamed call (§8 allows it): its
 * message as one `stream` event, then `done` with the chat's status (`requestId` in it when
 * given). Undefined when the result is not a chat.
 */
export function chatResultEvents(result: unknown, requestId?: string | number): { chatId: string; events: SseEvent[] } | undefined {
  const chat = isRecord(result) && isRecord(result.chat) ? result.chat : undefined;
  if (chat === undefined || typeof chat.chatId !== 'string') return undefined;
  const chatId = chat.chatId;
  const events: SseEvent[] = [];
  if (isRecord(chat.message) && Array.isArray(chat.message.parts))
    events.push({ event: 'stream', data: { chatId, message: chat.message } });
  const status = typeof chat.status === 'string' ? chat.status : 'ACTIVE';
  events.push({ event: 'done', data: { chatId, status, done: true, ...(requestId !== undefined ? { requestId } : {}) } });
  return { chatId, events };
}

/** The text of a stream event's message: its TextParts joined as they are (events carry deltas). */
function deltaText(message: Message): string {
  let out = '';
  for (const part of message.parts) if (part.type === 'TextPart' && typeof part.content === 'string') out += part.content;
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
