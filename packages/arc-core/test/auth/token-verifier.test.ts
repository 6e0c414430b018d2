/**
 * TokenVerifier (auth/token-verifier.ts): key sources and their algorithms, what each failure is
 * reported as, and the cache of verified tokens (bounded, honours expiry, one verification for
 * concurrent first uses). Time is a fake clock given to both the cache and jose.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CompactSign } from 'jose';
import { AuthError } from '../../src/auth/auth-errors';
import { publicKeyFromPem } from '../../src/auth/verification-key';
import { TokenVerifier, type TokenVerifierOptions } from '../../src/auth/token-verifier';
import type { AuthContext } from '../../src/auth/caller';
import { AUDIENCE, ISSUER, OTHER_SECRET, SECRET, T0, ecKeys, fakeClock, mint, rsaKeys, unsigned } from './tokens';

function verifier(options: Partial<TokenVerifierOptions> = {}, clock = fakeClock()): TokenVerifier {
  return new TokenVerifier({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE, now: clock.now, ...options });
}

/** A correctly signed JWS whose payload is not a JWT claims set. */
function signedPayload(payload: string): Promise<string> {
  return new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
}

async function refusal(v: TokenVerifier, token: string): Promise<AuthError> {
  try {
    await v.verify(token);
  } catch (err) {
    expect(err).toBeInstanceOf(AuthError);
    return err as AuthError;
  }
  throw new Error('the token was accepted');
}

describe('TokenVerifier: what a token must be', () => {
  it('accepts a valid HS256 token and describes its caller (subject, scopes, frozen claims)', async () => {
    const caller = (await verifier().verify(
      await mint({ sub: 'finance-client', scope: 'arc.chat.controller arc.agent.caller' }),
    )) as AuthContext;
    expect(caller).toEqual({
      subject: 'finance-client',
      scopes: ['arc.chat.controller', 'arc.agent.caller'],
      claims: { sub: 'finance-client', scope: 'arc.chat.controller arc.agent.caller', iss: ISSUER, aud: AUDIENCE, iat: T0, exp: T0 + 600 },
    });
    expect(Object.isFrozen(caller) && Object.isFrozen(caller.claims) && Object.isFrozen(caller.scopes)).toBe(true);
  });

  it.each([
    ['scope as a list', { scope: ['a', 'b'] }, ['a', 'b']],
    ['scp', { scp: 'c d' }, ['c', 'd']],
    ['permissions', { permissions: ['e'] }, ['e']],
    ['the first present claim wins', { scope: 'x', scp: 'y', permissions: ['z'] }, ['x']],
    ['a null scope is absent', { scope: null, scp: ['y'] }, ['y']],
    ['no scope claim', {}, []],
  ])('scopes from %s', async (_name, extra, scopes) => {
    const caller = (await verifier().verify(await mint({ extra }))) as AuthContext;
    expect(caller.scopes).toEqual(scopes);
  });

  it.each<[string, () => Promise<string>, string, string]>([
    ['a bad signature', () => mint({}, OTHER_SECRET), 'invalid_signature', 'The token signature is invalid'],
    ['an expired token', () => mint({ now: T0 - 100, expIn: 60 }), 'token_expired', 'The token has expired'],
    ['a token not valid yet', () => mint({ extra: { nbf: T0 + 3600 } }), 'token_not_yet_valid', 'The token is not valid yet (nbf)'],
    ['a wrong issuer', () => mint({ iss: 'https://other' }), 'wrong_issuer', `The token issuer is not accepted (expected ${ISSUER})`],
    ['a wrong audience', () => mint({ aud: ['x', 'y'] }), 'wrong_audience', `The token audience is not accepted (expected ${AUDIENCE})`],
    ['a token without exp', () => mint({ expIn: null }), 'missing_claim', 'The token has no "exp" claim'],
    ['a malformed token', async () => 'not-a-jwt', 'malformed_token', 'The bearer token is not a well-formed JWT'],
    [
      'a signed payload that is not a claims object',
      () => signedPayload('[1,2]'),
      'malformed_token',
      'The bearer token is not a well-formed JWT',
    ],
    ['a signed payload that is not JSON', () => signedPayload('hello'), 'malformed_token', 'The bearer token is not a well-formed JWT'],
  ])('refuses %s with -44001 and a reason', async (_name, token, reason, message) => {
    const err = await refusal(verifier(), await token());
    expect({ code: err.code, reason: err.reason, message: err.message, details: err.details }).toEqual({
      code: -44001,
      reason,
      message,
      details: { reason },
    });
  });

  it('tolerates clock skew up to the tolerance, not beyond', async () => {
    const clock = fakeClock();
    const token = await mint({ expIn: 10 });
    clock.advance(10 + 29);
    expect(await verifier({ clockToleranceSeconds: 30, cacheSize: 0 }, clock).verify(token)).toMatchObject({ subject: 'caller-1' });
    clock.advance(2);
    expect((await refusal(verifier({ clockToleranceSeconds: 30, cacheSize: 0 }, clock), token)).reason).toBe('token_expired');
  });

  it('accepts any of several issuers and audiences', async () => {
    const v = verifier({ issuer: ['https://a', ISSUER], audience: ['x', AUDIENCE] });
    expect(await v.verify(await mint({ aud: ['other', AUDIENCE] }))).toMatchObject({ subject: 'caller-1' });
  });

  it('never accepts alg "none"', async () => {
    const token = unsigned({ sub: 'x', iss: ISSUER, aud: AUDIENCE, exp: T0 + 60 });
    expect((await refusal(verifier(), token)).reason).toBe('algorithm_not_allowed');
    expect(() => verifier({ algorithms: ['none'] })).toThrow('AUTH_ALGORITHMS: "none" (unsigned tokens) is never accepted');
  });

  it('a secret verifies HS256 only unless more HMAC algorithms are allowed', async () => {
    const hs512 = await mint({ alg: 'HS512' });
    expect((await refusal(verifier(), hs512)).message).toBe("The token's algorithm is not allowed (allowed: HS256)");
    expect(await verifier({ algorithms: ['HS256', 'HS512'] }).verify(hs512)).toMatchObject({ subject: 'caller-1' });
    expect(() => verifier({ algorithms: ['RS256'] })).toThrow(
      'AUTH_ALGORITHMS: RS256 does not fit AUTH_JWT_SECRET (an HMAC secret), which verifies HS256, HS384, HS512 only',
    );
  });

  it('a secret shorter than 32 bytes is refused', () => {
    expect(() => verifier({ secret: 'short' })).toThrow('AUTH_JWT_SECRET must be at least 32 bytes long');
  });
});

