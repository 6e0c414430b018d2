/**
 * Standard method names and the aliases DECISIONS.md §4 accepts (never emitted):
 * `task.get` = `task.info`; `stream.start|message|end` = `chat.start|message|end` with
 * `streamId` read as `chatId`.
 */
import type { StandardMethod } from './types';

export const STANDARD_METHODS: readonly StandardMethod[] = [
  'chat.start',
  'chat.message',
  'chat.end',
  'task.create',
  'task.send',
  'task.info',
  'task.cancel',
  'task.subscribe',
  'task.notification',
];

export const CHAT_METHODS = new Set<string>(['chat.start', 'chat.message', 'chat.end']);

const ALIASES: ReadonlyMap<string, string> = new Map([
  ['task.get', 'task.info'],
  ['stream.start', 'chat.start'],
  ['stream.message', 'chat.message'],
  ['stream.end', 'chat.end'],
]);

/** The canonical name of a method: itself, or what its alias stands for. */
export function canonicalMethod(method: string): string {
  return ALIASES.get(method) ?? method;
}

/**
 * Rewrites the params of a legacy `stream.*` call in place: `streamId` becomes `chatId`.
 * Returns the params for convenience.
 */
export function normalizeAliasParams(method: string, params: Record<string, unknown>): Record<string, unknown> {
  if (method.startsWith('stream.') && params.chatId === undefined && params.streamId !== undefined) {
    params.chatId = params.streamId;
    delete params.streamId;
  }
  return params;
}
