/**
 * Issue 8, holes 1 and 10: a streamed reply ends exactly once on every path, and ending it
 * frees the agent's concurrency slot and aborts the handler's signal.
 */
import { ArcAgent, type HandlerContext } from '../../src/router/agent';
import { ArcRouter } from '../../src/router/router';
import type { ResponseOutcome } from '../../src/router/hooks';
import { deferred, envelope, jsonReply, sleep, userMessage } from '../support/util';

const routers: ArcRouter[] = [];
afterAll(async () => {
  for (const r of routers) await r.chatStore.dispose();
});

function setup(handler: (ctx: HandlerContext) => AsyncIterable<string>, handlerTimeoutMs = 60_000) {
  const router = new ArcRouter({ serverId: 's', maxConcurrentPerAgent: 2, handlerTimeoutMs });
  router.addAgent(new ArcAgent('agent-a').on('chat.start', (_p, ctx) => handler(ctx)));
  const outcomes: ResponseOutcome[] = [];
  router.addHook('onResponse', (_r, o) => outcomes.push(o));
  routers.push(router);
  return { router, outcomes };
}
const streamStart = () => envelope('chat.start', { initialMessage: userMessage('hello'), stream: true });

describe('stream lifecycle', () => {
  it('a stream cancelled before it is read frees its slot at once and aborts the handler', async () => {
    let signal: AbortSignal | undefined;
    const { router, outcomes } = setup((ctx) => {
      signal = ctx.signal; // read when the handler is called, before its chunks are
      return (async function* () {
        yield 'never read';
      })();
    });
    const reply = await router.handle(streamStart());
    expect(reply.kind).toBe('stream');
    expect(router.inFlight).toBe(1);
    if (reply.kind === 'stream') reply.cancel();
    expect(router.inFlight).toBe(0);
    expect(signal?.aborted).toBe(true);
    expect(outcomes.map((o) => o.transport)).toEqual(['stream-aborted']);
    if (reply.kind === 'stream') reply.cancel(); // idempotent
    expect(router.inFlight).toBe(0);
    expect(outcomes).toHaveLength(1);
  });

  it('many streams left unread never exhaust the agent (the leak of hole 1)', async () => {
    const { router } = setup(async function* () {
      yield 'x';
    });
    for (let i = 0; i < 50; i++) {
      const reply = await router.handle(streamStart());
      expect(reply.kind).toBe('stream');
      if (reply.kind === 'stream') reply.cancel();
    }
    expect(router.inFlight).toBe(0);
  });

  it('a stream cancelled while the handler thinks frees the slot without waiting for the handler', async () => {
    const cleanedUp = deferred();
    const { router, outcomes } = setup(async function* (ctx) {
      try {
        yield 'first';
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
        yield 'after abort';
      } finally {
        cleanedUp.resolve();
      }
    });
    const reply = await router.handle(streamStart());
    if (reply.kind !== 'stream') throw new Error('expected a stream');
    const it = reply.events[Symbol.asyncIterator]();
    expect((await it.next()).value).toMatchObject({ event: 'stream' });
    const pending = it.next(); // the handler is now waiting
    await sleep(20);
    expect(router.inFlight).toBe(1);
    reply.cancel();
    expect(router.inFlight).toBe(0);
    await cleanedUp.promise; // the abort reached the handler and its finally ran
    expect((await pending).done).toBe(true);
    expect(outcomes.map((o) => o.transport)).toEqual(['stream-aborted']);
  });

  it('each chunk gets the handler timeout: a stalled stream ends with error + done and frees its slot', async () => {
    const { router, outcomes } = setup(async function* (ctx) {
      yield 'one';
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
    }, 100);
    const reply = await router.handle(streamStart());
    if (reply.kind !== 'stream') throw new Error('expected a stream');
    const events = [];
    for await (const e of reply.events) events.push(e);
    expect(events.map((e) => e.event)).toEqual(['stream', 'error', 'done']);
    expect(events[1]!.data).toMatchObject({ error: { code: -43005, message: 'Stream error: Agent agent-a did not answer within 100 ms' } });
    expect(events[2]!.data).toMatchObject({ status: 'ERROR', done: true });
    expect(router.inFlight).toBe(0);
    expect(outcomes.map((o) => [o.transport, o.code])).toEqual([['stream', -41006]]);
  });

  it('a stream read to the end ends once, as "stream"', async () => {
    const { router, outcomes } = setup(async function* () {
      yield 'a';
    });
    const reply = await router.handle(streamStart());
    if (reply.kind !== 'stream') throw new Error('expected a stream');
    const names = [];
    for await (const e of reply.events) names.push(e.event);
    reply.cancel(); // what the adapter does after writing: a no-op now
    expect(names).toEqual(['stream', 'done']);
    expect(outcomes.map((o) => o.transport)).toEqual(['stream']);
    expect(router.inFlight).toBe(0);
  });

  it('a failing handler before the stream starts frees the slot (JSON error, 400 for a stream call)', async () => {
    const router = new ArcRouter({ serverId: 's', maxConcurrentPerAgent: 1 });
    routers.push(router);
    router.addAgent(
      new ArcAgent('agent-a').on('chat.start', () => {
        throw new Error('boom');
      }),
    );
    for (let i = 0; i < 3; i++) expect((await jsonReply(router.handle(streamStart()))).status).toBe(500);
    expect(router.inFlight).toBe(0);
  });
});
