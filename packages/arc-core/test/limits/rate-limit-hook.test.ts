/**
 * Rate limits in one process (limits/rate-limit-hook.ts with the memory counters): per caller and
 * agent, per agent, an agent's own rateLimit, the answer over a limit (-44007 / 429, details,
 * Retry-After), windows that end, a store that fails (open or closed), and nothing installed
 * when no limit is configured. Windows are an hour long except where a test waits for one to end.
 */
import { createArcServer, type ArcServer } from '../../src/express/server';
import type { RateCounterStore } from '../../src/limits/rate-counter';
import { installRateLimits, type RateLimitOptions } from '../../src/limits/rate-limit-hook';
import { ArcAgent, type AgentOptions } from '../../src/router/agent';
import { ArcRouter } from '../../src/router/router';
import { postJson } from '../support/http';
import { recordingLogger } from '../support/recording-logger';
import { envelope, jsonReply, sleep, userMessage, type Json } from '../support/util';

const routers: ArcRouter[] = [];
afterAll(async () => {
  for (const r of routers) await r.close();
});

/** A router with agents `agent-a` and `agent-b` (or the given ones), counting handler calls. */
function newRouter(agents: Array<[string, AgentOptions?]> = [['agent-a'], ['agent-b']]): { router: ArcRouter; handled: string[] } {
  const handled: string[] = [];
  const router = new ArcRouter({ serverId: 'limits-server' });
  for (const [id, options] of agents) {
    router.addAgent(
      new ArcAgent(id, options).on('chat.start', (_p, ctx) => {
        handled.push(`${ctx.agentId}:${ctx.requestAgent}`);
        return 'hi';
      }),
    );
  }
  routers.push(router);
  return { router, handled };
}

const start = (requestAgent: string, targetAgent = 'agent-a') =>
  envelope('chat.start', { initialMessage: userMessage('hello') }, { requestAgent, targetAgent });

/** Sends chat.start from `caller` to `agent` `n` times, one after the other; the answers' codes (0 = a result). */
async function send(router: ArcRouter, caller: string, n: number, agent = 'agent-a'): Promise<number[]> {
  const codes: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await jsonReply(router.handle(start(caller, agent)));
    codes.push(r.body.error === null ? 0 : (r.body.error.code as number));
  }
  return codes;
}

function install(router: ArcRouter, options: RateLimitOptions) {
  const limiter = installRateLimits(router, options);
  if (!limiter) throw new Error('expected the rate-limit hook to be installed');
  return limiter;
}

