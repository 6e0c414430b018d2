/**
 * Public keys from a JWKS URL (AUTH_JWKS_URL): a local HTTP server (OS-chosen port) serves the
 * key set and counts its fetches. A token naming a new `kid` makes the verifier fetch the set
 * again, once; the keys are then cached; unknown kids do not make it fetch more often than the
 * cooldown allows; an unreachable key set is -41002 / 503 with Retry-After, never a 401.
 */
import type { KeyObject } from 'node:crypto';
import http from 'node:http';
import { exportJWK, type JWK } from 'jose';
import { TokenVerifier } from '../../src/auth/token-verifier';
import { AuthError } from '../../src/auth/auth-errors';
import { installAuth } from '../../src/auth/auth-hooks';
import { ArcAgent } from '../../src/router/agent';
import { ArcRouter } from '../../src/router/router';
import { freePort, listenPlain } from '../support/http';
import { recordingLogger } from '../support/recording-logger';
import { envelope, jsonReply, userMessage } from '../support/util';
import { AUDIENCE, ISSUER, bearer, ecKeys, fakeClock, mint, rsaKeys } from './tokens';

interface KeySetServer {
  url: string;
  fetches: number;
  keys: JWK[];
  close(): Promise<void>;
}

async function keySetServer(): Promise<KeySetServer> {
  const state = { fetches: 0, keys: [] as JWK[] };
  const plain = await listenPlain((_req, res) => {
    state.fetches += 1;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ keys: state.keys }));
  });
  return {
    url: `${plain.url}/.well-known/jwks.json`,
    get fetches() {
      return state.fetches;
    },
    get keys() {
      return state.keys;
    },
    set keys(k: JWK[]) {
      state.keys = k;
    },
    close: plain.close,
  };
}

async function jwk(key: KeyObject, kid: string, alg: string): Promise<JWK> {
  return { ...(await exportJWK(key)), kid, alg, use: 'sig' };
}

/** The refusal's reason ('accepted' if none); with `error`, the AuthError itself. */
async function reasonOf(v: TokenVerifier, token: string, error?: false): Promise<string>;
async function reasonOf(v: TokenVerifier, token: string, error: true): Promise<AuthError>;
async function reasonOf(v: TokenVerifier, token: string, error = false): Promise<string | AuthError> {
  try {
    await v.verify(token);
    return 'accepted';
  } catch (err) {
    expect(err).toBeInstanceOf(AuthError);
    return error ? (err as AuthError) : (err as AuthError).reason;
  }
}

const rsa1 = rsaKeys();
const rsa2 = rsaKeys();
const ec3 = ecKeys();

