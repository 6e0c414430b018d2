/**
 * Server-Sent Events framing as the Python client parses it (ARC-PROTOCOL.md §8): LF only, one
 * `event:` line, one compact single-line `data:` line, a blank line.
 */
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
