import { ArcError } from '../../src/errors/arc-error';
import { ArcErrorCode } from '../../src/errors/codes';
import type { Part } from '../../src/protocol/types';
import { ArcAgent, type HandlerContext } from '../../src/router/agent';
import { ArcRouter } from '../../src/router/router';
import { MemoryChatStore } from '../../src/state/memory-chat-store';
import { recordingLogger } from '../support/recording-logger';
import { deferred, envelope, jsonReply, sleep, streamEvents, userMessage, type Json } from '../support/util';

const start = (text = 'hello', extra: Record<string, unknown> = {}, env: Record<string, unknown> = {}): Record<string, unknown> =>
  envelope('chat.start', { initialMessage: userMessage(text), ...extra }, env);
const message = (
  chatId: string,
  text = 'more',
  extra: Record<string, unknown> = {},
  env: Record<string, unknown> = {},
): Record<string, unknown> => envelope('chat.message', { chatId, message: userMessage(text), ...extra }, env);
const end = (chatId: string, extra: Record<string, unknown> = {}, env: Record<string, unknown> = {}): Record<string, unknown> =>
  envelope('chat.end', { chatId, ...extra }, env);

const routers: ArcRouter[] = [];
function newRouter(options: Partial<ConstructorParameters<typeof ArcRouter>[0]> = {}): ArcRouter {
  const r = new ArcRouter({ serverId: 'test-server', ...options });
  routers.push(r);
  return r;
}
afterAll(async () => {
  for (const r of routers) await r.chatStore.dispose();
});

describe('agents and handler registration', () => {
  it('dispatches by targetAgent to several agents', async () => {
    const router = newRouter();
    for (const id of ['alpha', 'beta', 'gamma']) {
      router.addAgent(new ArcAgent(id).on('whoami', (_p, ctx) => ({ agent: id, ctxAgent: ctx.agentId })));
    }
    for (const id of ['gamma', 'alpha', 'beta']) {
      const { status, body } = await jsonReply(router.handle(envelope('whoami', {}, { targetAgent: id })));
      expect(status).toBe(200);
      expect(body.result).toEqual({ agent: id, ctxAgent: id });
      expect(body.responseAgent).toBe(id);
    }
  });

  it('router.agent() creates an agent on first use and returns the same one after', () => {
    const router = newRouter();
    const a = router.agent('lazy');
    expect(router.agent('lazy')).toBe(a);
    expect(router.agentList.map((x) => x.id)).toEqual(['lazy']);
  });

  it('a second handler for the same method throws, also through an alias', () => {
    const agent = new ArcAgent('dup').on('chat.start', () => 'x');
    expect(() => agent.on('chat.start', () => 'y')).toThrow('Agent dup already has a handler for chat.start');
    agent.on('task.info', () => ({ type: 'task', task: { taskId: 't', status: 'WORKING', createdAt: 'x' } }));
    expect(() => agent.on('task.get', () => ({}))).toThrow('Agent dup already has a handler for task.info');
    expect(() => agent.on('stream.start', () => 'z')).toThrow('Agent dup already has a handler for chat.start');
  });

  it('a duplicate agent id throws -41010', () => {
    const router = newRouter();
    router.addAgent(new ArcAgent('twin'));
    let caught: unknown;
    try {
      router.addAgent(new ArcAgent('twin'));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ArcError);
    expect((caught as ArcError).code).toBe(-41010);
    expect((caught as ArcError).message).toBe('Agent twin is already registered on test-server');
    expect(router.agentList).toHaveLength(1);
  });

  it('an invalid agent id throws -41004', () => {
    expect(() => new ArcAgent('bad id with spaces')).toThrow(ArcError);
    try {
      new ArcAgent('');
    } catch (err) {
      expect((err as ArcError).code).toBe(-41004);
    }
  });

  it('lists chat.end among the methods of an agent with chat.start', () => {
    expect(new ArcAgent('a').on('chat.start', () => 'x').on('chat.message', () => 'y').methods).toEqual([
      'chat.start',
      'chat.message',
      'chat.end',
    ]);
    expect(
      new ArcAgent('b').on('task.create', () => ({ type: 'task', task: { taskId: 't', status: 'SUBMITTED', createdAt: 'x' } })).methods,
    ).toEqual(['task.create']);
  });
});

