/**
 * Bearer-token auth as pipeline hooks (router/hooks.ts):
 *
 *   onRequest   `Authorization: Bearer <JWT>` (scheme case-sensitive, ARC-PROTOCOL.md §10),
 *               verified (token-verifier.ts) before the envelope is even validated, so an
 *               unauthenticated caller learns nothing about agents or methods → -44001 / 401.
 *               The caller becomes `context.auth`.
 *   preHandler  the routed method's scopes (scopes.ts) → -44003 / 403; with `bindRequestAgent`
 *               the token's `sub` (or `agentClaim`) must be the envelope's requestAgent → -44002.
 *   onSend      puts the refusal's RFC 6750 `WWW-Authenticate` challenge on the reply.
 *
 *   const guard = installAuth(server.router, { secret: process.env.AUTH_JWT_SECRET, issuer: 'arc-dev' });
 *
 * Every refusal is logged (warn) with its reason and the caller's address; never the token.
 */
import type { Logger } from '../logging/logger';
import { addressOf } from '../protocol/envelope';
import { clip } from '../protocol/limits';
import type { RegisteredHandler } from '../router/agent';
import type { ArcReply, RequestMeta, RequestState } from '../router/request-state';
import type { ArcRouter } from '../router/router';
import { AuthError, agentMismatch, authenticationFailed, insufficientScope } from './auth-errors';
import type { AuthContext } from './caller';
import { missingScopes, requiredScopes } from './scopes';
import { MAX_TOKEN_LENGTH, TokenVerifier, type TokenVerifierOptions } from './token-verifier';

export interface AuthOptions extends TokenVerifierOptions {
  /** The token's `agentClaim` must equal the envelope's requestAgent (AUTH_BIND_REQUEST_AGENT; default false). */
  bindRequestAgent?: boolean;
  /** The claim that names the caller's agent (AUTH_AGENT_CLAIM; default 'sub'). */
  agentClaim?: string;
  /** `realm` of the WWW-Authenticate challenge (default 'arc'). */
  realm?: string;
  /** Where refusals are logged (default: the router's logger). */
  logger?: Logger;
}

export interface AuthGuard {
  readonly verifier: TokenVerifier;
  /**
   * Authenticates a request outside the ARC pipeline (e.g. GET /agent-info): resolves with the
   * caller or rejects with the AuthError to answer (see `challenge`). Logs refusals like the hooks.
   */
  authenticate(headers: RequestMeta['headers'], remoteAddress?: string): Promise<AuthContext>;
  /** The WWW-Authenticate value for an error, when it is an auth refusal that has one. */
  challenge(error: unknown): string | undefined;
}

const HEADER = 'WWW-Authenticate';
const BEARER = 'Bearer ';

