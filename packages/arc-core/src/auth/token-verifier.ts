/**
 * Verifies bearer JWTs with jose: signature (shared secret, PEM public key, or a JWKS fetched and
 * cached, refetched when a token names an unknown `kid`, at most once per cooldown), allowed
 * algorithms, `exp` (required) and `nbf` with a clock tolerance, `iss` and `aud` when configured.
 * A verified token is remembered (TokenCache), so `verify` answers a known token at once, without
 * a promise; concurrent first uses of one token share one verification.
 */
import type { KeyObject } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import { callerFromClaims, type AuthContext } from './caller';
import { AuthError, authenticationFailed, keySetUnavailable } from './auth-errors';
import { TokenCache } from './token-cache';
import { verificationKey, type KeySourceName, type KeySourceOptions } from './verification-key';

export interface TokenVerifierOptions extends KeySourceOptions {
  /** Accepted `iss` values (AUTH_ISSUER); unset: not checked. */
  issuer?: string | readonly string[];
  /** Accepted `aud` values, one is enough (AUTH_AUDIENCE); unset: not checked. */
  audience?: string | readonly string[];
  /** Leeway for `exp` and `nbf`, in seconds (AUTH_CLOCK_TOLERANCE_SECONDS; default 30). */
  clockToleranceSeconds?: number;
  /** JWKS: no refetch for an unknown `kid` sooner than this after the last fetch (default 30 s). */
  jwksCooldownMs?: number;
  /** JWKS: the fetched set is used this long before it is fetched again (default 10 min). */
  jwksCacheMaxAgeMs?: number;
  /** JWKS: time a fetch may take (default 5 s). */
  jwksTimeoutMs?: number;
  /** Verified tokens remembered (default 10000; 0: verify every time). */
  cacheSize?: number;
  /** Longest a verified token is remembered, in ms (default 60 s); never past its `exp`. */
  cacheMaxAgeMs?: number;
  /** Epoch ms (tests use a fake clock); default Date.now. */
  now?: () => number;
}

export const TOKEN_VERIFIER_DEFAULTS = Object.freeze({
  clockToleranceSeconds: 30,
  jwksCooldownMs: 30_000,
  jwksCacheMaxAgeMs: 600_000,
  jwksTimeoutMs: 5_000,
  cacheSize: 10_000,
  cacheMaxAgeMs: 60_000,
});

