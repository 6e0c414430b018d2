/** ctx.agents between two ArcServers over HTTP: a routes map, a gateway-style URL, and failures. */
import { AgentCallError } from '../../src/calls/errors';
import { HttpAgentTransport } from '../../src/calls/http-transport';
import { ArcErrorCode } from '../../src/errors/codes';
import { ArcServer, createArcServer } from '../../src/express';
import { ArcAgent, type HandlerContext } from '../../src/router/agent';
import type { RequestState } from '../../src/router/request-state';
import { freePort, httpRequest, listenPlain, postJson, readAll } from '../support/http';
import { deferred, envelope, rejection, type Json } from '../support/util';

interface Seen {
  requestAgent: string;
  traceId: string | undefined;
  traceparent: unknown;
  chainHeader: unknown;
  chain: readonly string[] | undefined;
}

function seen(ctx: HandlerContext): Seen {
  const meta = (ctx as RequestState).meta;
  return {
    requestAgent: ctx.requestAgent,
    traceId: ctx.traceId,
    traceparent: meta.headers?.traceparent,
    chainHeader: meta.headers?.['x-arc-call-chain'],
    chain: meta.callChain,
  };
}

describe('ctx.agents over HTTP', () => {
  let serverA: ArcServer;
  let serverB: ArcServer;
  let urlA: string;
  let gateway: Awaited<ReturnType<typeof listenPlain>>;
  const upstream: Record<string, string> = {};
  const gatewayPaths: string[] = [];
  const seenAtB: Seen[] = [];
  const stall = deferred();
  let refusedUrl: string;

  beforeAll(async () => {
    // A gateway in the manner of nginx: `/arc/<agent>` → that agent's server, headers passed on.
    gateway = await listenPlain((req, res) => {
      void (async () => {
        const body = await readAll(req);
        gatewayPaths.push(req.url ?? '');
        const agent = decodeURIComponent((req.url ?? '').split('/')[2] ?? '');
        const base = upstream[agent];
        if (base === undefined) {
          res.writeHead(404).end();
          return;
        }
        const headers: Record<string, string> = { 'Content-Type': 'application/arc+json' };
        for (const h of ['traceparent', 'x-arc-call-chain']) if (typeof req.headers[h] === 'string') headers[h] = req.headers[h];
        const r = await httpRequest(base, { path: '/arc', body, headers });
        res.writeHead(r.status, { 'Content-Type': 'application/arc+json' }).end(r.text);
      })();
    });
    refusedUrl = `http://127.0.0.1:${await freePort()}/arc`;

    serverB = createArcServer({ serverId: 'server-b', agentCalls: { gatewayUrl: gateway.url } });
    serverB.addAgent(
      new ArcAgent('hr-agent')
        .on('chat.start', (_p, ctx) => {
          seenAtB.push(seen(ctx));
          return 'hr here';
        })
        .on('whoami', (_p, ctx) => {
          seenAtB.push(seen(ctx));
          return { requestAgent: ctx.requestAgent, traceId: ctx.traceId };
        })
        // Calls back into the chain: front → hr → front.
        .on('loop', (_p, ctx) => ctx.agents.request('front', 'run', { target: 'hr-agent', method: 'whoami' })),
    );
    serverB.addAgent(
      new ArcAgent('payroll-agent')
        .on('whoami', (_p, ctx) => {
          seenAtB.push(seen(ctx));
          return { requestAgent: ctx.requestAgent, traceId: ctx.traceId };
        })
        .on('stall', async () => {
          await stall.promise;
          return 'late';
        }),
    );
    const urlB = (await serverB.listen(0, '127.0.0.1')).url;

    serverA = createArcServer({
      serverId: 'server-a',
      agentCalls: { routes: { 'hr-agent': `${urlB}/arc`, 'gone-agent': refusedUrl }, gatewayUrl: gateway.url },
    });
    serverA.addAgent(
      new ArcAgent('front').on('run', async (p, ctx) => {
        const { target, method, timeoutMs } = p as { target: string; method: string; timeoutMs?: number };
        const started = performance.now();
        try {
          return { ok: await ctx.agents.request(target, method, {}, timeoutMs === undefined ? {} : { timeoutMs }) };
        } catch (err) {
          if (!(err instanceof AgentCallError)) throw err;
          const ms = performance.now() - started;
          return { code: err.code, target: err.target, retryable: err.retryable, ms, details: err.details };
        }
      }),
    );
    urlA = (await serverA.listen(0, '127.0.0.1')).url;
    upstream['hr-agent'] = urlB;
    upstream['payroll-agent'] = urlB;
    upstream.front = urlA;
  });

  afterAll(async () => {
    stall.resolve();
    await serverA.close({ graceMs: 1000 });
    await serverB.close({ graceMs: 1000 });
    await gateway.close();
  });

  beforeEach(() => {
    seenAtB.length = 0;
    gatewayPaths.length = 0;
  });

  const callFront = async (params: Record<string, unknown>, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) => {
    const res = await postJson(urlA, envelope('run', params, { targetAgent: 'front', ...extra }), {
      'Content-Type': 'application/arc+json',
      ...headers,
    });
    return res.json() as Json;
  };

  it('by route: requestAgent, the given traceId, a child traceparent and the call chain arrive', async () => {
    const body = await callFront({ target: 'hr-agent', method: 'whoami' }, { traceId: 'trace-http-1' });
    expect(body.result).toEqual({ ok: { requestAgent: 'front', traceId: 'trace-http-1' } });
    expect(body.traceId).toBe('trace-http-1');
    expect(seenAtB).toHaveLength(1);
    expect(seenAtB[0]!.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(seenAtB[0]!.chainHeader).toBe('front');
    expect(seenAtB[0]!.chain).toEqual(['front']);
    expect(gatewayPaths).toEqual([]);
  });

  it('a traceparent sent to A reaches B as a child with the same trace-id; the traceId is its trace-id', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const body = await callFront({ target: 'hr-agent', method: 'whoami' }, {}, { traceparent: `00-${traceId}-b7ad6b7169203331-01` });
    expect(body.result.ok.traceId).toBe(traceId);
    expect('traceId' in body).toBe(false);
    const [, tid, parent] = String(seenAtB[0]!.traceparent).split('-');
    expect(tid).toBe(traceId);
    expect(parent).not.toBe('b7ad6b7169203331');
  });

  it('by gateway: an agent without a route goes to <gateway>/arc/<agent>; a generated traceId arrives', async () => {
    const body = await callFront({ target: 'payroll-agent', method: 'whoami' });
    expect(gatewayPaths).toEqual(['/arc/payroll-agent']);
    expect(body.result.ok.requestAgent).toBe('front');
    expect(body.result.ok.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(String(seenAtB[0]!.traceparent).split('-')[1]).toBe(body.result.ok.traceId);
    expect(seenAtB[0]!.chain).toEqual(['front']);
    expect('traceId' in body).toBe(false);
  });

  it('a cycle across servers (front → hr → front) is -45006, found by B from the call-chain header', async () => {
    const body = await callFront({ target: 'hr-agent', method: 'loop' });
    expect(body.result.code).toBe(ArcErrorCode.CircularReference);
    expect(body.result.details).toMatchObject({ chain: ['front', 'hr-agent'], target: 'front' });
    // Refused at B before anything was sent to the gateway.
    expect(gatewayPaths).toEqual([]);
  });

  it('an error of the target keeps its code over HTTP', async () => {
    const body = await callFront({ target: 'hr-agent', method: 'no-such-method' });
    expect(body.result.code).toBe(ArcErrorCode.MethodNotFound);
    expect(body.result.target).toBe('hr-agent');
  });

  it('a refused connection is -41003, retryable, within the timeout', async () => {
    const body = await callFront({ target: 'gone-agent', method: 'whoami', timeoutMs: 3000 });
    expect(body.result.code).toBe(ArcErrorCode.AgentUnreachable);
    expect(body.result.retryable).toBe(true);
    expect(body.result.ms).toBeLessThan(3000);
  });

  it('a target that does not answer is -41006 within the timeout', async () => {
    const body = await callFront({ target: 'payroll-agent', method: 'stall', timeoutMs: 300 });
    expect(body.result.code).toBe(ArcErrorCode.AgentTimeout);
    expect(body.result.retryable).toBe(false);
    expect(body.result.ms).toBeGreaterThanOrEqual(290);
    expect(body.result.ms).toBeLessThan(2000);
  });

  it('an agent with neither route nor gateway is -41001', async () => {
    const transport = new HttpAgentTransport({ routes: { x: 'http://127.0.0.1:1/arc' } });
    expect(transport.canReach('x')).toBe(true);
    expect(transport.canReach('y')).toBe(false);
    const err = await rejection(
      transport.call({
        id: '1',
        target: 'y',
        method: 'm',
        params: {},
        requestAgent: 'a',
        traceId: 't',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        chain: ['a'],
        timeoutMs: 100,
      }),
    );
    expect(err).toBeInstanceOf(AgentCallError);
    expect((err as AgentCallError).code).toBe(ArcErrorCode.AgentNotFound);
    expect(() => new HttpAgentTransport({ gatewayUrl: 'ftp://x' })).toThrow(/http/);
  });
});
