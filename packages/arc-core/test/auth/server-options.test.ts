/**
 * Auth and rate limits turned on through ArcServer's options (`auth`, `rateLimits`), as
 * runService does from AUTH_* / RATE_LIMIT_* (serverOptions): /agent-info per
 * `protectAgentInfo`, /health open, a signed webhook delivery needing no bearer token, the
 * rate limiter counting the token's subject, installed for an agent's own limit, closed with
 * the server.
 */
import { loadConfig } from '../../src/config/config';
import { createArcServer, serverOptions, type ArcServer, type ArcServerOptions } from '../../src/express';
import { MemoryRateCounterStore } from '../../src/limits/memory-rate-counter';
import { MemoryChatStore } from '../../src/state/memory-chat-store';
import { ArcAgent } from '../../src/router/agent';
import { silentLogger } from '../../src/logging/logger';
import { loadWebhookCapture } from '../webhooks/webhook-capture';
import { httpRequest, postJson, type RawResponse } from '../support/http';
import { envelope, userMessage } from '../support/util';
import { AUDIENCE, ISSUER, SECRET, mint } from './tokens';

const CHAT = 'arc.chat.controller arc.agent.caller';

function chatAgent(id = 'finance-agent', options?: ConstructorParameters<typeof ArcAgent>[1]): ArcAgent {
  return new ArcAgent(id, options).on('chat.start', (_p, ctx) => `hello ${ctx.auth?.subject ?? 'anonymous'}`);
}

async function serve(options: Partial<ArcServerOptions>, ...agents: ArcAgent[]): Promise<{ server: ArcServer; url: string }> {
  const server = createArcServer({ serverId: 'auth-options', ...options });
  for (const agent of agents) server.addAgent(agent);
  const { url } = await server.listen(0, '127.0.0.1');
  return { server, url };
}

const chatStart = (requestAgent = 'caller-app', targetAgent = 'finance-agent') =>
  envelope('chat.start', { initialMessage: userMessage('hi') }, { requestAgent, targetAgent });

const post = (url: string, body: unknown, token?: string): Promise<RawResponse> =>
  postJson(url, body, { 'Content-Type': 'application/arc+json', ...(token ? { Authorization: `Bearer ${token}` } : {}) });

// Tokens minted at T0 (2030) would be rejected by the real clock: mint them around now.
const nowSeconds = () => Math.floor(Date.now() / 1000);
const token = (sub: string, scope = CHAT) => mint({ sub, scope, now: nowSeconds() });

describe('ArcServer auth option', () => {
  it('/agent-info needs a token by default (401 + WWW-Authenticate); /health and /health/live stay open', async () => {
    const { server, url } = await serve({ auth: { secret: SECRET, issuer: ISSUER, audience: AUDIENCE } }, chatAgent());
    try {
      const refused = await httpRequest(url, { method: 'GET', path: '/agent-info' });
      expect(refused.status).toBe(401);
      expect(refused.headers['www-authenticate']).toBe('Bearer realm="arc"');
      expect(refused.json().error).toMatchObject({ code: -44001, details: { reason: 'missing_token' } });

      const bad = await httpRequest(url, { method: 'GET', path: '/agent-info', headers: { Authorization: 'Bearer not.a.jwt' } });
      expect(bad.status).toBe(401);
      expect(bad.headers['www-authenticate']).toMatch(/^Bearer realm="arc", error="invalid_token"/);

      const ok = await httpRequest(url, { method: 'GET', path: '/agent-info', headers: { Authorization: `Bearer ${await token('ops')}` } });
      expect(ok.status).toBe(200);
      expect(Object.keys(ok.json().registeredAgents)).toEqual(['finance-agent']);

      expect((await httpRequest(url, { method: 'GET', path: '/health' })).status).toBe(200);
      expect((await httpRequest(url, { method: 'GET', path: '/health/live' })).status).toBe(200);

      const arc = await post(url, chatStart());
      expect(arc.status).toBe(401);
      const served = await post(url, chatStart(), await token('alice'));
      expect(served.status).toBe(200);
      expect(JSON.stringify(served.json().result)).toContain('hello alice');
    } finally {
      await server.close({ graceMs: 500 });
    }
  });

  it('protectAgentInfo: false leaves /agent-info open while ARC methods still need a token', async () => {
    const { server, url } = await serve({ auth: { secret: SECRET, protectAgentInfo: false } }, chatAgent());
    try {
      expect((await httpRequest(url, { method: 'GET', path: '/agent-info' })).status).toBe(200);
      expect((await post(url, chatStart())).status).toBe(401);
    } finally {
      await server.close({ graceMs: 500 });
    }
  });

  it('a delivery with a verified webhook signature needs no bearer token; a bad signature or an unsigned one does', async () => {
    const w = loadWebhookCapture();
    const received: unknown[] = [];
    const agent = new ArcAgent('finance-agent').on('task.notification', (params, ctx) => {
      received.push({ subject: ctx.auth?.subject, taskId: (params as { taskId: string }).taskId });
      return { success: true };
    });
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(w.headers)) if (k !== 'host' && k !== 'content-length' && k !== 'connection') headers[k] = v;

    const signed = await serve({ auth: { secret: SECRET }, tasks: { webhooks: { secret: w.secret } } }, agent);
    try {
      const ok = await httpRequest(signed.url, { method: 'POST', path: '/webhooks/finance-agent', headers, body: w.body });
      expect(ok.status).toBe(200);
      expect(received).toEqual([{ subject: 'webhook', taskId: 'task-7f3a9c2e' }]);
      const tampered = Buffer.from(w.body.toString('utf8').replace('"duration": 7000', '"duration": 7001'));
      expect((await httpRequest(signed.url, { method: 'POST', path: '/webhooks/finance-agent', headers, body: tampered })).status).toBe(
        401,
      );
    } finally {
      await signed.server.close({ graceMs: 500 });
    }

    // No WEBHOOK_SECRET: nothing vouches for the sender, so it needs a token with the notify scopes.
    const unsigned = await serve({ auth: { secret: SECRET } }, agent);
    try {
      const refused = await httpRequest(unsigned.url, { method: 'POST', path: '/webhooks/finance-agent', headers, body: w.body });
      expect(refused.status).toBe(401);
      expect(refused.json().error.code).toBe(-44001);
      const notify = await mint({ sub: 'notifier', scope: 'arc.task.notify arc.agent.receiver', now: nowSeconds() });
      const withToken = await httpRequest(unsigned.url, {
        method: 'POST',
        path: '/webhooks/finance-agent',
        headers: { ...headers, Authorization: `Bearer ${notify}` },
        body: w.body,
      });
      expect(withToken.status).toBe(200);
      expect(received.at(-1)).toEqual({ subject: 'notifier', taskId: 'task-7f3a9c2e' });
    } finally {
      await unsigned.server.close({ graceMs: 500 });
    }
  });
});

