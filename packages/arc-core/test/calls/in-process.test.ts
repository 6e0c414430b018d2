/** ctx.agents between agents of one router: in process, through the whole pipeline. */
import { AgentCallError } from '../../src/calls/errors';
import { ArcError } from '../../src/errors/arc-error';
import { ArcErrorCode } from '../../src/errors/codes';
import type { Logger, LogMeta } from '../../src/logging/logger';
import { messageText } from '../../src/protocol/parts';
import { ArcAgent, type HandlerContext } from '../../src/router/agent';
import type { RequestState } from '../../src/router/request-state';
import { ArcRouter, type RouterOptions } from '../../src/router/router';
import { envelope, jsonReply, rejection, userMessage, type Json } from '../support/util';

interface Seen {
  requestAgent: string;
  traceId: string | undefined;
  headers: Record<string, unknown>;
  chain: readonly string[] | undefined;
}

/** A logger whose children keep their bindings, so a line shows the request's traceId. */
function bindingLogger(): Logger & { lines: LogMeta[] } {
  const lines: LogMeta[] = [];
  const make = (bound: LogMeta): Logger => {
    const at = (level: string) => (message: string, meta?: LogMeta) => lines.push({ level, message, ...bound, ...meta });
    return {
      error: at('error'),
      warn: at('warn'),
      info: at('info'),
      debug: at('debug'),
      log: (entry) => lines.push({ ...bound, ...entry }),
      child: (b) => make({ ...bound, ...b }),
    };
  };
  return Object.assign(make({}), { lines });
}

function seen(ctx: HandlerContext): Seen {
  const meta = (ctx as RequestState).meta;
  return { requestAgent: ctx.requestAgent, traceId: ctx.traceId, headers: { ...meta.headers }, chain: meta.callChain };
}

function setup(options: Partial<RouterOptions> = {}) {
  const router = new ArcRouter({ serverId: 'test', ...options });
  const hrSeen: Seen[] = [];
  const counts = { start: 0, message: 0, end: 0 };
  const aborted: string[] = [];
  router.addAgent(
    new ArcAgent('hr-agent')
      .on('chat.start', (p, ctx) => {
        counts.start++;
        hrSeen.push(seen(ctx));
        return `hr got ${messageText(p.initialMessage)}`;
      })
      .on('chat.message', (p) => {
        counts.message++;
        return `hr again ${messageText(p.message)}`;
      })
      .on('chat.end', () => {
        counts.end++;
      })
      .on('whoami', (_p, ctx) => {
        hrSeen.push(seen(ctx));
        return { requestAgent: ctx.requestAgent, traceId: ctx.traceId };
      })
      .on('refuse', () => {
        throw new ArcError(-42004, 'Payment gateway refused', { gateway: 'test' });
      })
      .on(
        'slow',
        (_p, ctx) =>
          new Promise((resolve) =>
            ctx.signal.addEventListener('abort', () => {
              aborted.push(ctx.requestAgent);
              resolve('aborted');
            }),
          ),
      ),
  );
  return { router, hrSeen, counts, aborted };
}

/** Adds an agent whose method `run` calls `fn(ctx)` and answers what it returns. */
function caller(router: ArcRouter, id: string, fn: (ctx: HandlerContext, params: Record<string, unknown>) => Promise<unknown>): void {
  router.addAgent(new ArcAgent(id).on('run', (p, ctx) => fn(ctx, p)));
}

const run = (target: string, extra: Record<string, unknown> = {}, params: Record<string, unknown> = {}) =>
  envelope('run', params, { targetAgent: target, ...extra });

/** Runs `fn` inside a handler and returns what it threw (or fails the test). */
let probes = 0;
async function callError(router: ArcRouter, fn: (ctx: HandlerContext) => Promise<unknown>): Promise<AgentCallError> {
  let caught: unknown;
  const id = `probe-${++probes}`;
  caller(router, id, async (ctx) => {
    caught = await rejection(fn(ctx));
    return 'ok';
  });
  await router.handle(run(id));
  expect(caught).toBeInstanceOf(AgentCallError);
  return caught as AgentCallError;
}

