/**
 * Turns what a chat handler returned (string, Message, ChatResult, async iterable of chunks)
 * into the agent message of a reply, or into SSE chunks; always with PascalCase part types.
 */
import { agentText, normalizeMessage } from '../protocol/parts';
import type { ChatResult, Message, Part } from '../protocol/types';
import type { ChatReply } from './agent';

export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

/** A reply that is not streamed, as a Message (undefined when the handler returned nothing). */
export function replyMessage(reply: Exclude<ChatReply, AsyncIterable<unknown>>): Message | undefined {
  if (reply === undefined || reply === null) return undefined;
  if (typeof reply === 'string') return agentText(reply);
  if ((reply as ChatResult).type === 'chat' && (reply as ChatResult).chat) {
    const msg = (reply as ChatResult).chat.message;
    return msg ? normalizeMessage({ ...msg, role: msg.role ?? 'agent' }) : undefined;
  }
  return normalizeMessage(reply as Message);
}

/** One streamed chunk as a part: text, or a part object the handler built. */
export function chunkPart(chunk: string | Part): Part {
  if (typeof chunk === 'string') return { type: 'TextPart', content: chunk };
  normalizeMessage({ parts: [chunk] });
  return chunk;
}

/** Gathers a streamed reply into one message (for callers that did not ask for a stream). */
export async function collectReply(chunks: AsyncIterable<string | Part>): Promise<Message> {
  let text = '';
  const parts: Part[] = [];
  for await (const chunk of chunks) {
    const part = chunkPart(chunk);
    if (part.type === 'TextPart') text += part.content;
    else parts.push(part);
  }
  return { role: 'agent', parts: text !== '' || parts.length === 0 ? [{ type: 'TextPart', content: text }, ...parts] : parts };
}