describe('TokenVerifier: public keys', () => {
  const rsa = rsaKeys();
  const ec = ecKeys();

  it('verifies RS256 with a PEM public key (also given with \\n escapes, as env files carry it)', async () => {
    const token = await mint({ alg: 'RS256', sub: 'rsa-caller' }, rsa.privateKey);
    expect(await verifier({ secret: undefined, publicKey: rsa.publicPem }).verify(token)).toMatchObject({ subject: 'rsa-caller' });
    const escaped = rsa.publicPem.replace(/\n/g, '\\n');
    expect(await verifier({ secret: undefined, publicKey: escaped }).verify(token)).toMatchObject({ subject: 'rsa-caller' });
  });

  it('verifies ES256 with an EC key, whose only algorithm is ES256', async () => {
    const v = verifier({ secret: undefined, publicKey: ec.publicPem });
    expect(v.algorithms).toEqual(['ES256']);
    expect(await v.verify(await mint({ alg: 'ES256' }, ec.privateKey))).toMatchObject({ subject: 'caller-1' });
    expect(() => verifier({ secret: undefined, publicKey: ec.publicPem, algorithms: ['RS256'] })).toThrow(
      'AUTH_ALGORITHMS: RS256 does not fit the ec key of AUTH_JWT_PUBLIC_KEY, which verifies ES256 only',
    );
  });

  it('HS/RS confusion: an HS256 token "signed" with the public key as secret is refused', async () => {
    const forged = await mint({ alg: 'HS256' }, new TextEncoder().encode(rsa.publicPem));
    const err = await refusal(verifier({ secret: undefined, publicKey: rsa.publicPem }), forged);
    expect(err.reason).toBe('algorithm_not_allowed');
    expect(() => verifier({ secret: undefined, publicKey: rsa.publicPem, algorithms: ['HS256'] })).toThrow(
      /HS256 does not fit the rsa key/,
    );
  });

  it('a token signed by another key is refused', async () => {
    const other = rsaKeys();
    const err = await refusal(verifier({ secret: undefined, publicKey: rsa.publicPem }), await mint({ alg: 'RS256' }, other.privateKey));
    expect(err.reason).toBe('invalid_signature');
  });

  it('reads a certificate (its public key); refuses a private key and text that is not PEM', () => {
    const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures', name), 'utf8');
    const fromCert = publicKeyFromPem(fixture('cert.pem'));
    expect(fromCert.export({ type: 'spki', format: 'pem' })).toBe(fixture('cert-public.pem'));
    expect(verifier({ secret: undefined, publicKey: fixture('cert.pem') }).algorithms).toEqual(['ES256']);
    const privatePem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => verifier({ secret: undefined, publicKey: privatePem })).toThrow('AUTH_JWT_PUBLIC_KEY holds a private key');
    expect(() => verifier({ secret: undefined, publicKey: 'hello' })).toThrow('AUTH_JWT_PUBLIC_KEY is not a PEM public key or certificate');
  });

  it('exactly one key source', () => {
    expect(() => verifier({ publicKey: rsa.publicPem })).toThrow(
      'AUTH_JWT_SECRET and AUTH_JWT_PUBLIC_KEY are all set: set exactly one key source (AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY, AUTH_JWKS_URL)',
    );
    expect(() => verifier({ secret: undefined })).toThrow('no key source: set one of AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY, AUTH_JWKS_URL');
  });
});