describe('ctx.agents in process', () => {
  it('answers with the result; requestAgent is the calling agent; the given traceId is passed on', async () => {
    const { router, hrSeen } = setup();
    caller(router, 'front', (ctx) => ctx.agents.chat.start('hr-agent', 'hello'));
    const { body } = await jsonReply(router.handle(run('front', { traceId: 'trace-given-1' })));
    expect(body.error).toBeNull();
    expect(body.traceId).toBe('trace-given-1');
    expect(body.result.type).toBe('chat');
    expect(body.result.chat.message.parts[0].content).toBe('hr got hello');
    expect(hrSeen[0]!.requestAgent).toBe('front');
    expect(hrSeen[0]!.traceId).toBe('trace-given-1');
    // A child traceparent (its trace-id is new: the given traceId is not a W3C one) and the chain.
    expect(hrSeen[0]!.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(hrSeen[0]!.headers['x-arc-call-chain']).toBe('front');
    expect(hrSeen[0]!.chain).toEqual(['front']);
  });

  it('generates a traceId when the request had none: logs and calls carry it, the reply does not', async () => {
    const logger = bindingLogger();
    const { router, hrSeen } = setup({ logger });
    let own: string | undefined;
    caller(router, 'front', async (ctx) => {
      ctx.logger.info('before');
      const r = await ctx.agents.request('hr-agent', 'whoami');
      own = ctx.traceId;
      ctx.logger.info('after');
      return r;
    });
    const { body } = await jsonReply(router.handle(run('front')));
    expect('traceId' in body).toBe(false);
    expect(own).toMatch(/^[0-9a-f]{32}$/);
    expect(body.result).toEqual({ requestAgent: 'front', traceId: own });
    expect(hrSeen[0]!.headers.traceparent).toMatch(new RegExp(`^00-${own}-[0-9a-f]{16}-01$`));
    const after = logger.lines.find((l) => l.message === 'after');
    expect(after?.traceId).toBe(own);
    // Each request without a traceId gets its own.
    const first = own;
    const second = await jsonReply(router.handle(run('front')));
    expect(second.body.result.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(second.body.result.traceId).not.toBe(first);
  });

  it('takes the traceId from an incoming traceparent and sends a child of it', async () => {
    const { router, hrSeen } = setup();
    caller(router, 'front', (ctx) => ctx.agents.request('hr-agent', 'whoami'));
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parent = '00f067aa0ba902b7';
    const { body } = await jsonReply(router.handle(run('front'), { headers: { traceparent: `00-${traceId}-${parent}-01` } }));
    expect(body.result.traceId).toBe(traceId);
    expect('traceId' in body).toBe(false);
    const sent = hrSeen[0]!.headers.traceparent as string;
    expect(sent.split('-')[1]).toBe(traceId);
    expect(sent.split('-')[2]).not.toBe(parent);
  });

  it('an ARC error of the target is an AgentCallError with its code, message, details and target', async () => {
    const { router } = setup();
    const err = await callError(router, (ctx) => ctx.agents.request('hr-agent', 'refuse'));
    expect(err.code).toBe(-42004);
    expect(err.message).toBe('Payment gateway refused');
    expect(err.details).toEqual({ gateway: 'test' });
    expect(err.target).toBe('hr-agent');
    expect(err.method).toBe('refuse');
    expect(err.retryable).toBe(false);
    expect(err).toBeInstanceOf(ArcError);
  });

  it('an unknown method is the target’s -32601; an unknown agent with no route is -41001', async () => {
    const { router } = setup();
    expect((await callError(router, (ctx) => ctx.agents.request('hr-agent', 'nope'))).code).toBe(ArcErrorCode.MethodNotFound);
    const unknown = await callError(router, (ctx) => ctx.agents.chat.start('nobody', 'hi'));
    expect(unknown.code).toBe(ArcErrorCode.AgentNotFound);
    expect(unknown.target).toBe('nobody');
  });

  it('a handler can catch the error and fall back', async () => {
    const { router } = setup();
    caller(router, 'front', async (ctx) => {
      try {
        return await ctx.agents.request('hr-agent', 'refuse');
      } catch (err) {
        if (err instanceof AgentCallError) return { fallback: 'Service temporarily unavailable', code: err.code };
        throw err;
      }
    });
    const { body } = await jsonReply(router.handle(run('front')));
    expect(body.result).toEqual({ fallback: 'Service temporarily unavailable', code: -42004 });
  });

  it('times out after opts.timeoutMs with -41006 and aborts the target’s handler', async () => {
    const { router, aborted } = setup();
    const err = await callError(router, (ctx) => ctx.agents.request('hr-agent', 'slow', {}, { timeoutMs: 30 }));
    expect(aborted).toEqual([expect.stringMatching(/^probe-/)]);
    expect(err.code).toBe(ArcErrorCode.AgentTimeout);
    expect(err.details).toMatchObject({ agentId: 'hr-agent', timeoutMs: 30 });
  });

  it('a call never outlives the calling handler’s own time', async () => {
    const { router } = setup({ handlerTimeoutMs: 60, agentCalls: { timeoutMs: 10_000 } });
    let caught: unknown;
    caller(router, 'front', async (ctx) => {
      caught = await rejection(ctx.agents.request('hr-agent', 'slow'));
      return 'late';
    });
    await router.handle(run('front'));
    expect(caught).toBeInstanceOf(AgentCallError);
    expect((caught as AgentCallError).code).toBe(ArcErrorCode.AgentTimeout);
    expect((caught as AgentCallError).details.timeoutMs).toBeLessThanOrEqual(60);
  });

  it('the chat and task calls send the standard params', async () => {
    const { router, counts } = setup();
    caller(router, 'front', async (ctx) => {
      const started = await ctx.agents.chat.start('hr-agent', 'one');
      const next = await ctx.agents.chat.message('hr-agent', started.chat.chatId, userMessage('two') as never);
      const ended = await ctx.agents.chat.end('hr-agent', started.chat.chatId, 'done');
      return { next: messageText(next.chat.message!), ended: ended.chat.status };
    });
    const { body } = await jsonReply(router.handle(run('front')));
    expect(body.result).toEqual({ next: 'hr again two', ended: 'CLOSED' });
    expect(counts).toEqual({ start: 1, message: 1, end: 1 });
  });

  it('task calls reach an agent with a task handler', async () => {
    const { router } = setup();
    router.addAgent(new ArcAgent('report-agent').onTask(() => 'done'));
    caller(router, 'front', async (ctx) => {
      const created = await ctx.agents.task.create('report-agent', 'make a report');
      const info = await ctx.agents.task.info('report-agent', created.task.taskId);
      return { created: created.task.status, id: info.task.taskId === created.task.taskId };
    });
    const { body } = await jsonReply(router.handle(run('front')));
    expect(body.error).toBeNull();
    expect(body.result).toEqual({ created: 'SUBMITTED', id: true });
    await router.close();
  });

  it('thread: starts a chat the first time, continues it after, endAll ends it', async () => {
    const { router, counts } = setup();
    caller(router, 'front', async (ctx) => {
      const thread = ctx.agents.thread('conv-1');
      const a = await thread.send('hr-agent', 'first');
      const b = await ctx.agents.thread('conv-1').send('hr-agent', 'second');
      const chats = thread.chats;
      await thread.endAll('bye');
      return {
        a: messageText(a.chat.message!),
        b: messageText(b.chat.message!),
        same: a.chat.chatId === b.chat.chatId,
        chats,
        after: thread.chats,
      };
    });
    const { body } = await jsonReply(router.handle(run('front')));
    expect(body.result.a).toBe('hr got first');
    expect(body.result.b).toBe('hr again second');
    expect(body.result.same).toBe(true);
    expect(Object.keys(body.result.chats)).toEqual(['hr-agent']);
    expect(body.result.after).toEqual({});
    expect(counts).toEqual({ start: 1, message: 1, end: 1 });
  });

  it('thread: continues chats passed back from an earlier request', async () => {
    const { router, counts } = setup();
    caller(router, 'front', async (ctx, p) => {
      const thread = ctx.agents.thread(undefined, p.chats as Record<string, string> | undefined);
      await thread.send('hr-agent', 'hi');
      return thread.chats;
    });
    const first = await jsonReply(router.handle(run('front')));
    const chats = first.body.result as Json;
    const second = await jsonReply(router.handle(run('front', {}, { chats })));
    expect(second.body.result).toEqual(chats);
    expect(counts).toMatchObject({ start: 1, message: 1 });
  });

  it('a cycle A → B → A is -45006 before the second call is sent', async () => {
    const router = new ArcRouter({ serverId: 'test' });
    let reachedAgain = 0;
    router.addAgent(
      new ArcAgent('agent-a').on('ping', async (p, ctx) => {
        if (p.again === true) reachedAgain++;
        return ctx.agents.request('agent-b', 'ping');
      }),
    );
    router.addAgent(new ArcAgent('agent-b').on('ping', (_p, ctx) => ctx.agents.request('agent-a', 'ping', { again: true })));
    const { body } = await jsonReply(router.handle(envelope('ping', {}, { targetAgent: 'agent-a' })));
    expect(body.error.code).toBe(ArcErrorCode.CircularReference);
    expect(body.error.details).toMatchObject({ chain: ['agent-a', 'agent-b'], target: 'agent-a' });
    expect(reachedAgain).toBe(0);
  });

  it('a chain longer than maxHops is -45006', async () => {
    const router = new ArcRouter({ serverId: 'test', agentCalls: { maxHops: 2 } });
    const reached: string[] = [];
    for (const [id, next] of [
      ['n1', 'n2'],
      ['n2', 'n3'],
      ['n3', 'n4'],
      ['n4', undefined],
    ] as const) {
      router.addAgent(
        new ArcAgent(id).on('hop', (_p, ctx) => {
          reached.push(id);
          return next === undefined ? 'end' : ctx.agents.request(next, 'hop');
        }),
      );
    }
    const { body } = await jsonReply(router.handle(envelope('hop', {}, { targetAgent: 'n1' })));
    expect(body.error.code).toBe(ArcErrorCode.CircularReference);
    expect(body.error.details).toMatchObject({ maxHops: 2, chain: ['n1', 'n2', 'n3'] });
    expect(reached).toEqual(['n1', 'n2', 'n3']);
    // Within the limit it works.
    const ok = new ArcRouter({ serverId: 'test', agentCalls: { maxHops: 3 } });
    for (const a of router.agentList) ok.addAgent(a);
    expect((await jsonReply(ok.handle(envelope('hop', {}, { targetAgent: 'n1' })))).body.result).toBe('end');
  });

  it('a handler that never reads ctx.agents gets no traceId', async () => {
    const { router, hrSeen } = setup();
    await router.handle(envelope('whoami', {}, { targetAgent: 'hr-agent' }));
    expect(hrSeen[0]!.traceId).toBeUndefined();
  });
});
