/**
 * Named stages of the request pipeline where cross-cutting concerns plug in (after fastify's
 * lib/hooks.js): auth, scopes, rate limits, metrics and tracing are hooks registered on the
 * router, never edits inside it. A stage with no hook is `null` and costs one comparison.
 *
 *   onRequest   the request as received (headers, address, parsed body), before the envelope is
 *               validated and routed: authentication.
 *   preHandler  after routing and params validation, before the concurrency slot and the
 *               handler: scopes, rate limits, per-agent policy.
 *   onSend      the reply about to be handed to the transport: may return a replacement (extra
 *               headers, a different envelope).
 *   onError     a request is failing with this ArcError; may return another one to answer with.
 *   onResponse  the exchange is over (a JSON reply built, or a stream ended or was cut): metrics,
 *               tracing. Observes only; an error thrown here is logged and ignored.
 *
 * Hooks run in registration order. onRequest, preHandler, onSend and onError may be async; a
 * hook refuses a request by throwing an ArcError (any other throw is an internal error).
 */
import type { ArcError } from '../errors/arc-error';
import type { ArcReply, RequestState } from './request-state';

export type RequestHook = (request: RequestState) => void | Promise<void>;
export type SendHook = (request: RequestState, reply: ArcReply) => ArcReply | void | Promise<ArcReply | void>;
export type ErrorHook = (request: RequestState, error: ArcError) => ArcError | void | Promise<ArcError | void>;
/** `outcome.code` is the ARC error code, undefined for a result. */
export type ResponseHook = (request: RequestState, outcome: ResponseOutcome) => void;

export interface ResponseOutcome {
  status: number;
  code: number | undefined;
  /** 'json', 'stream' (ran to its end) or 'stream-aborted' (the caller left, or it was cut). */
  transport: 'json' | 'stream' | 'stream-aborted';
  durationMs: number;
}

export interface HookMap {
  onRequest: RequestHook;
  preHandler: RequestHook;
  onSend: SendHook;
  onError: ErrorHook;
  onResponse: ResponseHook;
}

export type HookName = keyof HookMap;

export const HOOK_NAMES: readonly HookName[] = ['onRequest', 'preHandler', 'onSend', 'onError', 'onResponse'];

/** The hooks of one router: a list per stage, null while empty. */
export class Hooks {
  onRequest: RequestHook[] | null = null;
  preHandler: RequestHook[] | null = null;
  onSend: SendHook[] | null = null;
  onError: ErrorHook[] | null = null;
  onResponse: ResponseHook[] | null = null;

  add<N extends HookName>(name: N, hook: HookMap[N]): void {
    if (!HOOK_NAMES.includes(name)) throw new TypeError(`Unknown hook "${String(name)}"; one of ${HOOK_NAMES.join(', ')}`);
    if (typeof hook !== 'function') throw new TypeError(`The ${name} hook must be a function`);
    const list = (this[name] ?? []) as HookMap[N][];
    list.push(hook);
    (this as Record<HookName, unknown>)[name] = list;
  }
}

/**
 * Runs request hooks in order. Synchronous while every hook returns undefined (a cached token, a
 * scope check): it then returns undefined and the router awaits nothing, so a pipeline of such
 * hooks costs no extra turn of the event loop. From the first promise on, the rest run after it.
 */
export function runRequestHooks(hooks: RequestHook[], request: RequestState, from = 0): Promise<void> | undefined {
  for (let i = from; i < hooks.length; i++) {
    const out = hooks[i]!(request);
    if (out !== undefined) return (out as Promise<void>).then(() => runRequestHooks(hooks, request, i + 1));
  }
  return undefined;
}

/** Runs send hooks in order; synchronous (a reply, not a promise) while no hook returns a promise. */
export function runSendHooks(hooks: SendHook[], request: RequestState, reply: ArcReply, from = 0): ArcReply | Promise<ArcReply> {
  for (let i = from; i < hooks.length; i++) {
    const out = hooks[i]!(request, reply);
    if (out instanceof Promise) return out.then((next: ArcReply | void) => runSendHooks(hooks, request, next || reply, i + 1));
    if (out) reply = out;
  }
  return reply;
}

export async function runErrorHooks(hooks: ErrorHook[], request: RequestState, error: ArcError): Promise<ArcError> {
  for (const hook of hooks) {
    const out = await hook(request, error);
    if (out) error = out;
  }
  return error;
}