/** Registers the auth hooks on a router; returns the guard for routes outside the pipeline. */
export function installAuth(router: ArcRouter, options: AuthOptions): AuthGuard {
  const verifier = new TokenVerifier(options);
  const realm = options.realm ?? 'arc';
  const bind = options.bindRequestAgent === true;
  const agentClaim = options.agentClaim ?? 'sub';
  const logger = options.logger ?? router.logger;
  /** The challenge of a refused request, for onSend (the reply does not carry the error). */
  const challenges = new WeakMap<RequestState, string>();
  /**
   * The scope list a caller (one frozen object per cached token) was last found to satisfy: a
   * client calling one method again and again is checked once.
   */
  const allowed = new WeakMap<AuthContext, readonly string[]>();
  /** Required scopes of handlers that declare their own, computed once per handler. */
  const declared = new WeakMap<RegisteredHandler, readonly string[]>();

  const refuse = (req: RequestState, err: unknown): never => {
    if (err instanceof AuthError) {
      const challenge = err.challenge(realm);
      if (challenge !== undefined) challenges.set(req, challenge);
      logRefusal(logger, err, req.meta.remoteAddress, req);
    }
    throw err;
  };

  const scopesOf = (req: RequestState): readonly string[] => {
    // The request is routed: its agent exists, so router.agent() only looks it up.
    const handler = router.agent(req.agentId).handler(req.method);
    if (handler?.options.scopes === undefined) return requiredScopes(req.method);
    let scopes = declared.get(handler);
    if (scopes === undefined) {
      scopes = requiredScopes(req.method, handler.options.scopes);
      declared.set(handler, scopes);
    }
    return scopes;
  };

  router.addHook('onRequest', (req) => {
    const trusted = req.meta.authenticated;
    if (trusted !== undefined) {
      req.auth = trusted;
      return undefined;
    }
    let token: string;
    try {
      token = bearerToken(req.meta.headers?.authorization);
    } catch (err) {
      return refuse(req, err);
    }
    const caller = verifier.verify(token);
    if (!(caller instanceof Promise)) {
      req.auth = caller;
      return undefined;
    }
    return caller.then(
      (c) => {
        req.auth = c;
      },
      (err: unknown) => refuse(req, err),
    );
  });

  router.addHook('preHandler', (req) => {
    const caller = req.auth;
    if (caller === undefined)
      return refuse(req, authenticationFailed('missing_token', 'Authentication required: send an Authorization: Bearer token'));
    const required = scopesOf(req);
    if (required.length > 0 && allowed.get(caller) !== required) {
      const missing = missingScopes(required, caller.scopes);
      if (missing.length > 0) refuse(req, insufficientScope(req.method, required, caller.scopes, missing));
      allowed.set(caller, required);
    }
    // A caller the transport vouched for (signed webhook) has no token to bind.
    if (bind && req.meta.authenticated === undefined && caller.claims[agentClaim] !== req.requestAgent) {
      refuse(req, agentMismatch(req.requestAgent, agentClaim));
    }
  });

  router.addHook('onSend', (req, reply): ArcReply | undefined => {
    if (reply.kind !== 'json' || reply.status < 401 || reply.status > 403) return undefined;
    const challenge = challenges.get(req);
    if (challenge === undefined) return undefined;
    reply.headers = { ...reply.headers, [HEADER]: challenge };
    return reply;
  });

  return {
    verifier,
    async authenticate(headers, remoteAddress) {
      try {
        return await verifier.verify(bearerToken(headers?.authorization));
      } catch (err) {
        if (err instanceof AuthError) logRefusal(logger, err, remoteAddress, undefined);
        throw err;
      }
    },
    challenge: (error) => (error instanceof AuthError ? error.challenge(realm) : undefined),
  };
}

/** The token of an `Authorization: Bearer <token>` header; throws the -44001 to answer otherwise. */
export function bearerToken(header: string | string[] | undefined): string {
  if (header === undefined || header === '') {
    throw authenticationFailed('missing_token', 'Authentication required: send an Authorization: Bearer token');
  }
  if (typeof header !== 'string' || !header.startsWith(BEARER)) {
    throw authenticationFailed('malformed_header', "The Authorization header must be 'Bearer <token>' (scheme name case-sensitive)");
  }
  const token = header.slice(BEARER.length);
  if (token === '' || token.length > MAX_TOKEN_LENGTH || token.includes(' ')) {
    throw authenticationFailed('malformed_header', "The Authorization header must be 'Bearer <token>' (scheme name case-sensitive)");
  }
  return token;
}

function logRefusal(logger: Logger, err: AuthError, remoteAddress: string | undefined, req: RequestState | undefined): void {
  const meta: Record<string, unknown> = { reason: err.reason, code: err.code, remoteAddress };
  if (req !== undefined) {
    if (req.agentId !== '') {
      meta.agent = req.agentId;
      meta.method = req.method;
      meta.requestAgent = clip(req.requestAgent, 64);
      if (req.auth !== undefined) meta.subject = clip(req.auth.subject, 128);
    } else {
      // Not validated yet: only bounded prefixes of what the body claims.
      const a = addressOf(req.body);
      meta.agent = clip(a.targetAgent, 64);
      meta.method = clip((req.body as { method?: unknown } | null)?.method, 64);
    }
  }
  if (err.logDetail !== undefined) meta.detail = clip(err.logDetail, 200);
  if (err.reason === 'key_set_unavailable') logger.error('auth: cannot verify tokens', meta);
  else logger.warn('auth refused', meta);
}