describe('method aliases', () => {
  const seen: Array<{ method: string; params: Json }> = [];
  const router = newRouter();
  router.addAgent(
    new ArcAgent('agent-a')
      .on('task.info', (p, ctx) => {
        seen.push({ method: ctx.method, params: p });
        return { type: 'task', task: { taskId: p.taskId, status: 'WORKING', createdAt: '2025-01-01T00:00:00Z' } };
      })
      .on('chat.start', (p, ctx) => {
        seen.push({ method: ctx.method, params: p });
        return 'started';
      })
      .on('chat.message', (p, ctx) => {
        seen.push({ method: ctx.method, params: p });
        return `echo ${p.chatId}`;
      }),
  );

  beforeEach(() => {
    seen.length = 0;
  });

  it('task.get is task.info', async () => {
    const { status, body } = await jsonReply(router.handle(envelope('task.get', { taskId: 't-9' })));
    expect(status).toBe(200);
    expect(body.result.task.taskId).toBe('t-9');
    expect(seen).toEqual([{ method: 'task.info', params: { taskId: 't-9' } }]);
  });

  it('stream.start / stream.message / stream.end are the chat methods, streamId read as chatId', async () => {
    const started = await jsonReply(router.handle(envelope('stream.start', { initialMessage: userMessage('hi'), streamId: 's-1' })));
    expect(started.status).toBe(200);
    expect(started.body.result.type).toBe('chat');
    expect(started.body.result.chat.chatId).toBe('s-1');
    expect(seen[0]!.method).toBe('chat.start');
    expect(seen[0]!.params.chatId).toBe('s-1');
    expect(seen[0]!.params.streamId).toBeUndefined();

    const msg = await jsonReply(router.handle(envelope('stream.message', { streamId: 's-1', message: userMessage('x') })));
    expect(msg.status).toBe(200);
    expect(msg.body.result.chat.message.parts[0].content).toBe('echo s-1');
    expect(seen[1]!.method).toBe('chat.message');

    const ended = await jsonReply(router.handle(envelope('stream.end', { streamId: 's-1' })));
    expect(ended.status).toBe(200);
    expect(ended.body.result.chat).toMatchObject({ chatId: 's-1', status: 'CLOSED' });

    const again = await jsonReply(router.handle(envelope('chat.message', { chatId: 's-1', message: userMessage('x') })));
    expect(again.body.error.code).toBe(-43002);
  });

  it('stream.message without streamId or chatId is -32602 naming chatId', async () => {
    const reply = await jsonReply(router.handle(envelope('stream.message', { message: userMessage('x') })));
    expect(reply.status).toBe(200);
    expect(reply.body.error.code).toBe(-32602);
    expect(reply.body.error.message).toBe('params.chatId is required');
  });
});

