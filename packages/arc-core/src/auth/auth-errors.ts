/**
 * How auth refuses: -44001 / 401 for a missing, malformed or unverifiable token (expired too:
 * ARC-PROTOCOL.md §10 reports every token failure as -44001, never -44004), -44003 / 403 for
 * missing scopes, -44002 / 403 for a requestAgent the token may not speak for. `details.reason`
 * says which, for programs (e.g. refresh the token on `token_expired`). Messages never contain
 * the token.
 *
 * Each error knows its RFC 6750 challenge (`WWW-Authenticate`): no error attribute when no token
 * was sent, `invalid_request` for a malformed header, `invalid_token` for a token that failed,
 * `insufficient_scope` with the `scope` attribute for missing scopes.
 */
import { ArcError, type ErrorDetails } from '../errors/arc-error';
import { ArcErrorCode } from '../errors/codes';

export type AuthFailureReason =
  | 'missing_token'
  | 'malformed_header'
  | 'malformed_token'
  | 'invalid_signature'
  | 'algorithm_not_allowed'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'missing_claim'
  | 'invalid_claim'
  | 'unknown_key'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'agent_mismatch'
  | 'key_set_unavailable';

type ChallengeError = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

/** What the challenge says: no `error` attribute when undefined; null: no challenge at all. */
type ChallengeSpec = { error?: ChallengeError; scope?: readonly string[] } | null;

export class AuthError extends ArcError {
  readonly reason: AuthFailureReason;
  /** What went wrong underneath (a jose error code, a network error), for the log only. */
  logDetail: string | undefined = undefined;
  private readonly spec: ChallengeSpec;

  constructor(code: number, reason: AuthFailureReason, message: string, details: ErrorDetails, spec: ChallengeSpec, retryAfter?: number) {
    super(code, message, details, retryAfter === undefined ? undefined : { retryAfter });
    this.name = 'AuthError';
    this.reason = reason;
    this.spec = spec;
  }

  /** The `WWW-Authenticate` value for this refusal, or undefined when it has none (-44002, -41002). */
  challenge(realm: string): string | undefined {
    const spec = this.spec;
    if (spec === null) return undefined;
    let value = `Bearer realm="${quotable(realm)}"`;
    if (spec.error === undefined) return value;
    value += `, error="${spec.error}", error_description="${quotable(this.message)}"`;
    if (spec.scope !== undefined) value += `, scope="${quotable(spec.scope.join(' '))}"`;
    return value;
  }
}

/** -44001 / 401: the request carries no usable token. */
export function authenticationFailed(reason: AuthFailureReason, message: string): AuthError {
  const error: ChallengeError | undefined =
    reason === 'missing_token' ? undefined : reason === 'malformed_header' ? 'invalid_request' : 'invalid_token';
  return new AuthError(ArcErrorCode.Authentication, reason, message, { reason }, error === undefined ? {} : { error });
}

/** -44003 / 403 with the `details` keys the Python client reads (required_scopes, provided_scopes). */
export function insufficientScope(
  method: string,
  required: readonly string[],
  provided: readonly string[],
  missing: readonly string[],
): AuthError {
  return new AuthError(
    ArcErrorCode.InsufficientScope,
    'insufficient_scope',
    `Method ${method} needs the scopes ${required.join(', ')}; the token lacks ${missing.join(', ')}`,
    { required_scopes: [...required], provided_scopes: [...provided], method },
    { error: 'insufficient_scope', scope: required },
  );
}

/** -44002 / 403: the token may not speak as this requestAgent (AUTH_BIND_REQUEST_AGENT). */
export function agentMismatch(requestAgent: string, claim: string): AuthError {
  return new AuthError(
    ArcErrorCode.Authorization,
    'agent_mismatch',
    `This token may not send requests as requestAgent "${shown(requestAgent)}": its ${claim} claim names another agent`,
    { reason: 'agent_mismatch', requestAgent, claim },
    null,
  );
}

/** -41002 / 503: tokens cannot be checked now (the JWKS endpoint does not answer); the caller should retry. */
export function keySetUnavailable(): AuthError {
  return new AuthError(
    ArcErrorCode.AgentNotAvailable,
    'key_set_unavailable',
    'Tokens cannot be verified right now (the key set is unreachable); retry later',
    { reason: 'key_set_unavailable' },
    null,
    5,
  );
}

/** RFC 6750 §3: attribute values are quoted-strings of %x20-21 / %x23-5B / %x5D-7E only. */
function quotable(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, (c) => (c === '"' ? "'" : '?'));
}

function shown(text: string): string {
  return text.length <= 64 ? text : `${text.slice(0, 64)}…`;
}