describe('ArcServer rateLimits option', () => {
  it("counts the token's subject as the caller, not the requestAgent it writes", async () => {
    const { server, url } = await serve({ auth: { secret: SECRET }, rateLimits: { caller: '2/1h' } }, chatAgent());
    try {
      const alice = await token('alice');
      const bob = await token('bob');
      // Alice changing requestAgent does not give her a fresh counter.
      const codes = [];
      for (const requestAgent of ['a1', 'a2', 'a3']) codes.push((await post(url, chatStart(requestAgent), alice)).json().error?.code ?? 0);
      expect(codes).toEqual([0, 0, -44007]);
      expect((await post(url, chatStart('a1'), bob)).status).toBe(200);
    } finally {
      await server.close({ graceMs: 500 });
    }
  });

  it("installs the limiter for an agent's own rateLimit when the server has none, and closes its store with the server", async () => {
    const store = new MemoryRateCounterStore();
    const close = jest.spyOn(store, 'close');
    const { server, url } = await serve(
      { rateLimits: { store } },
      chatAgent('finance-agent', { rateLimit: '1/1h' }),
      chatAgent('hr-agent'),
    );
    const first = await post(url, chatStart('x'));
    const second = await post(url, chatStart('y'));
    const other = await post(url, chatStart('x', 'hr-agent'));
    await server.close({ graceMs: 500 });
    expect(first.status).toBe(200);
    expect(second.status).toBe(429);
    expect(second.headers['retry-after']).toMatch(/^\d+$/);
    expect(second.json().error).toMatchObject({ code: -44007, details: { limit: 1, windowMs: 3_600_000, scope: 'agent' } });
    expect(other.status).toBe(200);
    expect(close).toHaveBeenCalledTimes(1);
  });

  it('without any limit no hook is installed', () => {
    const server = createArcServer({ serverId: 'open', rateLimits: {} }).addAgent(chatAgent());
    expect(server.router.hooks.preHandler).toBeNull();
  });
});

describe('serverOptions: from the environment', () => {
  const deps = (env: Record<string, string>) => {
    const config = loadConfig(env, { PORT: 8000, SERVER_ID: 's' });
    return serverOptions({ config, logger: silentLogger, chatStore: new MemoryChatStore() });
  };

  it('leaves auth off and limits unset by default', () => {
    const o = deps({});
    expect(o.auth).toBeUndefined();
    expect(o.rateLimits).toMatchObject({ caller: undefined, agent: undefined, onStoreFailure: 'open' });
  });

  it('turns auth on with AUTH_JWT_SECRET and reads the limits', () => {
    const o = deps({
      AUTH_JWT_SECRET: SECRET,
      AUTH_ISSUER: ISSUER,
      AUTH_PROTECT_AGENT_INFO: 'false',
      RATE_LIMIT_CALLER: '50/1s',
      RATE_LIMIT_AGENT: '2000/1s',
      RATE_LIMIT_REDIS_FAILURE: 'closed',
    });
    expect(o.auth).toMatchObject({ secret: SECRET, issuer: [ISSUER], protectAgentInfo: false });
    expect(o.rateLimits).toMatchObject({ caller: '50/1s', agent: '2000/1s', onStoreFailure: 'closed' });
  });
});
