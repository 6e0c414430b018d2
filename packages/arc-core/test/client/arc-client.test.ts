import { ArcClient, ArcResponseError, ArcTimeoutError, ArcTransportError } from '../../src/client';
import { ArcError } from '../../src/errors/arc-error';
import { ArcServer } from '../../src/express';
import type { Task } from '../../src/protocol/types';
import { ArcAgent } from '../../src/router/agent';
import { freePort, listenPlain } from '../support/http';
import { deferred, rejection } from '../support/util';

describe('ArcClient against a real ArcServer', () => {
  let server: ArcServer;
  let url: string;
  const tasks = new Map<string, Task>();
  const seenHeaders: Array<Record<string, unknown>> = [];
  const release = deferred();

  beforeAll(async () => {
    server = new ArcServer({ serverId: 'client-test', bodyLimitBytes: 4096 });
    const now = '2025-01-01T00:00:00.000Z';
    server.addAgent(
      new ArcAgent('finance-agent')
        .on(
          'chat.start',
          (p) => `Hello! You said: ${p.initialMessage.parts[0]?.type === 'TextPart' ? p.initialMessage.parts[0].content : '?'}`,
        )
        .on(
          'chat.message',
          (p, ctx) => `[${ctx.chat?.chatId}] ${p.message.parts[0]?.type === 'TextPart' ? p.message.parts[0].content : '?'}`,
        )
        .on('task.create', (p) => {
          const task: Task = {
            taskId: `task-${tasks.size + 1}`,
            status: 'SUBMITTED',
            createdAt: now,
            priority: p.priority ?? 'NORMAL',
            messages: [p.initialMessage],
          };
          tasks.set(task.taskId, task);
          return { type: 'task', task };
        })
        .on('task.send', (p) => {
          const task = tasks.get(p.taskId);
          if (!task) throw new ArcError(-42001, `Task not found: ${p.taskId}`, { taskId: p.taskId });
          task.messages = [...(task.messages ?? []), p.message];
          return { success: true, message: 'received' };
        })
        .on('task.info', (p) => {
          const task = tasks.get(p.taskId);
          if (!task) throw new ArcError(-42001, `Task not found: ${p.taskId}`, { taskId: p.taskId });
          return { type: 'task', task: p.includeMessages ? task : { ...task, messages: undefined } };
        })
        .on('task.cancel', (p) => {
          const task = tasks.get(p.taskId);
          if (!task) throw new ArcError(-42001, `Task not found: ${p.taskId}`, { taskId: p.taskId });
          if (task.status === 'CANCELED') throw new ArcError(-42003, 'Task already canceled', { taskId: p.taskId });
          task.status = 'CANCELED';
          task.canceledAt = now;
          if (p.reason !== undefined) task.reason = p.reason;
          return {
            type: 'task',
            task: { taskId: task.taskId, status: task.status, createdAt: task.createdAt, canceledAt: now, reason: p.reason },
          };
        })
        .on('task.subscribe', (p) => ({
          type: 'subscription',
          subscription: {
            subscriptionId: 'sub-1',
            taskId: p.taskId,
            callbackUrl: p.callbackUrl,
            events: p.events ?? ['TASK_COMPLETED', 'TASK_FAILED'],
            createdAt: now,
            active: true,
          },
        }))
        .on('task.notification', () => ({ success: true }))
        .on('slow', async (_p, ctx) => {
          await new Promise<void>((resolve) => {
            ctx.signal.addEventListener('abort', () => resolve(), { once: true });
            void release.promise.then(resolve);
          });
          return 'late';
        }),
    );
    ({ url } = await server.listen(0, '127.0.0.1'));
    // Record what the client sends on the wire.
    server.httpServer!.on('request', (req: { headers: Record<string, unknown> }) => seenHeaders.push({ ...req.headers }));
  });

  afterAll(async () => {
    release.resolve();
    await server.close({ graceMs: 1000 });
  });

  const client = (): ArcClient => new ArcClient(`${url}/arc`, { requestAgent: 'unit-client', timeoutMs: 5000 });

  it('chat.start / message / end return the whole envelope', async () => {
    const c = client();
    const started = await c.chat.start('finance-agent', 'I need help with an invoice', { id: 'id-1' });
    expect(started).toMatchObject({ arc: '1.0', id: 'id-1', responseAgent: 'finance-agent', targetAgent: 'unit-client', error: null });
    expect(started.result.type).toBe('chat');
    const chatId = started.result.chat.chatId;
    expect(started.result.chat.message).toEqual({
      role: 'agent',
      parts: [{ type: 'TextPart', content: 'Hello! You said: I need help with an invoice' }],
    });

    const msg = await c.chat.message('finance-agent', chatId, 'Invoice INV-1');
    expect(msg.result.chat).toEqual({
      chatId,
      status: 'ACTIVE',
      message: { role: 'agent', parts: [{ type: 'TextPart', content: `[${chatId}] Invoice INV-1` }] },
    });

    const ended = await c.chat.end('finance-agent', chatId, 'resolved');
    expect(ended.result.chat).toMatchObject({ chatId, status: 'CLOSED', reason: 'resolved' });

    const given = await c.chat.start(
      'finance-agent',
      { role: 'user', parts: [{ type: 'TextPart', content: 'x' }] },
      { chatId: 'client-chat-1', metadata: { a: 1 } },
    );
    expect(given.result.chat.chatId).toBe('client-chat-1');
  });

  it('all task.* methods', async () => {
    const c = client();
    const created = await c.task.create('finance-agent', 'Prepare the Q3 report', { priority: 'HIGH' });
    const taskId = created.result.task.taskId;
    expect(created.result).toMatchObject({ type: 'task', task: { taskId, status: 'SUBMITTED', priority: 'HIGH' } });

    const sent = await c.task.send('finance-agent', taskId, 'Include October');
    expect(sent.result).toEqual({ success: true, message: 'received' });

    const info = await c.task.info('finance-agent', taskId);
    expect(info.result.task.messages).toHaveLength(2);
    const infoNoMessages = await c.task.info('finance-agent', taskId, { includeMessages: false });
    expect(infoNoMessages.result.task.messages).toBeUndefined();

    const sub = await c.task.subscribe('finance-agent', taskId, 'https://example.com/hook');
    expect(sub.result).toMatchObject({
      type: 'subscription',
      subscription: { taskId, callbackUrl: 'https://example.com/hook', events: ['TASK_COMPLETED', 'TASK_FAILED'], active: true },
    });

    const note = await c.task.notification('finance-agent', {
      taskId,
      event: 'TASK_COMPLETED',
      timestamp: '2025-01-01T00:00:00Z',
      data: { status: 'COMPLETED', message: 'done' },
    });
    expect(note.result).toEqual({ success: true });

    const canceled = await c.task.cancel('finance-agent', taskId, 'no longer needed');
    expect(canceled.result.task).toMatchObject({ taskId, status: 'CANCELED', reason: 'no longer needed' });
  });

  it('sends the ARC headers and a generated uuid id by default', async () => {
    seenHeaders.length = 0;
    const res = await client().request('task.info', 'finance-agent', { taskId: 'task-1' });
    expect(res.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const h = seenHeaders.find((x) => x['content-type'] !== undefined);
    expect(h?.['content-type']).toBe('application/arc+json');
  });

  it('sends traceId and gets it echoed', async () => {
    const res = await client().task.info('finance-agent', 'task-1', { traceId: 'trace-client-1' });
    expect(res.traceId).toBe('trace-client-1');
    const without = await client().task.info('finance-agent', 'task-1');
    expect('traceId' in without).toBe(false);
  });

  it('an ARC error with HTTP 200 → ArcResponseError with code, details and httpStatus', async () => {
    const err = await rejection(client().chat.message('finance-agent', 'no-such-chat', 'hello', { traceId: 'tr-e' }));
    expect(err).toBeInstanceOf(ArcResponseError);
    expect(err).toBeInstanceOf(ArcError);
    const e = err as ArcResponseError;
    expect(e.code).toBe(-43001);
    expect(e.message).toBe('Chat not found: no-such-chat');
    expect(e.details).toMatchObject({ chatId: 'no-such-chat' });
    expect(e.httpStatus).toBe(200);
    expect(e.response.traceId).toBe('tr-e');

    const task = await rejection(client().task.info('finance-agent', 'task-404'));
    expect((task as ArcResponseError).code).toBe(-42001);
    expect((task as ArcResponseError).details).toEqual({ taskId: 'task-404' });
  });

  it('an ARC error with 404 (unknown agent) → ArcResponseError with the code', async () => {
    const err = await rejection(client().chat.start('ghost-agent', 'hi'));
    expect(err).toBeInstanceOf(ArcResponseError);
    const e = err as ArcResponseError;
    expect(e.code).toBe(-41001);
    expect(e.httpStatus).toBe(404);
    expect(e.message).toBe('Agent not found: ghost-agent');
    expect(e.details.availableAgents).toEqual(['finance-agent']);
  });

  it('an ARC error with 404 (unknown method) → ArcResponseError -32601', async () => {
    const e = (await rejection(client().request('no.such.method', 'finance-agent', {}))) as ArcResponseError;
    expect(e).toBeInstanceOf(ArcResponseError);
    expect(e.code).toBe(-32601);
    expect(e.httpStatus).toBe(404);
  });

  it('an ARC error with 413 → ArcResponseError -45004', async () => {
    const e = (await rejection(client().chat.start('finance-agent', 'x'.repeat(10_000)))) as ArcResponseError;
    expect(e).toBeInstanceOf(ArcResponseError);
    expect(e.code).toBe(-45004);
    expect(e.httpStatus).toBe(413);
    expect(e.message).toBe('Request body exceeds the limit of 4096 bytes');
  });

  it('a handler slower than the client timeout → ArcTimeoutError', async () => {
    const c = new ArcClient(`${url}/arc`, { timeoutMs: 150 });
    const err = await rejection(c.request('slow', 'finance-agent', {}));
    expect(err).toBeInstanceOf(ArcTimeoutError);
    expect((err as ArcTimeoutError).timeoutMs).toBe(150);
    expect((err as ArcTimeoutError).message).toBe(`ARC request to ${url}/arc timed out after 150 ms`);
  });

  it('a per-call timeout overrides the client default', async () => {
    const err = await rejection(client().request('slow', 'finance-agent', {}, { timeoutMs: 100 }));
    expect(err).toBeInstanceOf(ArcTimeoutError);
    expect((err as ArcTimeoutError).timeoutMs).toBe(100);
  });
});

describe('ArcClient without an ARC server', () => {
  it('connection refused → ArcTransportError', async () => {
    const port = await freePort();
    const c = new ArcClient(`http://127.0.0.1:${port}/arc`, { timeoutMs: 5000 });
    const err = await rejection(c.chat.start('finance-agent', 'hi'));
    expect(err).toBeInstanceOf(ArcTransportError);
    expect((err as ArcTransportError).message).toContain('ECONNREFUSED');
    expect((err as ArcTransportError).httpStatus).toBeUndefined();
    expect((err as ArcTransportError).url).toBe(`http://127.0.0.1:${port}/arc`);
  });

  it('an HTML 502 from a proxy → ArcTransportError with the status', async () => {
    const plain = await listenPlain((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(502, { 'Content-Type': 'text/html' });
        res.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
      });
    });
    try {
      const err = await rejection(new ArcClient(`${plain.url}/arc`).chat.start('finance-agent', 'hi'));
      expect(err).toBeInstanceOf(ArcTransportError);
      expect((err as ArcTransportError).httpStatus).toBe(502);
      expect((err as ArcTransportError).message).toBe(`ARC request to ${plain.url}/arc got HTTP 502 with a body that is not JSON`);
    } finally {
      await plain.close();
    }
  });

  it('JSON that is not an ARC envelope → ArcTransportError', async () => {
    const plain = await listenPlain((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end('{"detail":"Not Found"}');
      });
    });
    try {
      const err = await rejection(new ArcClient(`${plain.url}/arc`).chat.start('finance-agent', 'hi'));
      expect(err).toBeInstanceOf(ArcTransportError);
      expect((err as ArcTransportError).httpStatus).toBe(404);
      expect((err as ArcTransportError).message).toContain('not an ARC envelope');
    } finally {
      await plain.close();
    }
  });

  it('a success envelope whose id does not match → ArcTransportError', async () => {
    const plain = await listenPlain((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ arc: '1.0', id: 'someone-else', responseAgent: 'a', targetAgent: 'b', result: {}, error: null }));
      });
    });
    try {
      const err = await rejection(new ArcClient(`${plain.url}/arc`).request('x', 'a', {}, { id: 'mine' }));
      expect(err).toBeInstanceOf(ArcTransportError);
      expect((err as Error).message).toBe('ARC reply id "someone-else" does not match request id "mine"');
    } finally {
      await plain.close();
    }
  });

  it('reads Retry-After of an error reply into retryAfter', async () => {
    const plain = await listenPlain((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '7' });
        res.end(
          JSON.stringify({
            arc: '1.0',
            id: 'r',
            responseAgent: 's',
            targetAgent: 'c',
            traceId: null,
            result: null,
            error: { code: -41011, message: 'busy', details: null },
          }),
        );
      });
    });
    try {
      // Without retries: a 503 -41011 would otherwise be sent again after the 7 s (retries.test.ts).
      const c = new ArcClient(`${plain.url}/arc`, { retries: false });
      const err = (await rejection(c.request('x', 'a', {}, { id: 'r' }))) as ArcResponseError;
      expect(err).toBeInstanceOf(ArcResponseError);
      expect(err.code).toBe(-41011);
      expect(err.httpStatus).toBe(503);
      expect(err.retryAfter).toBe(7);
      expect(err.retryAfterHeader).toBe('7');
      expect(err.details).toEqual({});
    } finally {
      await plain.close();
    }
  });

  it('sends a bearer token when configured', async () => {
    let auth: string | undefined;
    const plain = await listenPlain((req, res) => {
      auth = req.headers.authorization;
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ arc: '1.0', id: 'r', responseAgent: 'a', targetAgent: 'c', result: { ok: true }, error: null }));
      });
    });
    try {
      const res = await new ArcClient(`${plain.url}/arc`, { token: 'tok-123' }).request('x', 'a', {}, { id: 'r' });
      expect(res.result).toEqual({ ok: true });
      expect(auth).toBe('Bearer tok-123');
    } finally {
      await plain.close();
    }
  });
});
