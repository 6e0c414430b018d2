/**
 * The key tokens are verified with, and the algorithms it may be used with. Exactly one source:
 * a shared secret (HMAC), a PEM public key, or a JWKS URL. Algorithms are an allow-list that
 * always fits the key: HMAC for a secret, asymmetric for public keys (so an HS256 token signed
 * with a public key as its "secret" never verifies), and `none` never. Errors name the variables,
 * since the same checks run when the configuration is loaded.
 */
import { X509Certificate, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';

export const HMAC_ALGORITHMS: readonly string[] = ['HS256', 'HS384', 'HS512'];
export const ASYMMETRIC_ALGORITHMS: readonly string[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

/** Shortest accepted shared secret, in bytes: the output size of SHA-256 (RFC 7518 §3.2). */
export const MIN_SECRET_BYTES = 32;

export const KEY_SOURCES = ['AUTH_JWT_SECRET', 'AUTH_JWT_PUBLIC_KEY', 'AUTH_JWKS_URL'] as const;
export type KeySourceName = (typeof KEY_SOURCES)[number];

export type VerificationKey =
  | { source: 'AUTH_JWT_SECRET'; key: KeyObject; algorithms: readonly string[] }
  | { source: 'AUTH_JWT_PUBLIC_KEY'; key: KeyObject; algorithms: readonly string[] }
  | { source: 'AUTH_JWKS_URL'; url: URL; algorithms: readonly string[] };

export interface KeySourceOptions {
  /** A shared secret for HS256 (AUTH_JWT_SECRET), at least 32 bytes. */
  secret?: string;
  /** A PEM public key (SPKI) or certificate (AUTH_JWT_PUBLIC_KEY); `\n` escapes are read as newlines. */
  publicKey?: string;
  /** Where the JSON Web Key Set is fetched from (AUTH_JWKS_URL). */
  jwksUrl?: string;
  /** Allowed algorithms (AUTH_ALGORITHMS); default: HS256 for a secret, what the key can verify otherwise. */
  algorithms?: readonly string[];
}

/** The configured key sources, by variable name. */
export function keySources(o: KeySourceOptions): KeySourceName[] {
  const set: KeySourceName[] = [];
  if (o.secret !== undefined) set.push('AUTH_JWT_SECRET');
  if (o.publicKey !== undefined) set.push('AUTH_JWT_PUBLIC_KEY');
  if (o.jwksUrl !== undefined) set.push('AUTH_JWKS_URL');
  return set;
}

/** Resolves the one key source and its algorithms; throws an Error whose message names the variables at fault. */
export function verificationKey(o: KeySourceOptions): VerificationKey {
  const sources = keySources(o);
  if (sources.length !== 1) {
    throw new Error(
      sources.length === 0
        ? `no key source: set one of ${KEY_SOURCES.join(', ')}`
        : `${sources.join(' and ')} are all set: set exactly one key source (${KEY_SOURCES.join(', ')})`,
    );
  }
  if (o.secret !== undefined) {
    if (Buffer.byteLength(o.secret, 'utf8') < MIN_SECRET_BYTES)
      throw new Error(`AUTH_JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes long`);
    const algorithms = allowedAlgorithms(o.algorithms, HMAC_ALGORITHMS, ['HS256'], 'AUTH_JWT_SECRET (an HMAC secret)');
    return { source: 'AUTH_JWT_SECRET', key: createSecretKey(Buffer.from(o.secret, 'utf8')), algorithms };
  }
  if (o.publicKey !== undefined) {
    const key = publicKeyFromPem(o.publicKey);
    const fitting = algorithmsForKey(key);
    if (fitting.length === 0) throw new Error(`AUTH_JWT_PUBLIC_KEY: unsupported key type ${key.asymmetricKeyType ?? 'unknown'}`);
    const algorithms = allowedAlgorithms(o.algorithms, fitting, fitting, `the ${key.asymmetricKeyType} key of AUTH_JWT_PUBLIC_KEY`);
    return { source: 'AUTH_JWT_PUBLIC_KEY', key, algorithms };
  }
  let url: URL;
  try {
    url = new URL(o.jwksUrl!);
  } catch {
    throw new Error('AUTH_JWKS_URL is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('AUTH_JWKS_URL must be an http(s) URL');
  const algorithms = allowedAlgorithms(o.algorithms, ASYMMETRIC_ALGORITHMS, ASYMMETRIC_ALGORITHMS, 'AUTH_JWKS_URL (public keys)');
  return { source: 'AUTH_JWKS_URL', url, algorithms };
}

/** A PEM public key or certificate; private keys are refused (a verifier never needs one). */
export function publicKeyFromPem(text: string): KeyObject {
  const pem = text.replace(/\\n/g, '\n').trim();
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem))
    throw new Error('AUTH_JWT_PUBLIC_KEY holds a private key: give the public key (or certificate) only');
  try {
    if (pem.startsWith('-----BEGIN CERTIFICATE-----')) return new X509Certificate(pem).publicKey;
    if (!pem.startsWith('-----BEGIN ')) throw new Error('not PEM');
    return createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new Error('AUTH_JWT_PUBLIC_KEY is not a PEM public key or certificate');
  }
}

/** The JWS algorithms a public key can verify. */
export function algorithmsForKey(key: KeyObject): readonly string[] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
    case 'rsa-pss':
      return ['PS256', 'PS384', 'PS512'];
    case 'ec':
      return (
        ({ prime256v1: ['ES256'], secp384r1: ['ES384'], secp521r1: ['ES512'] } as Record<string, string[]>)[
          key.asymmetricKeyDetails?.namedCurve ?? ''
        ] ?? []
      );
    case 'ed25519':
    case 'ed448':
      return ['EdDSA'];
    default:
      return [];
  }
}

/** Parses AUTH_ALGORITHMS (comma- or space-separated). */
export function parseAlgorithmList(text: string): string[] {
  return text.split(/[\s,]+/).filter((a) => a !== '');
}

function allowedAlgorithms(
  configured: readonly string[] | undefined,
  fitting: readonly string[],
  defaults: readonly string[],
  keyName: string,
): readonly string[] {
  if (configured === undefined || configured.length === 0) return Object.freeze([...defaults]);
  for (const alg of configured) {
    if (alg.toLowerCase() === 'none') throw new Error('AUTH_ALGORITHMS: "none" (unsigned tokens) is never accepted');
    if (!HMAC_ALGORITHMS.includes(alg) && !ASYMMETRIC_ALGORITHMS.includes(alg)) {
      throw new Error(
        `AUTH_ALGORITHMS: unknown algorithm ${JSON.stringify(alg)} (one of ${[...HMAC_ALGORITHMS, ...ASYMMETRIC_ALGORITHMS].join(', ')})`,
      );
    }
    if (!fitting.includes(alg))
      throw new Error(`AUTH_ALGORITHMS: ${alg} does not fit ${keyName}, which verifies ${fitting.join(', ')} only`);
  }
  return Object.freeze([...new Set(configured)]);
}
