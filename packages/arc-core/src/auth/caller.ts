/**
 * The authenticated caller of a request, as hooks and handlers see it (`context.auth`). One
 * frozen object per verified token, shared by every request that presents that token (the token
 * cache hands out the same object), so handlers must treat it as read-only.
 */
import { scopesFromClaims } from './scopes';

export interface AuthContext {
  /** The token's `sub` claim ('' when it has none). */
  readonly subject: string;
  /** Granted scopes, from the first present of the `scope`, `scp` and `permissions` claims. */
  readonly scopes: readonly string[];
  /** Every claim of the verified token (deeply frozen). */
  readonly claims: Readonly<Record<string, unknown>>;
}

/** The caller a verified token describes. */
export function callerFromClaims(claims: Record<string, unknown>): AuthContext {
  const subject = typeof claims.sub === 'string' ? claims.sub : '';
  return Object.freeze({ subject, scopes: Object.freeze(scopesFromClaims(claims)), claims: deepFreeze(claims) });
}

/**
 * The caller of a webhook delivery whose signature the receiver verified (WEBHOOK_SECRET): it may
 * send task.notification, and nothing else needs a caller there. Transports pass it as
 * `RequestMeta.authenticated`.
 */
export const SIGNED_WEBHOOK_CALLER: AuthContext = Object.freeze({
  subject: 'webhook',
  scopes: Object.freeze(['arc.task.notify', 'arc.agent.receiver']),
  claims: Object.freeze({}),
});

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}
