/**
 * Part-type normalisation (DECISIONS.md §3): lowercase `text|data|file|image|audio` are accepted
 * on input and turned into PascalCase; replies always leave in PascalCase.
 */
import { PART_TYPE_ALIASES } from './schemas';
import type { Message, Part } from './types';

type Alias = keyof typeof PART_TYPE_ALIASES;

/** Rewrites lowercase part types of a message in place. */
export function normalizeMessage<M extends { parts?: unknown }>(message: M): M {
  const parts = message.parts;
  if (Array.isArray(parts)) {
    for (const part of parts as Array<{ type?: string }>) {
      const pascal = PART_TYPE_ALIASES[part.type as Alias];
      if (pascal !== undefined) part.type = pascal;
    }
  }
  return message;
}

export function textPart(content: string): Part {
  return { type: 'TextPart', content };
}

/** An agent message with one text part. */
export function agentText(content: string): Message {
  return { role: 'agent', parts: [{ type: 'TextPart', content }] };
}

/** The text of a message: its TextParts joined by newlines. */
export function messageText(message: Message | undefined): string {
  if (!message) return '';
  let out = '';
  for (const part of message.parts) {
    if (part.type === 'TextPart') out = out === '' ? part.content : `${out}\n${part.content}`;
  }
  return out;
}