describe('rate limits (memory)', () => {
  it('installs nothing when no limit is configured', () => {
    const { router } = newRouter();
    let storeCreated = false;
    const store = (): RateCounterStore => {
      storeCreated = true;
      throw new Error('no store may be created');
    };
    expect(installRateLimits(router, { store })).toBeUndefined();
    expect(router.hooks.preHandler).toBeNull();
    expect(storeCreated).toBe(false);
  });

  it('refuses a bad rule before creating a store', () => {
    const { router } = newRouter();
    const store = jest.fn();
    expect(() => installRateLimits(router, { caller: '100', store })).toThrow(/^RATE_LIMIT_CALLER="100" is not a rate limit/);
    expect(() => installRateLimits(router, { agent: '5/1w', store })).toThrow(/^RATE_LIMIT_AGENT="5\/1w" is not a rate limit/);
    expect(store).not.toHaveBeenCalled();
    expect(router.hooks.preHandler).toBeNull();
  });

  it("limits each caller's requests to an agent: -44007 / 429 with details and Retry-After; other callers and agents are apart", async () => {
    const { router, handled } = newRouter();
    install(router, { caller: '3/1h' });

    expect(await send(router, 'alice', 3)).toEqual([0, 0, 0]);
    const refused = await jsonReply(router.handle(start('alice')));
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({
      code: -44007,
      message: 'Rate limit exceeded: at most 3 requests per 1 h from each caller to agent-a',
      details: { limit: 3, windowMs: 3_600_000, scope: 'caller', agentId: 'agent-a' },
    });
    const { retryAfterMs } = refused.body.error.details as { retryAfterMs: number };
    expect(retryAfterMs).toBeGreaterThan(3_500_000);
    expect(retryAfterMs).toBeLessThanOrEqual(3_600_000);
    expect(refused.retryAfter).toBe(Math.ceil(retryAfterMs / 1000));
    expect(refused.body).toMatchObject({ id: 'req-1', responseAgent: 'agent-a', result: null });

    // Refused requests never reach the handler; bob, and alice at another agent, have their own counts.
    expect(handled.filter((h) => h === 'agent-a:alice')).toHaveLength(3);
    expect(await send(router, 'bob', 3)).toEqual([0, 0, 0]);
    expect(await send(router, 'alice', 3, 'agent-b')).toEqual([0, 0, 0]);
    expect(await send(router, 'alice', 1)).toEqual([-44007]);
  });

  it('limits all requests to an agent, whoever sends them', async () => {
    const { router } = newRouter();
    install(router, { agent: '4/1h' });
    expect([...(await send(router, 'alice', 2)), ...(await send(router, 'bob', 2))]).toEqual([0, 0, 0, 0]);
    const refused = await jsonReply(router.handle(start('carol')));
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({
      code: -44007,
      message: 'Rate limit exceeded: at most 4 requests per 1 h to agent-a',
      details: { limit: 4, windowMs: 3_600_000, scope: 'agent', agentId: 'agent-a' },
    });
    expect(await send(router, 'carol', 1, 'agent-b')).toEqual([0]);
  });

  it("a caller refused by its own limit does not use up the agent's", async () => {
    const { router } = newRouter();
    install(router, { caller: '2/1h', agent: '4/1h' });
    expect(await send(router, 'alice', 6)).toEqual([0, 0, -44007, -44007, -44007, -44007]);
    expect(await send(router, 'bob', 2)).toEqual([0, 0]);
    const carol = await jsonReply(router.handle(start('carol')));
    expect(carol.body.error.details).toMatchObject({ scope: 'agent', limit: 4 });
  });

  it('counts again once the window is over', async () => {
    const { router } = newRouter();
    install(router, { caller: '2/1s' });
    expect(await send(router, 'alice', 2)).toEqual([0, 0]);
    const refused = await jsonReply(router.handle(start('alice')));
    const { retryAfterMs, windowMs } = refused.body.error.details as { retryAfterMs: number; windowMs: number };
    expect(windowMs).toBe(1000);
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(1000);
    expect(refused.retryAfter).toBe(1);
    // Whatever this machine's speed, the window is over once retryAfterMs have passed.
    await sleep(retryAfterMs + 50);
    expect(await send(router, 'alice', 3)).toEqual([0, 0, -44007]);
  });

  it("applies an agent's own rateLimit over the server's, and installs for it alone", async () => {
    const { router } = newRouter([
      ['agent-a'],
      ['slow-agent', { rateLimit: '2/1h' }],
      ['picky-agent', { rateLimit: { caller: '1/1h' } }],
      ['open-agent', { rateLimit: { caller: false, agent: false } }],
    ]);
    install(router, { caller: '3/1h', agent: '100/1h' });
    // slow-agent: 2 in all (its own agent limit), under the server's caller limit.
    expect([...(await send(router, 'alice', 1, 'slow-agent')), ...(await send(router, 'bob', 2, 'slow-agent'))]).toEqual([0, 0, -44007]);
    const slow = await jsonReply(router.handle(start('carol', 'slow-agent')));
    expect(slow.body.error.details).toMatchObject({ scope: 'agent', limit: 2, agentId: 'slow-agent' });
    // picky-agent: one per caller; the server's agent limit still applies to it.
    expect(await send(router, 'alice', 2, 'picky-agent')).toEqual([0, -44007]);
    expect(await send(router, 'bob', 1, 'picky-agent')).toEqual([0]);
    // open-agent: no limit at all; agent-a: the server's.
    expect((await send(router, 'alice', 10, 'open-agent')).every((c) => c === 0)).toBe(true);
    expect(await send(router, 'alice', 4)).toEqual([0, 0, 0, -44007]);

    // No server rule: the hook is installed for the agent that has its own.
    const only = newRouter([['agent-a'], ['slow-agent', { rateLimit: '1/1h' }]]).router;
    install(only, {});
    expect(await send(only, 'alice', 2, 'slow-agent')).toEqual([0, -44007]);
    expect(await send(only, 'alice', 5)).toEqual([0, 0, 0, 0, 0]);
  });

  it('counts the authenticated subject, when there is one, rather than requestAgent', async () => {
    const { router } = newRouter();
    router.addHook('onRequest', (r) => {
      const subject = r.meta.headers?.['x-subject'];
      if (typeof subject === 'string') r.locals.auth = { subject, scopes: [] };
    });
    install(router, { caller: '2/1h' });
    const as = (subject: string, requestAgent: string) =>
      jsonReply(router.handle(start(requestAgent), { headers: { 'x-subject': subject } })).then((r) => r.body.error?.code ?? 0);
    // One subject under three names: one count.
    expect([await as('svc-1', 'a'), await as('svc-1', 'b'), await as('svc-1', 'c')]).toEqual([0, 0, -44007]);
    // A very long subject is counted too (under its hash).
    const long = 'x'.repeat(5000);
    expect([await as(long, 'a'), await as(long, 'a'), await as(long, 'a')]).toEqual([0, 0, -44007]);
    expect([await as(`${long}y`, 'a')]).toEqual([0]);
  });

  it("reads the auth hook's `request.auth` too; a token without a subject counts as its requestAgent", async () => {
    const { router } = newRouter();
    router.addHook('onRequest', (r) => {
      const subject = r.meta.headers?.['x-subject'];
      if (typeof subject === 'string') (r as unknown as { auth: unknown }).auth = { subject, scopes: [] };
    });
    install(router, { caller: '1/1h' });
    const as = (subject: string, requestAgent: string) =>
      jsonReply(router.handle(start(requestAgent), { headers: { 'x-subject': subject } })).then((r) => r.body.error?.code ?? 0);
    expect([await as('svc-2', 'a'), await as('svc-2', 'b')]).toEqual([0, -44007]);
    expect([await as('', 'a'), await as('', 'b'), await as('', 'a')]).toEqual([0, 0, -44007]);
  });

  it('sends 429 with Retry-After in whole seconds over HTTP', async () => {
    const server: ArcServer = createArcServer({ serverId: 'limits-http' });
    server.addAgent(new ArcAgent('agent-a').on('chat.start', () => 'hi'));
    install(server.router, { caller: '1/1m' });
    const { url } = await server.listen(0, '127.0.0.1');
    try {
      expect((await postJson(`${url}/arc`, start('alice'))).status).toBe(200);
      const res = await postJson(`${url}/arc`, start('alice'));
      expect(res.status).toBe(429);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const body: Json = res.json();
      expect(body.error).toMatchObject({ code: -44007, details: { limit: 1, windowMs: 60_000, scope: 'caller' } });
      expect(res.headers['retry-after']).toBe(String(Math.ceil(body.error.details.retryAfterMs / 1000)));
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(59);
    } finally {
      await server.close({ graceMs: 0 });
    }
  });
});

