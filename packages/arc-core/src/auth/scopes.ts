/**
 * The scope matrix (ARC-PROTOCOL.md §10, DECISIONS.md 9): the scopes each standard method needs,
 * all of them. Aliases need what their canonical method needs (`task.get` = `task.info`,
 * `stream.*` = `chat.*`). A custom method needs what its handler declared at registration
 * (`agent.on(method, fn, { scopes: [...] })`), else only a valid token; a standard method's
 * declared scopes are required on top of the matrix, never instead of it.
 */
import { canonicalMethod } from '../protocol/methods';

export const ArcScope = {
  ChatController: 'arc.chat.controller',
  /** Legacy name of arc.chat.controller (the SDK's stream.* API): accepted in its place. */
  StreamController: 'arc.stream.controller',
  TaskController: 'arc.task.controller',
  TaskNotify: 'arc.task.notify',
  AgentCaller: 'arc.agent.caller',
  AgentReceiver: 'arc.agent.receiver',
} as const;

const CHAT: readonly string[] = Object.freeze([ArcScope.ChatController, ArcScope.AgentCaller]);
const TASK: readonly string[] = Object.freeze([ArcScope.TaskController, ArcScope.AgentCaller]);
const NOTIFY: readonly string[] = Object.freeze([ArcScope.TaskNotify, ArcScope.AgentReceiver]);

/** Required scopes of the standard methods, by canonical name. */
export const METHOD_SCOPES: ReadonlyMap<string, readonly string[]> = new Map([
  ['chat.start', CHAT],
  ['chat.message', CHAT],
  ['chat.end', CHAT],
  ['task.create', TASK],
  ['task.send', TASK],
  ['task.info', TASK],
  ['task.cancel', TASK],
  ['task.subscribe', TASK],
  ['task.notification', NOTIFY],
]);

/** Scopes a token may hold in place of a required one. */
const EQUIVALENTS: ReadonlyMap<string, readonly string[]> = new Map([[ArcScope.ChatController, [ArcScope.StreamController]]]);

const NONE: readonly string[] = Object.freeze([]);

/** Scopes a method (canonical or alias) needs, with the handler's declared ones added. */
export function requiredScopes(method: string, declared?: readonly string[]): readonly string[] {
  const standard = METHOD_SCOPES.get(canonicalMethod(method));
  if (declared === undefined || declared.length === 0) return standard ?? NONE;
  if (standard === undefined) return declared;
  return [...new Set([...standard, ...declared])];
}

/** True when the granted scopes satisfy one required scope (itself or an accepted equivalent). */
export function grants(granted: readonly string[], scope: string): boolean {
  if (granted.includes(scope)) return true;
  const alternatives = EQUIVALENTS.get(scope);
  return alternatives !== undefined && alternatives.some((s) => granted.includes(s));
}

/** The required scopes the granted ones lack (empty: allowed). Allocates only when one is missing. */
export function missingScopes(required: readonly string[], granted: readonly string[]): readonly string[] {
  let missing: string[] | undefined;
  for (const scope of required) if (!grants(granted, scope)) (missing ??= []).push(scope);
  return missing ?? NONE;
}

const SCOPE_CLAIMS = ['scope', 'scp', 'permissions'] as const;

/**
 * Scopes from the first present of the `scope`, `scp` and `permissions` claims: a
 * space-separated string or a list of strings (other entries ignored), duplicates dropped.
 */
export function scopesFromClaims(claims: Record<string, unknown>): string[] {
  for (const name of SCOPE_CLAIMS) {
    const value = claims[name];
    if (value === undefined || value === null) continue;
    const list = typeof value === 'string' ? value.split(/\s+/) : Array.isArray(value) ? value : [];
    return [...new Set(list.filter((s): s is string => typeof s === 'string' && s !== ''))];
  }
  return [];
}

const SCOPE_NAME = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;

/** Checks the scopes a handler declares (RFC 6749 scope-token characters); throws a TypeError naming the bad one. */
export function checkDeclaredScopes(where: string, scopes: unknown): void {
  if (scopes === undefined) return;
  if (!Array.isArray(scopes)) throw new TypeError(`${where}: scopes must be an array of scope names`);
  for (const s of scopes) {
    if (typeof s !== 'string' || !SCOPE_NAME.test(s)) {
      throw new TypeError(`${where}: invalid scope ${JSON.stringify(s)} (1-128 printable characters, no space, quote or backslash)`);
    }
  }
}
