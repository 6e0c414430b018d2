/**
 * Bearer tokens on the client: ArcClient's `tokenProvider` (called before every request), and
 * clientCredentials() (src/client/token-provider.ts) against a local OAuth2 token endpoint:
 * the grant as sent (Basic or form body), the cache, the refresh before expiry, one refresh for
 * concurrent callers, and the typed error that never shows the secret.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ArcClient } from '../../src/client';
import { ClientCredentialsError } from '../../src/client/errors';
import { clientCredentials, type ClientCredentialsOptions } from '../../src/client/token-provider';
import { freePort, listenPlain } from '../support/http';
import { rejection } from '../support/util';

const SECRET = 's3cr3t:+/value';

interface TokenRequest {
  method: string | undefined;
  authorization: string | undefined;
  contentType: string | undefined;
  form: Record<string, string>;
}

type TokenReply = { status: number; body: unknown } | 'hang';

/** A token endpoint answering its n-th request (from 1) with `reply(n)`. */
async function tokenServer(reply: (n: number) => TokenReply) {
  const seen: TokenRequest[] = [];
  const plain = await listenPlain((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method,
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        form: Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))),
      });
      const r = reply(seen.length);
      if (r === 'hang') return;
      const text = typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
      res.writeHead(r.status, { 'Content-Type': typeof r.body === 'string' ? 'text/html' : 'application/json' });
      res.end(text);
    });
  });
  return { tokenUrl: `${plain.url}/oauth/token`, seen, close: plain.close };
}

/** Token `at-<n>`; `expiresIn` null: no expires_in. */
const issued = (n: number, expiresIn: number | null = 3600): TokenReply => ({
  status: 200,
  body: { access_token: `at-${n}`, token_type: 'Bearer', ...(expiresIn === null ? {} : { expires_in: expiresIn }) },
});

const options = (tokenUrl: string, extra: Partial<ClientCredentialsOptions> = {}): ClientCredentialsOptions => ({
  tokenUrl,
  clientId: 'my client',
  clientSecret: SECRET,
  ...extra,
});

/** Only Date is faked: the servers, fetch and timers run as usual. */
function fakeDate(now: number): void {
  jest.useFakeTimers({
    now,
    doNotFake: [
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'requestAnimationFrame',
      'cancelAnimationFrame',
      'requestIdleCallback',
      'cancelIdleCallback',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'setTimeout',
      'clearTimeout',
    ],
  });
}

describe('ArcClient tokenProvider', () => {
  let arc: Awaited<ReturnType<typeof listenPlain>>;
  const auth: Array<string | undefined> = [];

  beforeAll(async () => {
    arc = await listenPlain((req, res) => {
      auth.push(req.headers.authorization);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const { id } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: string };
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ arc: '1.0', id, responseAgent: 'a', targetAgent: 'c', result: { ok: true }, error: null }));
      });
    });
  });
  afterAll(() => arc.close());
  beforeEach(() => {
    auth.length = 0;
  });

  it('is called before every request; its token goes out as a bearer token', async () => {
    let calls = 0;
    const client = new ArcClient(`${arc.url}/arc`, { tokenProvider: () => `tok-${++calls}` });
    await client.request('x', 'a', {});
    await client.request('x', 'a', {});
    const asyncClient = new ArcClient(`${arc.url}/arc`, { tokenProvider: async () => Promise.resolve('tok-async') });
    await asyncClient.request('x', 'a', {});
    expect(auth).toEqual(['Bearer tok-1', 'Bearer tok-2', 'Bearer tok-async']);
  });

  it('a provider that fails fails the call with its own error, before anything is sent', async () => {
    const boom = new Error('no token today');
    const err = await rejection(new ArcClient(`${arc.url}/arc`, { tokenProvider: () => Promise.reject(boom) }).request('x', 'a', {}));
    expect(err).toBe(boom);
    const empty = await rejection(new ArcClient(`${arc.url}/arc`, { tokenProvider: () => '' }).request('x', 'a', {}));
    expect(empty).toBeInstanceOf(TypeError);
    expect(auth).toEqual([]);
  });

  it('token and tokenProvider together are refused', () => {
    expect(() => new ArcClient(`${arc.url}/arc`, { token: 't', tokenProvider: () => 't' })).toThrow(/token or tokenProvider/);
  });

  it('with clientCredentials: one token request serves many calls', async () => {
    const idp = await tokenServer((n) => issued(n));
    try {
      const client = new ArcClient(`${arc.url}/arc`, { tokenProvider: clientCredentials(options(idp.tokenUrl)) });
      await Promise.all([client.request('x', 'a', {}), client.request('x', 'a', {})]);
      await client.request('x', 'a', {});
      expect(auth).toEqual(['Bearer at-1', 'Bearer at-1', 'Bearer at-1']);
      expect(idp.seen).toHaveLength(1);
    } finally {
      await idp.close();
    }
  });
});