describe('chat lifecycle', () => {
  let router: ArcRouter;
  let failStart: number;
  const ended: string[] = [];

  beforeEach(() => {
    failStart = 0;
    ended.length = 0;
    router = newRouter();
    router.addAgent(
      new ArcAgent('agent-a')
        .on('chat.start', (p, ctx) => {
          if (failStart > 0) {
            failStart--;
            throw new ArcError(ArcErrorCode.TaskExecution, 'backend down');
          }
          return `hello ${ctx.chat?.chatId ?? '?'} ${p.initialMessage.parts.length}`;
        })
        .on('chat.message', (p) => `got ${p.chatId}`),
    );
    router.addAgent(
      new ArcAgent('agent-b')
        .on('chat.start', () => 'b')
        .on('chat.end', (p) => {
          ended.push(p.chatId);
        }),
    );
  });

  it('chat.start generates an id when none is given', async () => {
    const { status, body } = await jsonReply(router.handle(start()));
    expect(status).toBe(200);
    const chat = body.result.chat;
    expect(chat.chatId).toMatch(/^chat-[0-9a-f]{16}$/);
    expect(chat.status).toBe('ACTIVE');
    expect(typeof chat.createdAt).toBe('string');
    expect(chat.message).toEqual({ role: 'agent', parts: [{ type: 'TextPart', content: `hello ${chat.chatId} 1` }] });
    const second = await jsonReply(router.handle(start()));
    expect(second.body.result.chat.chatId).not.toBe(chat.chatId);
  });

  it('chat.start uses the given id; message and end work on it', async () => {
    const s = await jsonReply(router.handle(start('hi', { chatId: 'my-chat' })));
    expect(s.body.result.chat.chatId).toBe('my-chat');
    const m = await jsonReply(router.handle(message('my-chat')));
    expect(m.status).toBe(200);
    expect(m.body.result).toEqual({
      type: 'chat',
      chat: { chatId: 'my-chat', status: 'ACTIVE', message: { role: 'agent', parts: [{ type: 'TextPart', content: 'got my-chat' }] } },
    });
    const e = await jsonReply(router.handle(end('my-chat', { reason: 'done' })));
    expect(e.status).toBe(200);
    expect(e.body.result.chat).toEqual({ chatId: 'my-chat', status: 'CLOSED', closedAt: expect.any(String), reason: 'done' });
  });

  it('chat.start with an existing id is refused and does not reset the chat', async () => {
    await jsonReply(router.handle(start('hi', { chatId: 'taken' })));
    const again = await jsonReply(router.handle(start('hi', { chatId: 'taken' })));
    expect(again.status).toBe(200);
    expect(again.body.error.code).toBe(-32602);
    expect(again.body.error.message).toBe('Chat taken already exists; continue it with chat.message or use a new chatId');
    expect(again.body.error.details).toMatchObject({ field: 'params.chatId', chatId: 'taken' });
  });

  it('chat.start with the id of a closed chat is refused with -43002', async () => {
    await jsonReply(router.handle(start('hi', { chatId: 'old' })));
    await jsonReply(router.handle(end('old')));
    const again = await jsonReply(router.handle(start('hi', { chatId: 'old' })));
    expect(again.status).toBe(200);
    expect(again.body.error.code).toBe(-43002);
    expect(again.body.error.message).toBe('Chat old was closed and cannot be started again; use a new chatId');
  });

  it.each([
    ['chat.message', (id: string) => message(id)],
    ['chat.end', (id: string) => end(id)],
  ])('%s on an unknown chat → -43001 with HTTP 200', async (_m, build) => {
    const { status, body } = await jsonReply(router.handle(build('nope')));
    expect(status).toBe(200);
    expect(body.error.code).toBe(-43001);
    expect(body.error.message).toBe('Chat not found: nope');
    expect(body.error.details).toMatchObject({ chatId: 'nope' });
  });

  it.each([
    ['chat.message', (id: string) => message(id)],
    ['chat.end', (id: string) => end(id)],
  ])('%s on a closed chat → -43002 with HTTP 200', async (_m, build) => {
    await jsonReply(router.handle(start('hi', { chatId: 'closed-1' })));
    const first = await jsonReply(router.handle(end('closed-1')));
    expect(first.body.error).toBeNull();
    const { status, body } = await jsonReply(router.handle(build('closed-1')));
    expect(status).toBe(200);
    expect(body.error.code).toBe(-43002);
    expect(body.error.message).toBe('Chat already closed: closed-1');
    expect(body.error.details).toMatchObject({ chatId: 'closed-1' });
  });

  it('chats are per agent: an id of agent-a is unknown at agent-b', async () => {
    await jsonReply(router.handle(start('hi', { chatId: 'shared' })));
    const atB = await jsonReply(router.handle(end('shared', {}, { targetAgent: 'agent-b' })));
    expect(atB.body.error.code).toBe(-43001);
  });

  it('a chat.end handler runs before the chat is closed', async () => {
    await jsonReply(router.handle(start('hi', { chatId: 'b-1' }, { targetAgent: 'agent-b' })));
    const e = await jsonReply(router.handle(end('b-1', {}, { targetAgent: 'agent-b' })));
    expect(e.body.result.chat.status).toBe('CLOSED');
    expect(e.body.result.chat.reason).toBeNull();
    expect(ended).toEqual(['b-1']);
  });

  it('a failing chat.start handler removes the chat, so a retry with the same id works', async () => {
    failStart = 1;
    const failed = await jsonReply(router.handle(start('hi', { chatId: 'retry-me' })));
    expect(failed.status).toBe(200);
    expect(failed.body.error.code).toBe(-42004);
    expect(await router.chatStore.get('agent-a', 'retry-me')).toBeUndefined();
    const missing = await jsonReply(router.handle(message('retry-me')));
    expect(missing.body.error.code).toBe(-43001);
    const ok = await jsonReply(router.handle(start('hi', { chatId: 'retry-me' })));
    expect(ok.body.error).toBeNull();
    expect(ok.body.result.chat.chatId).toBe('retry-me');
  });

  it('a chat store that fails becomes -41002 / 503 with Retry-After, never a crash', async () => {
    const store = new MemoryChatStore();
    store.create = () => Promise.reject(new Error('ECONNREFUSED redis:6379'));
    const r = newRouter({ chatStore: store });
    r.addAgent(new ArcAgent('agent-a').on('chat.start', () => 'x'));
    const reply = await jsonReply(r.handle(start()));
    expect(reply.status).toBe(503);
    expect(reply.retryAfter).toBe(1);
    expect(reply.body.error.code).toBe(-41002);
    expect(reply.body.error.message).toBe('Agent temporarily unavailable: chat state cannot be reached; retry shortly');
    expect(JSON.stringify(reply.body)).not.toContain('ECONNREFUSED');
  });
});

