/**
 * The request pipeline's hooks (router/hooks.ts): where auth, limits, metrics and tracing plug in.
 */
import { ArcError } from '../../src/errors/arc-error';
import { ArcErrorCode } from '../../src/errors/codes';
import { ArcAgent } from '../../src/router/agent';
import type { ResponseOutcome } from '../../src/router/hooks';
import { ArcRouter } from '../../src/router/router';
import type { RequestState } from '../../src/router/request-state';
import { envelope, jsonReply, streamEvents, userMessage } from '../support/util';

const routers: ArcRouter[] = [];
function newRouter(): { router: ArcRouter; calls: string[] } {
  const calls: string[] = [];
  const router = new ArcRouter({ serverId: 'hooks-server', maxConcurrentPerAgent: 1 });
  router.addAgent(
    new ArcAgent('agent-a')
      .on('chat.start', (_p, ctx) => {
        calls.push(`handler:${String(ctx.locals.caller)}`);
        return 'hi';
      })
      .on('chat.message', async function* () {
        calls.push('handler:stream');
        yield 'a';
        yield 'b';
      }),
  );
  routers.push(router);
  return { router, calls };
}
afterAll(async () => {
  for (const r of routers) await r.chatStore.dispose();
});

const start = (env: Record<string, unknown> = {}) => envelope('chat.start', { initialMessage: userMessage('hello') }, env);

describe('hooks', () => {
  it('run in stage order with what each stage knows; locals reach the handler', async () => {
    const { router, calls } = newRouter();
    const seen: Record<string, unknown>[] = [];
    const snapshot = (stage: string) => (r: RequestState) => {
      seen.push({ stage, agentId: r.agentId, method: r.method, routed: r.request !== undefined, header: r.meta.headers?.['x-caller'] });
    };
    router
      .addHook('onRequest', snapshot('onRequest'))
      .addHook('onRequest', async (r) => {
        r.locals.caller = r.meta.headers?.['x-caller'];
      })
      .addHook('preHandler', snapshot('preHandler'))
      .addHook('onSend', (_r, reply) => {
        calls.push(`onSend:${reply.kind}`);
        return { ...reply, headers: { 'X-Trace': 'abc' } };
      })
      .addHook('onResponse', (_r, outcome) => calls.push(`onResponse:${outcome.status}:${outcome.transport}`));
    const reply = await router.handle(start(), { headers: { 'x-caller': 'alice' } });
    expect(reply.kind === 'json' && reply.headers).toEqual({ 'X-Trace': 'abc' });
    expect(seen).toEqual([
      { stage: 'onRequest', agentId: '', method: '', routed: false, header: 'alice' },
      { stage: 'preHandler', agentId: 'agent-a', method: 'chat.start', routed: true, header: 'alice' },
    ]);
    expect(calls).toEqual(['handler:alice', 'onSend:json', 'onResponse:200:json']);
  });

  it('an ArcError thrown in onRequest or preHandler refuses the request before any slot or handler', async () => {
    for (const stage of ['onRequest', 'preHandler'] as const) {
      const { router, calls } = newRouter();
      const outcomes: ResponseOutcome[] = [];
      router.addHook(stage, () => {
        throw new ArcError(ArcErrorCode.Authentication, 'no token', {});
      });
      router.addHook('onResponse', (_r, o) => outcomes.push(o));
      const r = await jsonReply(router.handle(start()));
      expect(r.status).toBe(401);
      expect(r.body.error).toEqual({ code: -44001, message: 'no token', details: {} });
      expect(calls).toEqual([]);
      expect(router.inFlight).toBe(0);
      expect(outcomes).toEqual([{ status: 401, code: -44001, transport: 'json', durationMs: expect.any(Number) }]);
    }
  });

  it('a hook that throws something else is an internal error with an opaque id', async () => {
    const { router } = newRouter();
    router.addHook('preHandler', () => {
      throw new Error('secret detail');
    });
    const r = await jsonReply(router.handle(start()));
    expect(r.status).toBe(500);
    expect(JSON.stringify(r.body)).not.toContain('secret');
    expect(r.body.error.details.errorId).toEqual(expect.any(String));
  });

  it('onError may answer with another error; onSend sees error replies too', async () => {
    const { router } = newRouter();
    const sent: number[] = [];
    router.addHook('onError', (_r, err) =>
      err.code === ArcErrorCode.AgentNotFound ? new ArcError(ArcErrorCode.PermissionDenied, 'hidden', {}) : undefined,
    );
    router.addHook('onSend', (_r, reply) => {
      sent.push(reply.status);
    });
    const r = await jsonReply(router.handle(start({ targetAgent: 'nobody' })));
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe(ArcErrorCode.PermissionDenied);
    expect(sent).toEqual([403]);
  });

  it('onResponse of a stream runs when the stream ends, not when it is returned', async () => {
    const { router, calls } = newRouter();
    router.addHook('onResponse', (_r, o) => calls.push(`onResponse:${o.transport}`));
    const opened = await jsonReply(router.handle(start()));
    const reply = router.handle(
      envelope('chat.message', { chatId: opened.body.result.chat.chatId, message: userMessage('x'), stream: true }),
    );
    const events = await streamEvents(reply);
    expect(events.map((e) => e.event)).toEqual(['stream', 'stream', 'done']);
    expect(calls).toEqual(['handler:undefined', 'onResponse:json', 'handler:stream', 'onResponse:stream']);
  });

  it('an onSend hook that throws on a stream cancels it: the slot is freed', async () => {
    const { router } = newRouter();
    const opened = await jsonReply(router.handle(start()));
    router.addHook('onSend', (_r, reply) => {
      if (reply.kind === 'stream') throw new ArcError(ArcErrorCode.PermissionDenied, 'no streams', {});
    });
    const r = await jsonReply(
      router.handle(envelope('chat.message', { chatId: opened.body.result.chat.chatId, message: userMessage('x'), stream: true })),
    );
    expect(r.status).toBe(403);
    expect(router.inFlight).toBe(0);
  });

  it('unknown stages and non-functions are refused at registration', () => {
    const { router } = newRouter();
    expect(() => router.addHook('onWhatever' as 'onRequest', () => undefined)).toThrow(/Unknown hook "onWhatever"/);
    expect(() => router.addHook('onRequest', 42 as never)).toThrow(/must be a function/);
  });

  it('a router without hooks has null stages (nothing to run on the hot path)', () => {
    const { router } = newRouter();
    expect([router.hooks.onRequest, router.hooks.preHandler, router.hooks.onSend, router.hooks.onError, router.hooks.onResponse]).toEqual([
      null,
      null,
      null,
      null,
      null,
    ]);
  });
});