describe('JWKS key source', () => {
  let server: KeySetServer;
  beforeEach(async () => {
    server = await keySetServer();
    server.keys = [await jwk(rsa1.publicKey, 'k1', 'RS256')];
  });
  afterEach(() => server.close());

  const verifier = (cooldownMs: number) =>
    new TokenVerifier({ jwksUrl: server.url, issuer: ISSUER, audience: AUDIENCE, jwksCooldownMs: cooldownMs, now: fakeClock().now });

  it('fetches the set on first use, then serves every token of a known kid from it', async () => {
    const v = verifier(0);
    expect(await v.verify(await mint({ alg: 'RS256', kid: 'k1', sub: 'a' }, rsa1.privateKey))).toMatchObject({ subject: 'a' });
    expect(await v.verify(await mint({ alg: 'RS256', kid: 'k1', sub: 'b' }, rsa1.privateKey))).toMatchObject({ subject: 'b' });
    expect(server.fetches).toBe(1);
  });

  it('rotation: a token with a new kid fetches the set once; that key is then cached', async () => {
    const v = verifier(0);
    await v.verify(await mint({ alg: 'RS256', kid: 'k1' }, rsa1.privateKey));
    server.keys = [...server.keys, await jwk(rsa2.publicKey, 'k2', 'RS256'), await jwk(ec3.publicKey, 'k3', 'ES256')];
    const tokens = await Promise.all([
      mint({ alg: 'RS256', kid: 'k2', sub: 'x' }, rsa2.privateKey),
      mint({ alg: 'RS256', kid: 'k2', sub: 'y' }, rsa2.privateKey),
      mint({ alg: 'ES256', kid: 'k3', sub: 'z' }, ec3.privateKey),
    ]);
    expect(await v.verify(tokens[0]!)).toMatchObject({ subject: 'x' });
    expect(server.fetches).toBe(2);
    expect(await v.verify(tokens[1]!)).toMatchObject({ subject: 'y' });
    expect(await v.verify(tokens[2]!)).toMatchObject({ subject: 'z' });
    expect(await v.verify(await mint({ alg: 'RS256', kid: 'k1', sub: 'old' }, rsa1.privateKey))).toMatchObject({ subject: 'old' });
    expect(server.fetches).toBe(2);
  });

  it('an unknown kid is refused (-44001 unknown_key) and does not refetch within the cooldown', async () => {
    const v = verifier(60_000);
    await v.verify(await mint({ alg: 'RS256', kid: 'k1' }, rsa1.privateKey));
    for (const kid of ['nope-1', 'nope-2', 'nope-3']) {
      const err = await reasonOf(v, await mint({ alg: 'RS256', kid }, rsa2.privateKey), true);
      expect(err).toBeInstanceOf(AuthError);
      expect((err as AuthError).reason).toBe('unknown_key');
      expect((err as AuthError).code).toBe(-44001);
      expect((err as AuthError).message).toBe('No single key of the key set matches the token (check its kid)');
    }
    expect(server.fetches).toBe(1);
  });

  it('a key of the set with a token of the wrong key is refused; HS256 never verifies against a JWKS', async () => {
    const v = verifier(0);
    const forged = await mint({ alg: 'RS256', kid: 'k1' }, rsa2.privateKey);
    expect(await reasonOf(v, forged)).toBe('invalid_signature');
    const hs = await mint({ alg: 'HS256', kid: 'k1' }, new TextEncoder().encode(JSON.stringify(server.keys[0])));
    expect(await reasonOf(v, hs)).toBe('algorithm_not_allowed');
  });
});

describe('an unreachable key set', () => {
  it("answers -41002 / 503 with Retry-After (not the caller's fault), logs it, and recovers once the set answers", async () => {
    const port = await freePort();
    const logger = recordingLogger();
    const router = new ArcRouter({ serverId: 'jwks-down', logger });
    router.addAgent(new ArcAgent('agent-a').on('chat.start', () => 'hi'));
    const url = `http://127.0.0.1:${port}/jwks.json`;
    installAuth(router, { jwksUrl: url, jwksCooldownMs: 0, now: fakeClock().now, issuer: ISSUER, audience: AUDIENCE });
    const token = await mint({ alg: 'RS256', kid: 'k1', scope: 'arc.chat.controller arc.agent.caller' }, rsa1.privateKey);
    const call = () => jsonReply(router.handle(envelope('chat.start', { initialMessage: userMessage('hi') }), { headers: bearer(token) }));

    const r = await call();
    expect(r.status).toBe(503);
    expect(r.retryAfter).toBe(5);
    expect(r.body.error).toEqual({
      code: -41002,
      message: 'Tokens cannot be verified right now (the key set is unreachable); retry later',
      details: { reason: 'key_set_unavailable' },
    });
    const logged = logger.lines.find((l) => l.message === 'auth: cannot verify tokens');
    expect(logged?.level).toBe('error');
    expect(logged?.meta).toMatchObject({ reason: 'key_set_unavailable', code: -41002, detail: expect.stringContaining('ECONNREFUSED') });
    expect(JSON.stringify(logger.lines)).not.toContain(token);

    // The key set comes up on that port: the next request fetches it and is served.
    const keys = [await jwk(rsa1.publicKey, 'k1', 'RS256')];
    const up = http.createServer((_req, res) => res.end(JSON.stringify({ keys })));
    await new Promise<void>((resolve) => up.listen(port, '127.0.0.1', resolve));
    try {
      const ok = await call();
      expect(ok.status).toBe(200);
      expect(ok.body.error).toBeNull();
    } finally {
      up.closeAllConnections();
      await new Promise((resolve) => up.close(resolve));
      await router.chatStore.dispose();
    }
  });
});