describe('handler errors', () => {
  const logger = recordingLogger();
  const router = newRouter({ logger });
  router.addAgent(
    new ArcAgent('agent-a')
      .on('pay', () => {
        throw new ArcError(-42004, 'Payment gateway refused the charge', { gateway: 'stripe', attempt: 2 });
      })
      .on('crash', () => {
        throw new Error('db password is hunter2 at 10.0.0.7');
      })
      .on('reject', () => Promise.reject(new TypeError('cannot read secretField of undefined')))
      .on('custom-code', () => {
        throw new ArcError(-49999, 'A domain error of our own');
      }),
  );

  it('an ArcError from a handler → its code with HTTP 200, its message and details', async () => {
    const { status, body } = await jsonReply(router.handle(envelope('pay', {})));
    expect(status).toBe(200);
    expect(body.error).toEqual({ code: -42004, message: 'Payment gateway refused the charge', details: { gateway: 'stripe', attempt: 2 } });
    expect(body.result).toBeNull();
  });

  it('an undefined code from a handler travels with 200', async () => {
    const { status, body } = await jsonReply(router.handle(envelope('custom-code', {})));
    expect(status).toBe(200);
    expect(body.error).toEqual({ code: -49999, message: 'A domain error of our own', details: {} });
  });

  it.each([
    ['crash', 'hunter2'],
    ['reject', 'secretField'],
  ])('a plain Error (%s) → -32603 / 500 with an errorId, internal text only in the log', async (method, secret) => {
    logger.lines.length = 0;
    const { status, body } = await jsonReply(router.handle(envelope(method, {})));
    expect(status).toBe(500);
    expect(body.error.code).toBe(-32603);
    expect(body.error.message).toBe('Internal error');
    expect(Object.keys(body.error.details)).toEqual(['errorId']);
    expect(body.error.details.errorId).toMatch(/^[0-9a-f-]{36}$/);
    const text = JSON.stringify(body);
    expect(text).not.toContain(secret);
    expect(text).not.toMatch(/\bat .+:\d+:\d+/);
    const logged = logger.lines.find((l) => l.level === 'error' && l.meta?.errorId === body.error.details.errorId);
    expect(logged).toBeDefined();
    expect(String(logged!.meta!.err)).toContain(secret);
  });
});

