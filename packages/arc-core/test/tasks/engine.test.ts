/**
 * The task lifecycle through the router, on the in-process store and queue: what task.* answer,
 * and what a handler's returns, throws, requests for input, cancels and timeouts do to a task.
 */
import { ArcError } from '../../src/errors/arc-error';
import { ArcErrorCode } from '../../src/errors/codes';
import type { TaskStatus } from '../../src/protocol/types';
import { ArcAgent } from '../../src/router/agent';
import { ArcRouter } from '../../src/router/router';
import type { TaskEventRecord } from '../../src/tasks/events';
import { MemoryTaskQueue } from '../../src/tasks/memory-task-queue';
import type { TaskHandler } from '../../src/tasks/task-context';
import { deferred, envelope, jsonReply, sleep, userMessage, type Json } from '../support/util';

const routers: ArcRouter[] = [];
afterAll(async () => {
  for (const r of routers) await r.close();
});

function setup(handler: TaskHandler, tasks: Record<string, unknown> = {}) {
  const events: TaskEventRecord[] = [];
  const router = new ArcRouter({
    serverId: 'tasks-test',
    tasks: {
      checkCallbackUrl: async () => undefined,
      queue: new MemoryTaskQueue({ retryDelayMs: 5 }),
      events: { emit: (_t, e) => void events.push(e) },
      ...tasks,
    },
  });
  router.addAgent(new ArcAgent('agent-a').onTask(handler));
  routers.push(router);
  const call = async (method: string, params: Record<string, unknown>, env: Record<string, unknown> = {}) =>
    (await jsonReply(router.handle(envelope(method, params, env)))).body as Json;
  const create = async (text = 'do it', extra: Record<string, unknown> = {}) =>
    (await call('task.create', { initialMessage: userMessage(text), ...extra })).result.task.taskId as string;
  const info = async (taskId: string) => (await call('task.info', { taskId })).result.task;
  const until = async (taskId: string, status: TaskStatus, ms = 3000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const t = await info(taskId);
      if (t.status === status) return t;
      if (Date.now() > deadline) throw new Error(`task ${taskId} is ${t.status}, not ${status}`);
      await sleep(5);
    }
  };
  return { router, events, call, create, info, until };
}

