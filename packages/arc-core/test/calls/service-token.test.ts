/**
 * The token of HTTP agent calls (service-token.ts): AGENT_CALL_TOKEN as given, else a token the
 * calling service signs with the shared AUTH_JWT_SECRET - accepted by a callee with auth on and
 * requestAgent bound to the token, refused without it.
 */
import { decodeJwt, jwtVerify } from 'jose';
import { agentCallsFromConfig } from '../../src/calls/agent-call-config';
import { selfSignedTokens, SERVICE_TOKEN_SCOPES } from '../../src/calls/service-token';
import { loadConfig } from '../../src/config/config';
import { createArcServer, type ArcServer } from '../../src/express';
import { ArcAgent } from '../../src/router/agent';
import { envelope, userMessage } from '../support/util';
import { postJson } from '../support/http';
import { AUDIENCE, ISSUER, SECRET, mint } from '../auth/tokens';

describe('selfSignedTokens', () => {
  it('signs HS256 with sub = the calling agent, the call scopes, issuer, audience and a short life', async () => {
    const tokens = selfSignedTokens({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE });
    const token = await tokens('supervisor');
    const { payload, protectedHeader } = await jwtVerify(token, Buffer.from(SECRET, 'utf8'), { issuer: ISSUER, audience: AUDIENCE });
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload).toMatchObject({ sub: 'supervisor', scope: SERVICE_TOKEN_SCOPES.join(' ') });
    expect(payload.exp! - payload.iat!).toBe(300);
  });

  it('reuses a token until a fifth of its life is left, then signs a new one; one per agent', async () => {
    let now = 1_000_000;
    const tokens = selfSignedTokens({ secret: SECRET, ttlSeconds: 100, now: () => now });
    const first = await tokens('a');
    expect(await tokens('a')).toBe(first);
    expect(decodeJwt(await tokens('b')).sub).toBe('b');
    now += 79_000;
    expect(await tokens('a')).toBe(first);
    now += 2_000;
    const second = await tokens('a');
    expect(second).not.toBe(first);
    expect(decodeJwt(second).iat).toBe(Math.floor(now / 1000));
  });
});

describe('agentCallsFromConfig', () => {
  const base = { PORT: 8000, SERVER_ID: 's' };
  it('AGENT_CALL_TOKEN as given; else self-signed with AUTH_JWT_SECRET; else none', async () => {
    const given = agentCallsFromConfig(loadConfig({ AGENT_CALL_TOKEN: 'abc.def.ghi', AUTH_JWT_SECRET: SECRET }, base));
    expect(given.token).toBe('abc.def.ghi');
    const signed = agentCallsFromConfig(
      loadConfig({ AUTH_JWT_SECRET: SECRET, AUTH_ISSUER: `${ISSUER},other`, AUTH_AUDIENCE: AUDIENCE }, base),
    );
    expect(typeof signed.token).toBe('function');
    const token = await (signed.token as (a: string) => Promise<string>)('hr-agent');
    expect(decodeJwt(token)).toMatchObject({ sub: 'hr-agent', iss: ISSUER, aud: AUDIENCE });
    expect(agentCallsFromConfig(loadConfig({}, base)).token).toBeUndefined();
  });

  it('AGENT_CALL_TOKEN with spaces is refused at start, naming the variable but not the value', () => {
    expect(() => loadConfig({ AGENT_CALL_TOKEN: 'Bearer abc' }, base)).toThrow(/AGENT_CALL_TOKEN/);
    expect(() => loadConfig({ AGENT_CALL_TOKEN: 'Bearer abc' }, base)).not.toThrow(/Bearer abc/);
  });
});

describe('HTTP agent calls to a service with auth on', () => {
  const servers: ArcServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
  });

  async function callee(): Promise<string> {
    const server = createArcServer({
      serverId: 'callee',
      auth: { secret: SECRET, issuer: ISSUER, audience: AUDIENCE, bindRequestAgent: true },
    }).addAgent(new ArcAgent('finance-agent').on('chat.start', (_p, ctx) => `hello ${ctx.auth?.subject}`));
    servers.push(server);
    return (await server.listen(0, '127.0.0.1')).url;
  }

  async function caller(target: string, token: Parameters<typeof createArcServer>[0]['agentCalls']): Promise<string> {
    const server = createArcServer({ serverId: 'caller', agentCalls: { routes: { 'finance-agent': `${target}/arc` }, ...token } }).addAgent(
      new ArcAgent('supervisor').on('chat.start', async (p, ctx) => {
        try {
          return (await ctx.agents.chat.start('finance-agent', p.initialMessage)).chat.message;
        } catch (err) {
          return `refused: ${(err as { code?: number }).code}`;
        }
      }),
    );
    servers.push(server);
    return (await server.listen(0, '127.0.0.1')).url;
  }

  const ask = async (url: string) => {
    const res = await postJson(url, envelope('chat.start', { initialMessage: userMessage('hi') }, { targetAgent: 'supervisor' }));
    const json = res.json();
    if (!json?.result) throw new Error(`unexpected answer: ${JSON.stringify(json)}`);
    return json.result.chat.message.parts[0].content as string;
  };

  it('a self-signed token passes auth and the requestAgent binding; no token is -44001', async () => {
    const target = await callee();
    expect(await ask(await caller(target, { token: selfSignedTokens({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE }) }))).toBe(
      'hello supervisor',
    );
    expect(await ask(await caller(target, {}))).toBe('refused: -44001');
  });

  it('a fixed token is sent as it is', async () => {
    const target = await callee();
    const token = await mint({ sub: 'supervisor', scope: 'arc.chat.controller arc.agent.caller' });
    expect(await ask(await caller(target, { token }))).toBe('hello supervisor');
  });
});
