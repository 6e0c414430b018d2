/**
 * Auth on the wire: an ArcServer (createArcServer, OS-chosen port) with the auth hooks, called
 * over HTTP. Statuses, envelopes and the WWW-Authenticate header as a client receives them; the
 * Python client's captured chat.start (shared/protocol/captures) replayed with an Authorization
 * header passes, without one gets 401; /health stays open.
 */
import { installAuth } from '../../src/auth/auth-hooks';
import { createArcServer, type ArcServer } from '../../src/express';
import { ArcAgent } from '../../src/router/agent';
import { loadCapture } from '../support/captures';
import { httpRequest, postJson, type RawResponse } from '../support/http';
import { envelope, userMessage } from '../support/util';
import { AUDIENCE, ISSUER, SECRET, fakeClock, mint } from './tokens';

const CHAT_SCOPES = 'arc.chat.controller arc.agent.caller';

describe('auth over HTTP', () => {
  let server: ArcServer;
  let url: string;

  beforeAll(async () => {
    server = createArcServer({ serverId: 'auth-http' });
    server.addAgent(new ArcAgent('finance-agent').on('chat.start', (_p, ctx) => `Hello ${ctx.auth?.subject ?? 'nobody'}`));
    installAuth(server.router, { secret: SECRET, issuer: ISSUER, audience: AUDIENCE, now: fakeClock().now });
    ({ url } = await server.listen(0, '127.0.0.1'));
  });
  afterAll(() => server.close({ graceMs: 1000 }));

  const start = () => envelope('chat.start', { initialMessage: userMessage('hi') }, { targetAgent: 'finance-agent' });
  const post = (headers: Record<string, string>) => postJson(url, start(), { 'Content-Type': 'application/arc+json', ...headers });

  function expectJsonError(r: RawResponse, status: number, code: number): void {
    expect(r.status).toBe(status);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.json().error.code).toBe(code);
  }

  it('no token: 401 -44001 with WWW-Authenticate: Bearer realm="arc"', async () => {
    const r = await post({});
    expectJsonError(r, 401, -44001);
    expect(r.headers['www-authenticate']).toBe('Bearer realm="arc"');
  });

  it('an expired token: 401 with error="invalid_token" and a description', async () => {
    const r = await post({ Authorization: `Bearer ${await mint({ now: 1_000_000, expIn: 5, scope: CHAT_SCOPES })}` });
    expectJsonError(r, 401, -44001);
    expect(r.headers['www-authenticate']).toBe('Bearer realm="arc", error="invalid_token", error_description="The token has expired"');
  });

  it('missing scopes: 403 -44003 with the details the Python client reads and error="insufficient_scope"', async () => {
    const r = await post({ Authorization: `Bearer ${await mint({ scope: 'arc.agent.caller' })}` });
    expectJsonError(r, 403, -44003);
    expect(r.json().error.details).toEqual({
      required_scopes: ['arc.chat.controller', 'arc.agent.caller'],
      provided_scopes: ['arc.agent.caller'],
      method: 'chat.start',
    });
    expect(r.headers['www-authenticate']).toMatch(
      /^Bearer realm="arc", error="insufficient_scope", error_description="[^"]+", scope="arc.chat.controller arc.agent.caller"$/,
    );
  });

  it('a valid token: 200, no challenge, the handler knows the caller', async () => {
    const r = await post({ Authorization: `Bearer ${await mint({ sub: 'alice', scope: CHAT_SCOPES })}` });
    expect(r.status).toBe(200);
    expect(r.headers['www-authenticate']).toBeUndefined();
    expect(r.json().result.chat.message.parts[0].content).toBe('Hello alice');
  });

  it('/health and /health/live stay open', async () => {
    expect((await httpRequest(url, { method: 'GET', path: '/health' })).status).toBe(200);
    expect((await httpRequest(url, { method: 'GET', path: '/health/live' })).status).toBe(200);
  });

  describe('the captured Python client request (chat_start.txt)', () => {
    const capture = loadCapture('chat_start.txt');
    const replay = (extra: Record<string, string>) => {
      const headers: Record<string, string> = { ...extra };
      for (const name of ['content-type', 'accept', 'user-agent']) headers[name] = capture.request.headers[name]!;
      return httpRequest(url, { method: 'POST', path: '/arc', headers, body: capture.request.body });
    };

    it('with an Authorization header: served as recorded', async () => {
      const r = await replay({ Authorization: `Bearer ${await mint({ sub: 'arc-capture-client', scope: CHAT_SCOPES })}` });
      expect(r.status).toBe(capture.response.status);
      const body = r.json();
      const sent = JSON.parse(capture.request.body.toString('utf8'));
      expect(body).toMatchObject({
        arc: '1.0',
        id: sent.id,
        responseAgent: 'finance-agent',
        targetAgent: 'arc-capture-client',
        error: null,
        traceId: sent.traceId,
      });
      expect(body.result.chat.status).toBe('ACTIVE');
    });

    it('without: 401 -44001, which the Python client raises as AuthenticationError', async () => {
      const r = await replay({});
      expectJsonError(r, 401, -44001);
      expect(r.headers['www-authenticate']).toBe('Bearer realm="arc"');
      // The server answers, not the agent: an unauthenticated caller cannot tell which agents exist.
      expect(r.json().responseAgent).toBe('auth-http');
    });
  });
});