describe('a counter store that fails', () => {
  /** A memory-like store whose counters throw while `down` is set; counts only the agent scope here. */
  function flakyStore() {
    const state = { down: false, calls: 0 };
    const counts = new Map<string, number>();
    const store: RateCounterStore = {
      kind: 'flaky',
      counter: (scope, rule) => ({
        consume: async (agentId, caller) => {
          state.calls++;
          if (state.down) throw new Error('connect ECONNREFUSED 127.0.0.1:1');
          const key = `${scope} ${agentId} ${caller ?? ''}`;
          const n = (counts.get(key) ?? 0) + 1;
          counts.set(key, n);
          return n > rule.points ? 1000 : 0;
        },
      }),
      close: async () => undefined,
    };
    return { store, state };
  }

  it("'open' (the default) lets requests through, warns once, and says when counting works again", async () => {
    const { router, handled } = newRouter();
    const logger = recordingLogger();
    const { store, state } = flakyStore();
    install(router, { caller: '2/1h', store, logger });
    expect(await send(router, 'alice', 1)).toEqual([0]);

    state.down = true;
    expect(await send(router, 'alice', 20)).toEqual(Array(20).fill(0));
    expect(handled).toHaveLength(21);
    const warnings = logger.lines.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      message: expect.stringContaining('rate limits not enforced'),
      meta: { store: 'flaky', onStoreFailure: 'open', err: 'connect ECONNREFUSED 127.0.0.1:1' },
    });

    state.down = false;
    // Counting resumes where the store left it (alice had 1): one more, then refused.
    expect(await send(router, 'alice', 2)).toEqual([0, -44007]);
    expect(logger.lines.filter((l) => l.level === 'info')).toEqual([
      expect.objectContaining({ message: expect.stringContaining('rate limits enforced again'), meta: { store: 'flaky', unchecked: 19 } }),
    ]);
  });

  it("'closed' refuses with -41002 / 503 and Retry-After while the store fails, then counts again", async () => {
    const { router, handled } = newRouter();
    const logger = recordingLogger();
    const { store, state } = flakyStore();
    install(router, { caller: '5/1h', store, logger, onStoreFailure: 'closed' });
    state.down = true;
    const refused = await jsonReply(router.handle(start('alice')));
    expect(refused.status).toBe(503);
    expect(refused.retryAfter).toBe(1);
    expect(refused.body.error).toEqual({
      code: -41002,
      message: 'Agent temporarily unavailable: rate limits cannot be checked; retry shortly',
      details: { agentId: 'agent-a', scope: 'caller' },
    });
    expect(await send(router, 'alice', 5)).toEqual(Array(5).fill(-41002));
    expect(handled).toHaveLength(0);
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(logger.lines[0]!.message).toContain('requests are refused with -41002');

    state.down = false;
    expect(await send(router, 'alice', 1)).toEqual([0]);
    expect(handled).toHaveLength(1);
  });

  it('refuses an unknown failure mode', () => {
    const { router } = newRouter();
    expect(() => installRateLimits(router, { caller: '1/1s', onStoreFailure: 'maybe' as never })).toThrow(/'open' or 'closed'/);
  });
});
