/**
 * The bearer token of an agent's HTTP calls to other agents, when the services check tokens
 * (docs/security.md). Either one token for every call (AGENT_CALL_TOKEN: issued by your identity
 * provider for this service), or - when the services share an HS256 secret (AUTH_JWT_SECRET)
 * and no token is given - a short-lived token the service signs itself for each calling agent:
 * `sub` = the calling agent (so AUTH_BIND_REQUEST_AGENT holds), the ARC scopes of chats, tasks and
 * agent calls, AUTH_ISSUER / AUTH_AUDIENCE when set, 5 minutes, signed again a minute before it
 * expires. A service holding the shared secret can sign any token anyway; this only saves
 * configuring one per service.
 *
 * In-process calls carry no token: they run with the caller's already verified identity.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { ArcScope } from '../auth/scopes';

/** A fixed token, or one per calling agent. */
export type AgentCallToken = string | ((callingAgent: string) => string | Promise<string>);

/** The Authorization header value of a call made by `callingAgent`; undefined without a token. */
export async function authorizationFor(token: AgentCallToken | undefined, callingAgent: string): Promise<string | undefined> {
  if (token === undefined) return undefined;
  const value = typeof token === 'string' ? token : await token(callingAgent);
  return `Bearer ${value}`;
}

export interface SelfSignedTokenOptions {
  /** The HS256 secret the services verify with (AUTH_JWT_SECRET). */
  secret: string;
  issuer?: string;
  audience?: string;
  /** Lifetime of a token (default 300 s); it is signed again when less than a fifth of it is left. */
  ttlSeconds?: number;
  /** Default: the scopes of chats, tasks and agent calls. */
  scopes?: readonly string[];
  now?: () => number;
}

export const SERVICE_TOKEN_SCOPES: readonly string[] = Object.freeze([
  ArcScope.ChatController,
  ArcScope.TaskController,
  ArcScope.AgentCaller,
]);

/** Signs a token per calling agent and reuses it until shortly before it expires. */
export function selfSignedTokens(options: SelfSignedTokenOptions): (callingAgent: string) => Promise<string> {
  const ttl = options.ttlSeconds ?? 300;
  const now = options.now ?? Date.now;
  const key = Buffer.from(options.secret, 'utf8');
  const scope = (options.scopes ?? SERVICE_TOKEN_SCOPES).join(' ');
  const cache = new Map<string, { token: Promise<string>; renewAt: number }>();
  return (callingAgent) => {
    const cached = cache.get(callingAgent);
    if (cached !== undefined && now() < cached.renewAt) return cached.token;
    const issuedAt = Math.floor(now() / 1000);
    let jwt = new SignJWT({ scope })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(callingAgent)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + ttl)
      .setJti(randomUUID());
    if (options.issuer !== undefined) jwt = jwt.setIssuer(options.issuer);
    if (options.audience !== undefined) jwt = jwt.setAudience(options.audience);
    const token = jwt.sign(key);
    // Bounded: one entry per agent of this process (the calling agents are the ones it mounts).
    cache.set(callingAgent, { token, renewAt: now() + ttl * 800 });
    token.catch(() => cache.delete(callingAgent));
    return token;
  };
}