describe('clientCredentials', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('client_secret_basic (default): form-encoded id and secret in Basic, the grant, scope and audience in the body', async () => {
    const idp = await tokenServer((n) => issued(n));
    try {
      const provider = clientCredentials(
        options(idp.tokenUrl, { scope: ['arc.chat.controller', 'arc.agent.caller'], audience: 'arc-api' }),
      );
      await expect(provider()).resolves.toBe('at-1');
      const [sent] = idp.seen;
      expect(sent).toEqual({
        method: 'POST',
        authorization: `Basic ${Buffer.from('my+client:s3cr3t%3A%2B%2Fvalue').toString('base64')}`,
        contentType: 'application/x-www-form-urlencoded',
        form: { grant_type: 'client_credentials', scope: 'arc.chat.controller arc.agent.caller', audience: 'arc-api' },
      });
    } finally {
      await idp.close();
    }
  });

  it('client_secret_post: id and secret in the body, no Authorization', async () => {
    const idp = await tokenServer((n) => issued(n));
    try {
      await clientCredentials(options(idp.tokenUrl, { authMethod: 'client_secret_post', scope: 'arc.task.controller' }))();
      expect(idp.seen[0]!.authorization).toBeUndefined();
      expect(idp.seen[0]!.form).toEqual({
        grant_type: 'client_credentials',
        scope: 'arc.task.controller',
        client_id: 'my client',
        client_secret: SECRET,
      });
    } finally {
      await idp.close();
    }
  });

  it('keeps the token until refreshBeforeSeconds before it expires, then fetches a new one', async () => {
    const idp = await tokenServer((n) => issued(n, 3600));
    const t0 = Date.parse('2025-01-01T00:00:00Z');
    try {
      fakeDate(t0);
      const provider = clientCredentials(options(idp.tokenUrl));
      expect(await provider()).toBe('at-1');
      jest.setSystemTime(t0 + 3539_000);
      // A cached token is returned at once, without a promise.
      expect(provider()).toBe('at-1');
      expect(idp.seen).toHaveLength(1);
      jest.setSystemTime(t0 + 3541_000);
      expect(await provider()).toBe('at-2');
      expect(idp.seen).toHaveLength(2);
      expect(provider()).toBe('at-2');
    } finally {
      await idp.close();
    }
  });

  it('a token shorter-lived than the margin is kept half its lifetime; no expires_in → 300 s', async () => {
    const idp = await tokenServer((n) => (n === 1 ? issued(n, 60) : issued(n, null)));
    const t0 = Date.parse('2025-01-01T00:00:00Z');
    try {
      fakeDate(t0);
      const provider = clientCredentials(options(idp.tokenUrl));
      expect(await provider()).toBe('at-1');
      jest.setSystemTime(t0 + 29_000);
      expect(await provider()).toBe('at-1');
      jest.setSystemTime(t0 + 31_000);
      expect(await provider()).toBe('at-2');
      // at-2 came without expires_in: 300 s, less the 60 s margin.
      jest.setSystemTime(t0 + 31_000 + 239_000);
      expect(await provider()).toBe('at-2');
      jest.setSystemTime(t0 + 31_000 + 241_000);
      expect(await provider()).toBe('at-3');
    } finally {
      await idp.close();
    }
  });

  it('concurrent callers share one token request, first and at each refresh', async () => {
    const idp = await tokenServer((n) => issued(n, 3600));
    const t0 = Date.parse('2025-01-01T00:00:00Z');
    try {
      fakeDate(t0);
      const provider = clientCredentials(options(idp.tokenUrl));
      expect(await Promise.all(Array.from({ length: 8 }, () => provider()))).toEqual(Array(8).fill('at-1'));
      expect(idp.seen).toHaveLength(1);
      jest.setSystemTime(t0 + 3600_000);
      expect(await Promise.all(Array.from({ length: 8 }, () => provider()))).toEqual(Array(8).fill('at-2'));
      expect(idp.seen).toHaveLength(2);
    } finally {
      await idp.close();
    }
  });

  it('a refusal → ClientCredentialsError with status and OAuth error, never the secret; every waiter gets it; the next call tries again', async () => {
    const idp = await tokenServer((n) =>
      n === 1 ? { status: 401, body: { error: 'invalid_client', error_description: `Client secret ${SECRET} is wrong` } } : issued(n),
    );
    try {
      const provider = clientCredentials(options(`${idp.tokenUrl}?tenant=t1`));
      const errors = await Promise.all([rejection(provider()), rejection(provider())]);
      expect(idp.seen).toHaveLength(1);
      expect(errors[0]).toBe(errors[1]);
      const err = errors[0] as ClientCredentialsError;
      expect(err).toBeInstanceOf(ClientCredentialsError);
      expect(err.name).toBe('ClientCredentialsError');
      expect(err.httpStatus).toBe(401);
      expect(err.oauthError).toBe('invalid_client');
      expect(err.tokenUrl).toBe(idp.tokenUrl);
      expect(err.message).toBe(`OAuth2 token request to ${idp.tokenUrl} was refused: HTTP 401 invalid_client (Client secret *** is wrong)`);
      expect(JSON.stringify({ ...err, message: err.message, stack: err.stack })).not.toContain(SECRET);
      await expect(provider()).resolves.toBe('at-2');
    } finally {
      await idp.close();
    }
  });

  it.each<[string, TokenReply, RegExp]>([
    ['an HTML error page', { status: 502, body: '<html>Bad Gateway</html>' }, /was refused: HTTP 502$/],
    ['no access_token', { status: 200, body: { token_type: 'Bearer' } }, /got an answer without access_token$/],
    ['a token that is not Bearer', { status: 200, body: { access_token: 'x', token_type: 'mac' } }, /got token_type mac, not Bearer$/],
    ['a body that is not JSON', { status: 200, body: 'ok' }, /got HTTP 200 with a body that is not a JSON object$/],
  ])('%s → ClientCredentialsError', async (_name, reply, message) => {
    const idp = await tokenServer(() => reply);
    try {
      const err = await rejection(clientCredentials(options(idp.tokenUrl))());
      expect(err).toBeInstanceOf(ClientCredentialsError);
      expect((err as Error).message).toMatch(message);
    } finally {
      await idp.close();
    }
  });

  it('no server, or no answer in time → ClientCredentialsError saying so', async () => {
    const port = await freePort();
    const refused = (await rejection(clientCredentials(options(`http://127.0.0.1:${port}/token`))())) as ClientCredentialsError;
    expect(refused).toBeInstanceOf(ClientCredentialsError);
    expect(refused.message).toBe(`OAuth2 token request to http://127.0.0.1:${port}/token failed: ECONNREFUSED`);
    expect(refused.cause).toBeDefined();

    const idp = await tokenServer(() => 'hang');
    try {
      const late = await rejection(clientCredentials(options(idp.tokenUrl, { timeoutMs: 100 }))());
      expect((late as Error).message).toBe(`OAuth2 token request to ${idp.tokenUrl} got no answer within 100 ms`);
    } finally {
      await idp.close();
    }
  });

  it('refuses bad options at once, without showing the secret', () => {
    const bad: Array<[Partial<ClientCredentialsOptions>, RegExp]> = [
      [{ tokenUrl: 'not a url' }, /tokenUrl is not a URL/],
      [{ tokenUrl: 'ftp://idp/token' }, /http or https/],
      [{ tokenUrl: `https://id:${encodeURIComponent(SECRET)}@idp/token` }, /must not carry credentials/],
      [{ clientSecret: '' }, /clientSecret is required/],
      [{ clientId: '' }, /clientId is required/],
      [{ refreshBeforeSeconds: -1 }, /refreshBeforeSeconds/],
      [{ authMethod: 'private_key_jwt' as never }, /authMethod/],
    ];
    for (const [extra, message] of bad) {
      const err = (() => {
        try {
          clientCredentials(options('https://idp.example/token', extra));
        } catch (e) {
          return e as Error;
        }
        throw new Error(`accepted ${JSON.stringify(extra)}`);
      })();
      expect(err).toBeInstanceOf(TypeError);
      expect(err.message).toMatch(message);
      expect(err.message).not.toContain('s3cr3t');
    }
  });
});
