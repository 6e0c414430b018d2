/**
 * The AUTH_* variables (declared and defaulted in config/config.ts): the rules between them, and
 * the options installAuth takes from them. Auth is on when a key source is set (AUTH_JWT_SECRET,
 * AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL), exactly one; any other AUTH_* variable set without one
 * is an error, so a service never runs open while its operator believes it is protected.
 */
import type { ServiceConfig } from '../config/config';
import type { AuthOptions } from './auth-hooks';
import { KEY_SOURCES, keySources, parseAlgorithmList, verificationKey } from './verification-key';

/** Every AUTH_* variable, in the order the docs list them. */
export const AUTH_VARIABLES = [
  ...KEY_SOURCES,
  'AUTH_ISSUER',
  'AUTH_AUDIENCE',
  'AUTH_ALGORITHMS',
  'AUTH_CLOCK_TOLERANCE_SECONDS',
  'AUTH_BIND_REQUEST_AGENT',
  'AUTH_AGENT_CLAIM',
  'AUTH_PROTECT_AGENT_INFO',
  'AUTH_PROTECT_METRICS',
  'AUTH_TOKEN_CACHE_SIZE',
  'AUTH_TOKEN_CACHE_SECONDS',
  'AUTH_JWKS_COOLDOWN_SECONDS',
  'AUTH_JWKS_CACHE_SECONDS',
] as const;

type AuthVariables = Pick<
  ServiceConfig,
  | 'AUTH_JWT_SECRET'
  | 'AUTH_JWT_PUBLIC_KEY'
  | 'AUTH_JWKS_URL'
  | 'AUTH_ISSUER'
  | 'AUTH_AUDIENCE'
  | 'AUTH_ALGORITHMS'
  | 'AUTH_CLOCK_TOLERANCE_SECONDS'
  | 'AUTH_BIND_REQUEST_AGENT'
  | 'AUTH_AGENT_CLAIM'
  | 'AUTH_TOKEN_CACHE_SIZE'
  | 'AUTH_TOKEN_CACHE_SECONDS'
  | 'AUTH_JWKS_COOLDOWN_SECONDS'
  | 'AUTH_JWKS_CACHE_SECONDS'
>;

/** True when the configuration turns auth on. */
export function authEnabled(config: Pick<ServiceConfig, 'AUTH_JWT_SECRET' | 'AUTH_JWT_PUBLIC_KEY' | 'AUTH_JWKS_URL'>): boolean {
  return config.AUTH_JWT_SECRET !== undefined || config.AUTH_JWT_PUBLIC_KEY !== undefined || config.AUTH_JWKS_URL !== undefined;
}

/** Rules between the AUTH_* variables (each valid on its own); `raw` holds only what the environment set. */
export function authConfigProblems(input: Record<string, unknown>, raw: Record<string, unknown>): string[] {
  const sources = keySources({
    secret: input.AUTH_JWT_SECRET as string | undefined,
    publicKey: input.AUTH_JWT_PUBLIC_KEY as string | undefined,
    jwksUrl: input.AUTH_JWKS_URL as string | undefined,
  });
  if (sources.length === 0) {
    const set = AUTH_VARIABLES.filter((name) => raw[name] !== undefined);
    if (set.length === 0) return [];
    return [`${set.join(', ')} ${set.length > 1 ? 'are' : 'is'} set but auth is off: set one of ${KEY_SOURCES.join(', ')}`];
  }
  try {
    verificationKey(keyOptions(input as unknown as AuthVariables));
    return [];
  } catch (err) {
    return [(err as Error).message];
  }
}

/** The options of installAuth from a validated configuration; undefined when auth is off. */
export function authOptionsFromConfig(config: AuthVariables): AuthOptions | undefined {
  if (!authEnabled(config)) return undefined;
  return {
    ...keyOptions(config),
    issuer: listOf(config.AUTH_ISSUER),
    audience: listOf(config.AUTH_AUDIENCE),
    clockToleranceSeconds: config.AUTH_CLOCK_TOLERANCE_SECONDS,
    bindRequestAgent: config.AUTH_BIND_REQUEST_AGENT,
    agentClaim: config.AUTH_AGENT_CLAIM,
    cacheSize: config.AUTH_TOKEN_CACHE_SIZE,
    cacheMaxAgeMs: config.AUTH_TOKEN_CACHE_SECONDS * 1000,
    jwksCooldownMs: config.AUTH_JWKS_COOLDOWN_SECONDS * 1000,
    jwksCacheMaxAgeMs: config.AUTH_JWKS_CACHE_SECONDS * 1000,
  };
}

function keyOptions(config: AuthVariables): Pick<AuthOptions, 'secret' | 'publicKey' | 'jwksUrl' | 'algorithms'> {
  return {
    secret: config.AUTH_JWT_SECRET,
    publicKey: config.AUTH_JWT_PUBLIC_KEY,
    jwksUrl: config.AUTH_JWKS_URL,
    algorithms: config.AUTH_ALGORITHMS === undefined ? undefined : parseAlgorithmList(config.AUTH_ALGORITHMS),
  };
}

/** A comma-separated list (AUTH_ISSUER, AUTH_AUDIENCE). */
function listOf(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const list = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return list.length > 0 ? list : undefined;
}