describe('handlers that throw synchronously', () => {
  it('leave no handler-timeout timer behind (no late unhandled rejection)', async () => {
    const router = newRouter({ handlerTimeoutMs: 25 });
    router.addAgent(
      new ArcAgent('agent-a')
        .on('sync-throw', () => {
          throw new ArcError(-42001, 'no such task');
        })
        .on('chat.start', () => 'x')
        .on('chat.end', () => {
          throw new ArcError(-43005, 'cannot end now');
        }),
    );
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const a = await jsonReply(router.handle(envelope('sync-throw', {})));
      expect(a.body.error).toEqual({ code: -42001, message: 'no such task', details: {} });
      await jsonReply(router.handle(start('x', { chatId: 'c' })));
      const b = await jsonReply(router.handle(end('c')));
      expect(b.body.error.code).toBe(-43005);
      // The chat.end handler refused, so the chat stays open.
      expect((await router.chatStore.get('agent-a', 'c'))?.status).toBe('ACTIVE');
      await sleep(80);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('concurrency limit and timeout', () => {
  it('over the per-agent limit → -41011 / 503 with retryAfter; the slot is released after', async () => {
    const router = newRouter();
    const gate = deferred();
    router.addAgent(
      new ArcAgent('busy', { maxConcurrent: 1 }).on('slow', async () => {
        await gate.promise;
        return { ok: true };
      }),
    );
    const first = router.handle(envelope('slow', {}, { targetAgent: 'busy', id: 'first' }));
    const refused = await jsonReply(router.handle(envelope('slow', {}, { targetAgent: 'busy', id: 'second' })));
    expect(refused.status).toBe(503);
    expect(refused.retryAfter).toBe(1);
    expect(refused.body.error.code).toBe(-41011);
    expect(refused.body.error.message).toBe('Agent busy is at capacity (1 requests in flight); retry shortly');
    expect(refused.body.error.details).toEqual({ agentId: 'busy', limit: 1 });
    expect(refused.body.id).toBe('second');
    expect(router.inFlight).toBe(1);
    gate.resolve();
    expect((await jsonReply(first)).body.result).toEqual({ ok: true });
    expect(router.inFlight).toBe(0);
    const third = await jsonReply(router.handle(envelope('slow', {}, { targetAgent: 'busy', id: 'third' })));
    expect(third.status).toBe(200);
  });

  it('the server-wide default limit applies to agents without their own', async () => {
    const router = newRouter({ maxConcurrentPerAgent: 2 });
    const gate = deferred();
    router.addAgent(
      new ArcAgent('agent-a').on('slow', async () => {
        await gate.promise;
        return 1;
      }),
    );
    const a = router.handle(envelope('slow', {}));
    const b = router.handle(envelope('slow', {}));
    const c = await jsonReply(router.handle(envelope('slow', {})));
    expect(c.status).toBe(503);
    expect(c.body.error.code).toBe(-41011);
    gate.resolve();
    expect((await jsonReply(a)).status).toBe(200);
    expect((await jsonReply(b)).status).toBe(200);
  });

  it('a handler that does not answer in time → -41006 and its signal is aborted', async () => {
    const router = newRouter({ handlerTimeoutMs: 30 });
    let signal: AbortSignal | undefined;
    const release = deferred();
    router.addAgent(
      new ArcAgent('sleepy').on('nap', async (_p, ctx) => {
        signal = ctx.signal;
        await new Promise<void>((resolve) => {
          ctx.signal.addEventListener('abort', () => resolve(), { once: true });
          void release.promise.then(resolve);
        });
        return 'late';
      }),
    );
    const { status, body } = await jsonReply(router.handle(envelope('nap', {}, { targetAgent: 'sleepy' })));
    release.resolve();
    expect(status).toBe(200);
    expect(body.error.code).toBe(-41006);
    expect(body.error.message).toBe('Agent sleepy did not answer within 30 ms');
    expect(body.error.details).toEqual({ agentId: 'sleepy', timeoutMs: 30 });
    expect(signal?.aborted).toBe(true);
    expect(router.inFlight).toBe(0);
  });

  it('a caller disconnect (meta.onDisconnect) aborts the handler context, wired only when the signal is used', async () => {
    const router = newRouter();
    let disconnect: (() => void) | undefined;
    let wired = 0;
    const meta = {
      onDisconnect: (abort: () => void) => {
        wired++;
        disconnect = abort;
      },
    };
    await jsonReply(router.handle(envelope('wait-none', {}), meta));
    expect(wired).toBe(0);
    let ctxSignal: AbortSignal | undefined;
    const entered = deferred();
    router.addAgent(
      new ArcAgent('agent-a')
        .on('wait', async (_p, ctx) => {
          ctxSignal = ctx.signal;
          entered.resolve();
          await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
          return 'stopped';
        })
        .on('wait-none', () => 'no signal used'),
    );
    const pending = router.handle(envelope('wait', {}), meta);
    await entered.promise;
    expect(wired).toBe(1);
    expect(ctxSignal?.aborted).toBe(false);
    disconnect!();
    const { body } = await jsonReply(pending);
    expect(ctxSignal?.aborted).toBe(true);
    expect(body.result).toBe('stopped');
  });
});

describe('response envelope', () => {
  const contexts: HandlerContext[] = [];
  const router = newRouter();
  router.addAgent(
    new ArcAgent('agent-a')
      .on('echo', (p, ctx) => {
        contexts.push(ctx);
        return { params: p };
      })
      .on('fail', () => {
        throw new ArcError(-42001, 'Task not found: t', { taskId: 't' });
      }),
  );

  it('swaps the agents and keeps the result, error null, no traceId key when none was sent', async () => {
    const { status, body } = await jsonReply(router.handle(envelope('echo', { x: 1 }, { requestAgent: 'caller-7' })));
    expect(status).toBe(200);
    expect(Object.keys(body)).toEqual(['arc', 'id', 'responseAgent', 'targetAgent', 'result', 'error']);
    expect(body).toEqual({
      arc: '1.0',
      id: 'req-1',
      responseAgent: 'agent-a',
      targetAgent: 'caller-7',
      result: { params: { x: 1 } },
      error: null,
    });
  });

  it('echoes traceId when sent', async () => {
    const { body } = await jsonReply(router.handle(envelope('echo', {}, { traceId: 'trace-abc' })));
    expect(body.traceId).toBe('trace-abc');
    expect(Object.keys(body)).toEqual(['arc', 'id', 'responseAgent', 'targetAgent', 'result', 'error', 'traceId']);
    expect(contexts.at(-1)!.traceId).toBe('trace-abc');
  });

  it.each([[0], [42], [-1], [1.5], ['42'], ['']])('keeps the id %j with its JSON type', async (id) => {
    const { body } = await jsonReply(router.handle(envelope('echo', {}, { id })));
    expect(body.id).toBe(id);
    expect(typeof body.id).toBe(typeof id);
  });

  it('keeps a number id on errors too, and errors always carry traceId (echoed or null)', async () => {
    const withTrace = await jsonReply(router.handle(envelope('fail', {}, { id: 7, traceId: 't-1' })));
    expect(withTrace.body.id).toBe(7);
    expect(withTrace.body.traceId).toBe('t-1');
    const without = await jsonReply(router.handle(envelope('fail', {}, { id: 8 })));
    expect(without.body.id).toBe(8);
    expect(without.body.traceId).toBeNull();
    expect(Object.keys(without.body)).toEqual(['arc', 'id', 'responseAgent', 'targetAgent', 'traceId', 'result', 'error']);
    expect(without.body.responseAgent).toBe('agent-a');
    expect(without.body.targetAgent).toBe('tester');
  });

  it('an error about an agent that is not registered names the server as responseAgent', async () => {
    const { body } = await jsonReply(router.handle(envelope('echo', {}, { targetAgent: 'nobody' })));
    expect(body.error.code).toBe(-41001);
    expect(body.responseAgent).toBe('test-server');
    expect(body.targetAgent).toBe('tester');
  });

  it('passes the request context to the handler', async () => {
    await jsonReply(router.handle(envelope('echo', {}, { id: 99, requestAgent: 'ctx-caller' })));
    const ctx = contexts.at(-1)!;
    expect(ctx).toMatchObject({
      agentId: 'agent-a',
      method: 'echo',
      requestId: 99,
      requestAgent: 'ctx-caller',
      stream: false,
      traceId: undefined,
    });
    expect(ctx.chat).toBeUndefined();
  });
});

describe('streaming (params.stream === true)', () => {
  let router: ArcRouter;
  let mode: 'words' | 'string' | 'throw-mid' | 'throw-mid-arc' | 'throw-before' | 'parts' | 'nothing';

  async function* words(text: string): AsyncGenerator<string> {
    for (const w of text.split(/(?<= )/)) yield w;
  }

  beforeEach(() => {
    mode = 'words';
    router = newRouter();
    router.addAgent(
      new ArcAgent('agent-a')
        .on('chat.start', (p, ctx) => {
          expect(ctx.stream).toBe(p.stream === true);
          switch (mode) {
            case 'string':
              return 'all at once';
            case 'nothing':
              return undefined;
            case 'throw-before':
              throw new ArcError(-42004, 'refused before streaming');
            case 'parts':
              return (async function* (): AsyncGenerator<string | Part> {
                yield 'text ';
                yield { type: 'data', content: { n: 1 } } as unknown as Part;
              })();
            case 'throw-mid':
              return (async function* (): AsyncGenerator<string> {
                yield 'first ';
                throw new Error('socket hang up at 10.1.2.3');
              })();
            case 'throw-mid-arc':
              return (async function* (): AsyncGenerator<string> {
                yield 'first ';
                throw new ArcError(-42005, 'upstream took too long');
              })();
            default:
              return words('Hello from the agent');
          }
        })
        .on('chat.message', () => words('Processing your request: INV-1')),
    );
  });

  it('streams deltas from an async generator, then done with requestId', async () => {
    const events = await streamEvents(router.handle(start('hi', { stream: true, chatId: 's-1' }, { id: 'rq-1' })));
    expect(events).toEqual([
      { event: 'stream', data: { chatId: 's-1', message: { role: 'agent', parts: [{ type: 'TextPart', content: 'Hello ' }] } } },
      { event: 'stream', data: { chatId: 's-1', message: { role: 'agent', parts: [{ type: 'TextPart', content: 'from ' }] } } },
      { event: 'stream', data: { chatId: 's-1', message: { role: 'agent', parts: [{ type: 'TextPart', content: 'the ' }] } } },
      { event: 'stream', data: { chatId: 's-1', message: { role: 'agent', parts: [{ type: 'TextPart', content: 'agent' }] } } },
      { event: 'done', data: { chatId: 's-1', status: 'ACTIVE', done: true, requestId: 'rq-1' } },
    ]);
    expect(Object.keys(events.at(-1)!.data)).toEqual(['chatId', 'status', 'done', 'requestId']);
    expect(router.inFlight).toBe(0);
  });

  it('a streamed chat.start registers the chat (generated id), which chat.message can stream on', async () => {
    const events = await streamEvents(router.handle(start('hi', { stream: true })));
    const chatId = events[0]!.data.chatId as string;
    expect(chatId).toMatch(/^chat-/);
    expect(events.every((e) => e.data.chatId === chatId)).toBe(true);
    const more = await streamEvents(router.handle(message(chatId, 'x', { stream: true }, { id: 5 })));
    expect(more.map((e) => e.event)).toEqual(['stream', 'stream', 'stream', 'stream', 'done']);
    expect(more.at(-1)!.data).toEqual({ chatId, status: 'ACTIVE', done: true, requestId: 5 });
  });

  it('omits requestId when the request id is falsy', async () => {
    const events = await streamEvents(router.handle(start('hi', { stream: true }, { id: 0 })));
    expect(events.at(-1)!.event).toBe('done');
    expect('requestId' in events.at(-1)!.data).toBe(false);
  });

  it('a non-iterable reply is one stream event', async () => {
    mode = 'string';
    const events = await streamEvents(router.handle(start('hi', { stream: true, chatId: 'one' })));
    expect(events).toEqual([
      { event: 'stream', data: { chatId: 'one', message: { role: 'agent', parts: [{ type: 'TextPart', content: 'all at once' }] } } },
      { event: 'done', data: { chatId: 'one', status: 'ACTIVE', done: true, requestId: 'req-1' } },
    ]);
  });

  it('an empty reply streams only done', async () => {
    mode = 'nothing';
    const events = await streamEvents(router.handle(start('hi', { stream: true })));
    expect(events.map((e) => e.event)).toEqual(['done']);
  });

  it('part chunks are normalised to PascalCase', async () => {
    mode = 'parts';
    const events = await streamEvents(router.handle(start('hi', { stream: true, chatId: 'p' })));
    expect(events[1]!.data.message).toEqual({ role: 'agent', parts: [{ type: 'DataPart', content: { n: 1 } }] });
  });

  it('an error mid-stream → error event then done with status ERROR; no internal text', async () => {
    mode = 'throw-mid';
    const events = await streamEvents(router.handle(start('hi', { stream: true, chatId: 'broken' }, { id: 'rq-err' })));
    expect(events).toEqual([
      { event: 'stream', data: { chatId: 'broken', message: { role: 'agent', parts: [{ type: 'TextPart', content: 'first ' }] } } },
      { event: 'error', data: { chatId: 'broken', error: { code: -43005, message: 'Stream error: Internal error' } } },
      { event: 'done', data: { chatId: 'broken', status: 'ERROR', done: true, requestId: 'rq-err' } },
    ]);
    expect(JSON.stringify(events)).not.toContain('10.1.2.3');
    expect(router.inFlight).toBe(0);
  });

  it('an ArcError mid-stream keeps its message in the error event', async () => {
    mode = 'throw-mid-arc';
    const events = await streamEvents(router.handle(start('hi', { stream: true, chatId: 'b2' })));
    expect(events.map((e) => e.event)).toEqual(['stream', 'error', 'done']);
    expect(events[1]!.data.error).toEqual({ code: -43005, message: 'Stream error: upstream took too long' });
  });

  it('an error before streaming on a stream call is never HTTP 200 (400 instead)', async () => {
    mode = 'throw-before';
    const reply = await jsonReply(router.handle(start('hi', { stream: true, chatId: 'nope' })));
    expect(reply.status).toBe(400);
    expect(reply.body.error.code).toBe(-42004);
    expect(reply.body.error.message).toBe('refused before streaming');
    expect(await router.chatStore.get('agent-a', 'nope')).toBeUndefined();
  });

  it('a streamed chat.message on an unknown chat is -43001 with 400', async () => {
    const reply = await jsonReply(router.handle(message('ghost', 'x', { stream: true })));
    expect(reply.status).toBe(400);
    expect(reply.body.error.code).toBe(-43001);
    expect(reply.body.error.message).toBe('Chat not found: ghost');
  });

  it('errors that are not 200 keep their status on a stream call (unknown agent stays 404)', async () => {
    const reply = await jsonReply(router.handle(start('hi', { stream: true }, { targetAgent: 'ghost' })));
    expect(reply.status).toBe(404);
  });

  it('a non-stream call to a generator handler gets the concatenated text', async () => {
    const { status, body } = await jsonReply(router.handle(start('hi', { chatId: 'whole' })));
    expect(status).toBe(200);
    expect(body.result.chat.message).toEqual({ role: 'agent', parts: [{ type: 'TextPart', content: 'Hello from the agent' }] });
  });

  it('stream: false is an ordinary JSON reply', async () => {
    const { status, body } = await jsonReply(router.handle(start('hi', { chatId: 'f', stream: false })));
    expect(status).toBe(200);
    expect(body.result.chat.message.parts[0].content).toBe('Hello from the agent');
  });

  it('stream: true on a non-chat method is ignored (JSON reply)', async () => {
    router.agent('agent-a').on('custom', () => ({ ok: 1 }));
    const { body } = await jsonReply(router.handle(envelope('custom', { stream: true })));
    expect(body.result).toEqual({ ok: 1 });
  });
});

describe('handleBody', () => {
  it('parses raw bytes and routes them', async () => {
    const router = newRouter();
    router.addAgent(new ArcAgent('agent-a').on('echo', (p) => p));
    const { status, body } = await jsonReply(router.handleBody(Buffer.from(JSON.stringify(envelope('echo', { ü: 'ß' })), 'utf8')));
    expect(status).toBe(200);
    expect(body.result).toEqual({ ü: 'ß' });
  });
});