/** Longest Authorization token looked at; longer ones are refused unread. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

export class TokenVerifier {
  readonly source: KeySourceName;
  readonly algorithms: readonly string[];
  private readonly key: KeyObject | JWTVerifyGetKey;
  private readonly cache: TokenCache<AuthContext>;
  private readonly inflight = new Map<string, Promise<AuthContext>>();
  private readonly now: () => number;
  private readonly issuer: string[] | undefined;
  private readonly audience: string[] | undefined;
  private readonly clockTolerance: number;
  /**
   * The token served last, as such, with its caller: most connections send one token over and
   * over, and comparing it costs far less than hashing it for the cache. One token only (the
   * cache itself holds hashes), and only while its cache entry would still be usable.
   */
  private last: { token: string; caller: AuthContext; expiresAt: number } | undefined = undefined;

  /** Throws an Error naming the variable at fault when the key source or the algorithms do not fit. */
  constructor(options: TokenVerifierOptions) {
    const resolved = verificationKey(options);
    const d = TOKEN_VERIFIER_DEFAULTS;
    this.source = resolved.source;
    this.algorithms = resolved.algorithms;
    this.key =
      resolved.source === 'AUTH_JWKS_URL'
        ? createRemoteJWKSet(resolved.url, {
            cooldownDuration: options.jwksCooldownMs ?? d.jwksCooldownMs,
            cacheMaxAge: options.jwksCacheMaxAgeMs ?? d.jwksCacheMaxAgeMs,
            timeoutDuration: options.jwksTimeoutMs ?? d.jwksTimeoutMs,
          })
        : resolved.key;
    this.issuer = listOf(options.issuer);
    this.audience = listOf(options.audience);
    this.clockTolerance = options.clockToleranceSeconds ?? d.clockToleranceSeconds;
    this.cache = new TokenCache(options.cacheSize ?? d.cacheSize, options.cacheMaxAgeMs ?? d.cacheMaxAgeMs);
    this.now = options.now ?? Date.now;
  }

  /** Tokens remembered now. */
  get cachedTokens(): number {
    return this.cache.size;
  }

  /**
   * The caller a token stands for: at once (no promise) when the token was verified before and is
   * still valid, else a promise. Failures are AuthErrors (-44001, or -41002 when a JWKS cannot be
   * fetched); their messages never contain the token.
   */
  verify(token: string): AuthContext | Promise<AuthContext> {
    const now = this.now();
    const last = this.last;
    if (last !== undefined && last.token === token && now < last.expiresAt) return last.caller;
    const key = TokenCache.keyOf(token);
    const known = this.cache.entry(key, now);
    if (known !== undefined) {
      this.last = { token, caller: known.value, expiresAt: known.expiresAt };
      return known.value;
    }
    let pending = this.inflight.get(key);
    if (pending === undefined) {
      pending = this.verifySignature(token, key, now).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  private async verifySignature(token: string, cacheKey: string, now: number): Promise<AuthContext> {
    if (token.length > MAX_TOKEN_LENGTH) throw authenticationFailed('malformed_token', 'The bearer token is not a well-formed JWT');
    const options: JWTVerifyOptions = {
      algorithms: [...this.algorithms],
      clockTolerance: this.clockTolerance,
      currentDate: new Date(now),
      requiredClaims: ['exp'],
    };
    if (this.issuer) options.issuer = this.issuer;
    if (this.audience) options.audience = this.audience;
    let payload: Record<string, unknown>;
    try {
      // jose overloads on the key's type; both branches verify the same way.
      const result = typeof this.key === 'function' ? await jwtVerify(token, this.key, options) : await jwtVerify(token, this.key, options);
      payload = result.payload;
    } catch (err) {
      throw this.asAuthError(err);
    }
    const caller = callerFromClaims(payload);
    const expiresAt = typeof payload.exp === 'number' ? payload.exp * 1000 : undefined;
    this.cache.set(cacheKey, caller, expiresAt, now);
    const until = this.cache.until(expiresAt, now);
    if (until !== undefined) this.last = { token, caller, expiresAt: until };
    return caller;
  }

  private asAuthError(err: unknown): AuthError {
    if (err instanceof AuthError) return err;
    const jose = err instanceof joseErrors.JOSEError;
    const code = jose ? err.code : undefined;
    const detail = code ?? (err instanceof Error ? `${(err as NodeJS.ErrnoException).code ?? err.name}: ${err.message}` : String(err));
    let out: AuthError;
    switch (code) {
      case 'ERR_JWT_EXPIRED':
        out = authenticationFailed('token_expired', 'The token has expired');
        break;
      case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
        out = this.claimError(err as { claim?: unknown; reason?: unknown });
        break;
      case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
        out = authenticationFailed('invalid_signature', 'The token signature is invalid');
        break;
      case 'ERR_JOSE_ALG_NOT_ALLOWED':
        out = authenticationFailed(
          'algorithm_not_allowed',
          `The token's algorithm is not allowed (allowed: ${this.algorithms.join(', ')})`,
        );
        break;
      case 'ERR_JWS_INVALID':
      case 'ERR_JWT_INVALID':
        out = authenticationFailed('malformed_token', 'The bearer token is not a well-formed JWT');
        break;
      case 'ERR_JWKS_NO_MATCHING_KEY':
      case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
        out = authenticationFailed('unknown_key', 'No single key of the key set matches the token (check its kid)');
        break;
      case 'ERR_JWKS_TIMEOUT':
      case 'ERR_JWKS_INVALID':
      case 'ERR_JOSE_GENERIC':
        out = keySetUnavailable();
        break;
      default:
        // Not one of jose's errors: with a JWKS, its fetch failed at the network level.
        out =
          this.source === 'AUTH_JWKS_URL' && !jose ? keySetUnavailable() : authenticationFailed('invalid_token', 'The token is invalid');
    }
    out.logDetail = detail;
    return out;
  }

  private claimError(err: { claim?: unknown; reason?: unknown }): AuthError {
    const claim = typeof err.claim === 'string' ? err.claim : 'unspecified';
    if (err.reason === 'missing') return authenticationFailed('missing_claim', `The token has no "${claim}" claim`);
    if (claim === 'iss')
      return authenticationFailed('wrong_issuer', `The token issuer is not accepted (expected ${this.issuer?.join(' or ')})`);
    if (claim === 'aud')
      return authenticationFailed('wrong_audience', `The token audience is not accepted (expected ${this.audience?.join(' or ')})`);
    if (claim === 'nbf' && err.reason === 'check_failed')
      return authenticationFailed('token_not_yet_valid', 'The token is not valid yet (nbf)');
    return authenticationFailed('invalid_claim', `The token's "${claim}" claim is invalid`);
  }
}

function listOf(value: string | readonly string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const list = (typeof value === 'string' ? [value] : [...value]).filter((v) => v !== '');
  return list.length > 0 ? list : undefined;
}