describe('TokenVerifier: the cache of verified tokens', () => {
  it('answers a known token at once (no promise), with the same caller object', async () => {
    const v = verifier();
    const token = await mint();
    const first = await v.verify(token);
    const second = v.verify(token);
    expect(second).not.toBeInstanceOf(Promise);
    expect(second).toBe(first);
    expect(v.cachedTokens).toBe(1);
  });

  it('an expired cached token is refused, not served from the cache', async () => {
    const clock = fakeClock();
    const v = verifier({ clockToleranceSeconds: 0 }, clock);
    const token = await mint({ expIn: 5 });
    await v.verify(token);
    clock.advance(4);
    expect(v.verify(token)).not.toBeInstanceOf(Promise);
    clock.advance(1); // exactly exp
    const again = v.verify(token);
    expect(again).toBeInstanceOf(Promise);
    expect((await refusal(v, token)).reason).toBe('token_expired');
  });

  it('keeps an entry at most cacheMaxAgeMs, then verifies again', async () => {
    const clock = fakeClock();
    const v = verifier({ cacheMaxAgeMs: 10_000 }, clock);
    const token = await mint({ expIn: 3600 });
    await v.verify(token);
    clock.advance(9);
    expect(v.verify(token)).not.toBeInstanceOf(Promise);
    clock.advance(1);
    const again = v.verify(token);
    expect(again).toBeInstanceOf(Promise);
    expect(await again).toMatchObject({ subject: 'caller-1' });
  });

  it('is bounded: the least recently used token goes first', async () => {
    const v = verifier({ cacheSize: 2 });
    const [a, b, c] = await Promise.all([mint({ sub: 'a' }), mint({ sub: 'b' }), mint({ sub: 'c' })]);
    await v.verify(a);
    await v.verify(b);
    v.verify(a); // a is now the most recently used
    await v.verify(c);
    expect(v.cachedTokens).toBe(2);
    expect(v.verify(a)).not.toBeInstanceOf(Promise);
    expect(v.verify(c)).not.toBeInstanceOf(Promise);
    expect(v.verify(b)).toBeInstanceOf(Promise);
  });

  it('cacheSize 0 verifies every time; failures are never cached', async () => {
    const v = verifier({ cacheSize: 0 });
    const token = await mint();
    await v.verify(token);
    expect(v.verify(token)).toBeInstanceOf(Promise);
    const bad = await mint({}, OTHER_SECRET);
    const w = verifier();
    await refusal(w, bad);
    expect(w.cachedTokens).toBe(0);
  });

  it('concurrent first uses of one token share one verification', async () => {
    const v = verifier();
    const token = await mint();
    const pending = [v.verify(token), v.verify(token), v.verify(token)];
    expect(pending[0]).toBe(pending[1]);
    const callers = await Promise.all(pending);
    expect(callers[0]).toBe(callers[2]);
  });

  it('the last token is answered without hashing, but never for another token (a forged one after a good one is refused)', async () => {
    const clock = fakeClock();
    const v = verifier({ cacheMaxAgeMs: 60_000 }, clock);
    const good = await mint({ sub: 'alice' });
    const alice = await v.verify(good);
    expect(v.verify(good)).toBe(alice);
    // Same header and payload, another signature: not the remembered token.
    const forged = `${good.slice(0, good.lastIndexOf('.'))}.${'A'.repeat(43)}`;
    expect((await refusal(v, forged)).reason).toBe('invalid_signature');
    const bob = await v.verify(await mint({ sub: 'bob' }));
    expect(bob.subject).toBe('bob');
    expect(v.verify(good)).toBe(alice); // from the cache again
    // Past the cache's age limit the remembered token is verified again, like a cached one.
    clock.advance(61);
    expect(v.verify(good)).toBeInstanceOf(Promise);
  });

  it('the cache holds no token, only its hash', async () => {
    const v = verifier();
    const token = await mint();
    await v.verify(token);
    const entries = (v as unknown as { cache: { entries: Map<string, unknown> } }).cache.entries;
    expect([...entries.keys()].some((k) => k.includes(token) || token.includes(k))).toBe(false);
  });
});