describe('task lifecycle', () => {
  it('task.create answers SUBMITTED at once (the SDK shape), the handler runs, the task completes', async () => {
    const { call, until, events } = setup(async (task) => `Done: ${task.messages.length} message(s)`);
    const created = await call(
      'task.create',
      { initialMessage: userMessage('Analyze'), priority: 'HIGH', metadata: { k: 1 } },
      { traceId: 'tr-1' },
    );
    expect(created.error).toBeNull();
    expect(created.traceId).toBe('tr-1');
    expect(created.result.type).toBe('task');
    expect(Object.keys(created.result.task).sort()).toEqual(['createdAt', 'priority', 'status', 'taskId']);
    expect(created.result.task).toMatchObject({ status: 'SUBMITTED', priority: 'HIGH' });
    expect(created.result.task.taskId).toMatch(/^task-[0-9a-f]{16}$/);
    const taskId = created.result.task.taskId;
    const done = await until(taskId, 'COMPLETED');
    expect(done).toMatchObject({ taskId, priority: 'HIGH', assignedAgent: 'agent-a', metadata: { k: 1 }, attempt: 1 });
    expect(done.messages.map((m: Json) => [m.role, m.parts[0].content])).toEqual([
      ['user', 'Analyze'],
      ['agent', 'Done: 1 message(s)'],
    ]);
    expect(events.filter((e) => e.taskId === taskId).map((e) => e.event)).toEqual([
      'TASK_CREATED',
      'TASK_STARTED',
      'NEW_MESSAGE',
      'TASK_COMPLETED',
    ]);
    expect(events.every((e) => e.traceId === 'tr-1')).toBe(true);
  });

  it('task.info honours includeMessages / includeArtifacts; task.get is the same', async () => {
    const { call, create, until } = setup(async () => ({
      message: 'ok',
      artifacts: [{ name: 'report', parts: ['text', { type: 'DataPart', content: { a: 1 } }] }],
    }));
    const taskId = await create();
    await until(taskId, 'COMPLETED');
    const bare = (await call('task.info', { taskId, includeMessages: false, includeArtifacts: false })).result.task;
    expect(bare.messages).toBeUndefined();
    expect(bare.artifacts).toBeUndefined();
    const full = (await call('task.get', { taskId })).result.task;
    expect(full.artifacts).toEqual([
      {
        artifactId: expect.stringMatching(/^artifact-/),
        name: 'report',
        parts: [
          { type: 'TextPart', content: 'text' },
          { type: 'DataPart', content: { a: 1 } },
        ],
        createdAt: expect.any(String),
        createdBy: 'agent-a',
      },
    ]);
  });

  it('a bad priority is -42010; an unknown task -42001 for info, send, cancel and subscribe', async () => {
    const { call } = setup(async () => 'x');
    const bad = await call('task.create', { initialMessage: userMessage('x'), priority: 'SOON' });
    expect(bad.error).toMatchObject({ code: ArcErrorCode.InvalidPriority, details: { field: 'params.priority' } });
    for (const [method, params] of [
      ['task.info', { taskId: 'task-nope' }],
      ['task.send', { taskId: 'task-nope', message: userMessage('x') }],
      ['task.cancel', { taskId: 'task-nope' }],
      ['task.subscribe', { taskId: 'task-nope', callbackUrl: 'https://example.com/h' }],
    ] as const) {
      const r = await call(method, params);
      expect(r.error).toEqual({
        code: ArcErrorCode.TaskNotFound,
        message: 'Task not found: task-nope',
        details: { taskId: 'task-nope', task_id: 'task-nope' },
      });
    }
  });

  it('requestInput parks the task (INPUT_REQUIRED); task.send resumes it with the message in task.messages', async () => {
    const runs: number[] = [];
    const { call, create, until, events } = setup(async (task, ctx) => {
      runs.push(task.messages.length);
      const dates = task.messages.find(
        (m) => m.role === 'user' && m.parts.some((p) => p.type === 'TextPart' && /\d{4}-\d\d-\d\d/.test(p.content)),
      );
      if (!dates) ctx.requestInput('Which dates?');
      return 'Leave booked';
    });
    const taskId = await create('I need leave');
    const parked = await until(taskId, 'INPUT_REQUIRED');
    expect(parked.requiredInput).toBe('Which dates?');
    expect(parked.messages.at(-1)).toEqual({ role: 'agent', parts: [{ type: 'TextPart', content: 'Which dates?' }] });
    const sent = await call('task.send', { taskId, message: userMessage('2026-12-20 to 2026-12-24') });
    expect(sent.result).toEqual({ success: true, message: 'Message sent to task successfully' });
    const done = await until(taskId, 'COMPLETED');
    expect(done.messages.at(-1).parts[0].content).toBe('Leave booked');
    expect(runs).toEqual([1, 3]);
    expect(events.filter((e) => e.taskId === taskId).map((e) => e.event)).toEqual([
      'TASK_CREATED',
      'TASK_STARTED',
      'TASK_PAUSED',
      'NEW_MESSAGE',
      'TASK_RESUMED',
      'NEW_MESSAGE',
      'TASK_COMPLETED',
    ]);
  });

  it('task.send on a SUBMITTED or WORKING task adds the message the handler can read; on a terminal one -42002 / -42003', async () => {
    const gate = deferred();
    const seen: number[] = [];
    const { call, create, until } = setup(async (_task, ctx) => {
      await gate.promise;
      seen.push((await ctx.messages()).length);
    });
    const taskId = await create();
    await until(taskId, 'WORKING');
    expect((await call('task.send', { taskId, message: userMessage('one more thing') })).result.success).toBe(true);
    gate.resolve();
    await until(taskId, 'COMPLETED');
    expect(seen).toEqual([2]);
    const late = await call('task.send', { taskId, message: userMessage('too late') });
    expect(late.error.code).toBe(ArcErrorCode.TaskAlreadyCompleted);
    const cancelDone = await call('task.cancel', { taskId });
    expect(cancelDone.error.code).toBe(ArcErrorCode.TaskAlreadyCompleted);
  });

  it('task.cancel of a running task: CANCELED (canceledAt, reason), the handler sees its signal abort', async () => {
    const aborted = deferred<unknown>();
    const { call, create, until, events } = setup(async (_task, ctx) => {
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      aborted.resolve(ctx.signal.reason);
      return 'finished anyway'; // must not undo the cancel
    });
    const taskId = await create();
    await until(taskId, 'WORKING');
    const r = await call('task.cancel', { taskId, reason: 'not needed' }, { requestAgent: 'boss' });
    expect(r.result).toEqual({ type: 'task', task: { taskId, status: 'CANCELED', canceledAt: expect.any(String), reason: 'not needed' } });
    expect(await aborted.promise).toBe('canceled');
    await sleep(20);
    const t = await until(taskId, 'CANCELED');
    expect(t.messages).toHaveLength(1);
    expect(events.find((e) => e.event === 'TASK_CANCELED')?.data).toMatchObject({
      reason: 'not needed',
      canceledBy: 'boss',
      previousStatus: 'WORKING',
    });
    expect((await call('task.cancel', { taskId })).error.code).toBe(ArcErrorCode.TaskAlreadyCanceled);
    expect((await call('task.send', { taskId, message: userMessage('x') })).error.code).toBe(ArcErrorCode.TaskAlreadyCanceled);
  });

  it('an ArcError from the handler fails the task with it; a run past the time limit fails with -42005', async () => {
    const failing = setup(async () => {
      throw new ArcError(ArcErrorCode.TaskExecution, 'Payment gateway refused', { gateway: 'x' });
    });
    const t1 = await failing.create();
    expect((await failing.until(t1, 'FAILED')).error).toEqual({
      code: -42004,
      message: 'Payment gateway refused',
      details: { gateway: 'x' },
    });
    expect(failing.events.find((e) => e.event === 'TASK_FAILED')?.data).toMatchObject({
      error: { code: -42004, message: 'Payment gateway refused' },
    });

    let signal: AbortSignal | undefined;
    const slow = setup(
      async (_task, ctx) => {
        signal = ctx.signal;
        await new Promise(() => undefined); // ignores its signal
      },
      { timeoutMs: 50 },
    );
    const t2 = await slow.create();
    const failed = await slow.until(t2, 'FAILED');
    expect(failed.error.code).toBe(ArcErrorCode.TaskTimeout);
    expect(signal?.aborted).toBe(true);
  });

  it('an unexpected error is tried again (attempt + 1) and fails with -42004 and an opaque id once attempts are used up', async () => {
    const attempts: number[] = [];
    const { create, until } = setup(
      async (task) => {
        attempts.push(task.attempt);
        throw new Error('db password is hunter2');
      },
      { maxAttempts: 3 },
    );
    const taskId = await create();
    const failed = await until(taskId, 'FAILED');
    expect(attempts).toEqual([1, 2, 3]);
    expect(failed.error).toEqual({ code: -42004, message: 'Task execution failed', details: { errorId: expect.any(String), attempts: 3 } });
    expect(JSON.stringify(failed)).not.toContain('hunter2');
  });

  it('an error then success: the second attempt completes', async () => {
    const { create, until } = setup(async (task) => {
      if (task.attempt === 1) throw new Error('flaky');
      return `attempt ${task.attempt}`;
    });
    const taskId = await create();
    const done = await until(taskId, 'COMPLETED');
    expect(done.attempt).toBe(2);
    expect(done.messages.at(-1).parts[0].content).toBe('attempt 2');
  });

  it('progress, messages and artifacts during the run reach task.info and the events', async () => {
    const { create, until, events } = setup(async (_task, ctx) => {
      await ctx.progress('Collecting invoices');
      await ctx.message('Found 3 invoices');
      await ctx.artifact({ name: 'summary', parts: ['3 invoices, 1,200 EUR'] });
    });
    const taskId = await create();
    const done = await until(taskId, 'COMPLETED');
    expect(done.statusMessage).toBe('Collecting invoices');
    expect(done.artifacts).toHaveLength(1);
    expect(events.filter((e) => e.taskId === taskId).map((e) => e.event)).toEqual([
      'TASK_CREATED',
      'TASK_STARTED',
      'STATUS_CHANGE',
      'NEW_MESSAGE',
      'NEW_ARTIFACT',
      'TASK_COMPLETED',
    ]);
    expect(events.find((e) => e.event === 'STATUS_CHANGE')?.data).toMatchObject({ status: 'WORKING', message: 'Collecting invoices' });
  });

  it('task.subscribe stores a subscription (default events) and task.info shows it with its deliveries', async () => {
    const { call, create } = setup(async () => new Promise(() => undefined));
    const taskId = await create();
    const r = await call('task.subscribe', { taskId, callbackUrl: 'https://hooks.example.com/arc' });
    expect(r.result).toEqual({
      type: 'subscription',
      subscription: {
        subscriptionId: expect.stringMatching(/^sub-[0-9a-f]{16}$/),
        taskId,
        callbackUrl: 'https://hooks.example.com/arc',
        events: ['TASK_COMPLETED', 'TASK_FAILED'],
        createdAt: expect.any(String),
        active: true,
      },
    });
    const t = (await call('task.info', { taskId })).result.task;
    expect(t.subscriptions).toEqual([{ ...r.result.subscription, deliveries: { delivered: 0, failed: 0, attempts: 0 } }]);
  });

  it('the SSRF guard refuses a callback with its own message (-32602)', async () => {
    const { call, create } = setup(async () => 'x', {
      checkCallbackUrl: async () => {
        throw new ArcError(ArcErrorCode.InvalidParams, 'params.callbackUrl resolves to a loopback address', {
          field: 'params.callbackUrl',
        });
      },
    });
    const taskId = await create();
    const r = await call('task.subscribe', { taskId, callbackUrl: 'http://127.0.0.1/x' });
    expect(r.error).toMatchObject({ code: -32602, message: 'params.callbackUrl resolves to a loopback address' });
  });

  it('a task that would outgrow TASK_MAX_BYTES is refused with -32602', async () => {
    const { call } = setup(async () => 'x', { maxTaskBytes: 2000 });
    const r = await call('task.create', { initialMessage: userMessage('x'.repeat(3000)) });
    expect(r.error).toMatchObject({ code: -32602, details: { limitBytes: 2000 } });
  });

  it('runs go by priority: URGENT before HIGH before NORMAL before LOW, at most `concurrency` at once', async () => {
    const gate = deferred();
    const order: string[] = [];
    let running = 0;
    let most = 0;
    const { create, until } = setup(
      async (task) => {
        running++;
        most = Math.max(most, running);
        if (task.messages[0]!.parts[0]!.type === 'TextPart' && (task.messages[0]!.parts[0] as { content: string }).content === 'first')
          await gate.promise;
        order.push(task.priority);
        running--;
      },
      { queue: new MemoryTaskQueue({ concurrency: 1, retryDelayMs: 5 }) },
    );
    const first = await create('first');
    await until(first, 'WORKING');
    const ids = [];
    for (const p of ['LOW', 'NORMAL', 'URGENT', 'HIGH']) ids.push(await create(p, { priority: p }));
    gate.resolve();
    for (const id of ids) await until(id, 'COMPLETED');
    expect(order).toEqual(['NORMAL', 'URGENT', 'HIGH', 'NORMAL', 'LOW']);
    expect(most).toBe(1);
  });
});
