/**
 * client.task.waitFor: the polling loop on a fake clock (backoff, progress, timeouts, errors on
 * the way, abort), then the typed task methods and the wait against a real server whose agent
 * runs tasks with onTask.
 */
import { ArcClient, ArcResponseError, ArcTimeoutError, ArcTransportError, ArcWaitTimeoutError, type TaskInfo } from '../../src/client';
import { waitForTask, type TaskPoll, type WaitClock } from '../../src/client/wait-for-task';
import { ArcError } from '../../src/errors/arc-error';
import { ArcErrorCode } from '../../src/errors/codes';
import { createArcServer, type ArcServer } from '../../src/express';
import type { TaskStatus } from '../../src/protocol/types';
import { ArcAgent } from '../../src/router/agent';
import { deferred, type Deferred, rejection } from '../support/util';

/** A clock that only moves when the loop sleeps, recording each pause. */
function fakeClock(): WaitClock & { pauses: number[] } {
  let t = 0;
  const pauses: number[] = [];
  return {
    pauses,
    now: () => t,
    sleep: async (ms, signal) => {
      signal?.throwIfAborted();
      pauses.push(ms);
      t += ms;
    },
  };
}

const snap = (status: TaskStatus, extra: Partial<TaskInfo> = {}): TaskInfo => ({
  taskId: 'task-1',
  status,
  createdAt: '2026-01-01T00:00:00.000Z',
  messages: [],
  artifacts: [],
  ...extra,
});

/** A poll answering from a script, one entry per call (the last one repeats); an entry may be an error. */
function scripted(...answers: Array<TaskInfo | Error>): TaskPoll & { calls: number[] } {
  const calls: number[] = [];
  const poll = async (timeoutMs: number) => {
    calls.push(timeoutMs);
    const a = answers[Math.min(calls.length - 1, answers.length - 1)]!;
    if (a instanceof Error) throw a;
    return a;
  };
  return Object.assign(poll, { calls });
}

describe('waitForTask (the polling loop)', () => {
  it('backs off from intervalMs, doubling to maxIntervalMs, and resolves at a terminal status', async () => {
    const clock = fakeClock();
    const poll = scripted(...Array<TaskInfo>(8).fill(snap('WORKING')), snap('COMPLETED'));
    const task = await waitForTask('a', 'task-1', poll, {}, clock);
    expect(task.status).toBe('COMPLETED');
    expect(clock.pauses).toEqual([200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
    expect(poll.calls).toHaveLength(9);
  });

  it('starts again from intervalMs when the task changed, and tells onProgress of each change only', async () => {
    const clock = fakeClock();
    const seen: string[] = [];
    const poll = scripted(
      snap('SUBMITTED'),
      snap('SUBMITTED'),
      snap('SUBMITTED'),
      snap('WORKING', { statusMessage: 'Collecting' }),
      snap('WORKING', { statusMessage: 'Collecting' }),
      snap('WORKING', { statusMessage: 'Totals' }),
      snap('WORKING', { statusMessage: 'Totals', messages: [{ role: 'agent', parts: [{ type: 'TextPart', content: 'x' }] }] }),
      snap('COMPLETED', { statusMessage: 'Totals', artifacts: [{ artifactId: 'a1', name: 'r', parts: [], createdAt: 'x' }] }),
    );
    const task = await waitForTask(
      'a',
      'task-1',
      poll,
      {
        intervalMs: 10,
        maxIntervalMs: 1000,
        onProgress: (t) => void seen.push(`${t.status}:${t.statusMessage ?? ''}:${t.messages?.length}:${t.artifacts?.length}`),
      },
      clock,
    );
    expect(task.status).toBe('COMPLETED');
    expect(seen).toEqual(['SUBMITTED::0:0', 'WORKING:Collecting:0:0', 'WORKING:Totals:0:0', 'WORKING:Totals:1:0', 'COMPLETED:Totals:0:1']);
    expect(clock.pauses).toEqual([10, 20, 40, 10, 20, 10, 10]);
  });

  it('`until` ends the wait at any listed status (INPUT_REQUIRED)', async () => {
    const task = await waitForTask(
      'a',
      'task-1',
      scripted(snap('WORKING'), snap('INPUT_REQUIRED', { requiredInput: 'Which?' })),
      { until: ['INPUT_REQUIRED', 'COMPLETED'] },
      fakeClock(),
    );
    expect(task).toMatchObject({ status: 'INPUT_REQUIRED', requiredInput: 'Which?' });
  });

  it('times out with ArcWaitTimeoutError carrying the task as last seen; the last pause is cut to the deadline', async () => {
    const clock = fakeClock();
    const err = await rejection(waitForTask('finance-agent', 'task-1', scripted(snap('WORKING')), { timeoutMs: 1000 }, clock));
    expect(err).toBeInstanceOf(ArcWaitTimeoutError);
    const e = err as ArcWaitTimeoutError;
    expect(e.message).toBe('Task task-1 at finance-agent did not reach COMPLETED | FAILED | CANCELED within 1000 ms (last seen WORKING)');
    expect(e).toMatchObject({ agentId: 'finance-agent', taskId: 'task-1', timeoutMs: 1000, lastTask: { status: 'WORKING' } });
    expect(clock.pauses).toEqual([200, 400, 400]);
  });

  it('gives each poll the time left as its timeout', async () => {
    const poll = scripted(snap('WORKING'), snap('WORKING'), snap('COMPLETED'));
    await waitForTask('a', 'task-1', poll, { timeoutMs: 1000 }, fakeClock());
    expect(poll.calls).toEqual([1000, 800, 400]);
  });

  it('the first poll failing ends the wait with its error (an unknown task is not waited for)', async () => {
    const notFound = new ArcResponseError(
      {
        arc: '1.0',
        id: 'x',
        responseAgent: 'a',
        targetAgent: 'c',
        result: null,
        error: { code: -42001, message: 'Task not found: task-1', details: null },
      },
      200,
    );
    expect(await rejection(waitForTask('a', 'task-1', scripted(notFound), {}, fakeClock()))).toBe(notFound);
    const refused = new ArcTransportError('ECONNREFUSED', 'http://x');
    expect(await rejection(waitForTask('a', 'task-1', scripted(refused), {}, fakeClock()))).toBe(refused);
  });

  it('once seen, errors on the way (no answer, 502, 503 with Retry-After) are waited out; Retry-After lengthens the pause', async () => {
    const clock = fakeClock();
    const busy = new ArcResponseError(
      {
        arc: '1.0',
        id: 'x',
        responseAgent: 'a',
        targetAgent: 'c',
        result: null,
        error: { code: -41002, message: 'Agent temporarily unavailable', details: null },
      },
      503,
      '3',
    );
    const poll = scripted(
      snap('WORKING'),
      new ArcTransportError('ECONNRESET', 'u'),
      new ArcTransportError('HTTP 502', 'u', 502),
      busy,
      new ArcTimeoutError('u', 5),
      snap('COMPLETED'),
    );
    const task = await waitForTask('a', 'task-1', poll, { maxIntervalMs: 100_000 }, clock);
    expect(task.status).toBe('COMPLETED');
    expect(clock.pauses).toEqual([200, 400, 800, 3000, 6000]);
  });

  it('once seen, any other error ends the wait at once', async () => {
    const denied = new ArcResponseError(
      {
        arc: '1.0',
        id: 'x',
        responseAgent: 'a',
        targetAgent: 'c',
        result: null,
        error: { code: -44001, message: 'Authentication required', details: null },
      },
      401,
    );
    expect(await rejection(waitForTask('a', 'task-1', scripted(snap('WORKING'), denied), {}, fakeClock()))).toBe(denied);
    const notArc = new ArcTransportError('HTML 404', 'u', 404);
    expect(await rejection(waitForTask('a', 'task-1', scripted(snap('WORKING'), notArc), {}, fakeClock()))).toBe(notArc);
  });

  it('a wait whose polls keep failing until the deadline times out with the last error as cause', async () => {
    const down = new ArcTransportError('ECONNREFUSED', 'u');
    const err = (await rejection(
      waitForTask('a', 'task-1', scripted(snap('WORKING'), down), { timeoutMs: 1000 }, fakeClock()),
    )) as ArcWaitTimeoutError;
    expect(err).toBeInstanceOf(ArcWaitTimeoutError);
    expect(err.cause).toBe(down);
    expect(err.lastTask?.status).toBe('WORKING');
  });

  it('an abort ends the wait with the signal reason; an onProgress error ends it with that error', async () => {
    const controller = new AbortController();
    const reason = new Error('user gave up');
    const poll = scripted(snap('WORKING'));
    const aborted = await rejection(
      waitForTask('a', 'task-1', poll, { onProgress: () => controller.abort(reason), signal: controller.signal }, fakeClock()),
    );
    expect(aborted).toBe(reason);
    expect(poll.calls).toHaveLength(1);

    const boom = new Error('printer on fire');
    const failed = await rejection(
      waitForTask('a', 'task-1', scripted(snap('WORKING')), { onProgress: () => Promise.reject(boom) }, fakeClock()),
    );
    expect(failed).toBe(boom);
  });

  it('refuses options that cannot work', async () => {
    const poll = scripted(snap('COMPLETED'));
    await expect(waitForTask('a', 't', poll, { until: [] }, fakeClock())).rejects.toThrow('until must list task statuses');
    await expect(waitForTask('a', 't', poll, { until: ['DONE' as TaskStatus] }, fakeClock())).rejects.toThrow(TypeError);
    await expect(waitForTask('a', 't', poll, { timeoutMs: 0 }, fakeClock())).rejects.toThrow(
      'timeoutMs must be a positive number of ms, not 0',
    );
    await expect(waitForTask('a', 't', poll, { intervalMs: 500, maxIntervalMs: 100 }, fakeClock())).rejects.toThrow(
      'maxIntervalMs (100) must be >= intervalMs (500)',
    );
    expect(poll.calls).toHaveLength(0);
  });
});

describe('client.task against a server whose agent runs tasks (onTask)', () => {
  let server: ArcServer;
  let client: ArcClient;
  /** A task whose text says "hold" waits at its gate: `arrived` once its handler runs, until `release` or a cancel. */
  const gates = new Map<string, { arrived: Deferred; release: Deferred }>();
  const gateOf = (taskId: string) => {
    let g = gates.get(taskId);
    if (!g) gates.set(taskId, (g = { arrived: deferred(), release: deferred() }));
    return g;
  };

  beforeAll(async () => {
    server = createArcServer({ serverId: 'wait-test' });
    server.addAgent(
      new ArcAgent('report-agent').onTask(async (task, ctx) => {
        const text = task.messages
          .filter((m) => m.role === 'user')
          .map((m) => (m.parts[0]?.type === 'TextPart' ? m.parts[0].content : ''))
          .join(' ');
        if (text.includes('fail')) throw new ArcError(ArcErrorCode.TaskExecution, 'Ledger closed', { ledger: 'Q3' });
        if (text.includes('hold')) {
          const gate = gateOf(task.taskId);
          gate.arrived.resolve();
          await Promise.race([
            gate.release.promise,
            new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true })),
          ]);
        }
        const invoice = /INV-\d+/.exec(text)?.[0];
        if (!invoice) return ctx.requestInput('Which invoice?');
        await ctx.progress(`Collecting ${invoice}`);
        await ctx.progress('Computing totals');
        return { message: `Report for ${invoice}`, artifacts: [{ name: 'summary', parts: [{ type: 'DataPart', content: { invoice } }] }] };
      }),
    );
    const { url } = await server.listen(0, '127.0.0.1');
    client = new ArcClient(`${url}/arc`, { requestAgent: 'wait-client', timeoutMs: 5000 });
  });

  afterAll(async () => {
    for (const g of gates.values()) g.release.resolve();
    await server.close({ graceMs: 1000 });
  });

  it('create → waitFor: COMPLETED with the artifact, progress reported on the way', async () => {
    const created = await client.task.create('report-agent', 'Summary of INV-7', { priority: 'HIGH' });
    const c: { taskId: string; status: TaskStatus; createdAt: string; priority?: string } = created.result.task;
    expect(c).toEqual({ taskId: expect.stringMatching(/^task-/), status: 'SUBMITTED', createdAt: expect.any(String), priority: 'HIGH' });
    const statuses: string[] = [];
    const task = await client.task.waitFor('report-agent', c.taskId, { intervalMs: 5, onProgress: (t) => void statuses.push(t.status) });
    expect(task.status).toBe('COMPLETED');
    expect(task.attempt).toBe(1);
    expect(task.messages?.at(-1)?.parts).toEqual([{ type: 'TextPart', content: 'Report for INV-7' }]);
    expect(task.artifacts?.[0]?.parts).toEqual([{ type: 'DataPart', content: { invoice: 'INV-7' } }]);
    expect(statuses.at(-1)).toBe('COMPLETED');
  });

  it('waitFor until INPUT_REQUIRED, task.send, waitFor again: COMPLETED', async () => {
    const { taskId } = (await client.task.create('report-agent', 'A report please')).result.task;
    const parked = await client.task.waitFor('report-agent', taskId, {
      intervalMs: 5,
      until: ['INPUT_REQUIRED', 'COMPLETED', 'FAILED', 'CANCELED'],
    });
    expect(parked).toMatchObject({ status: 'INPUT_REQUIRED', requiredInput: 'Which invoice?' });
    const sent = await client.task.send('report-agent', taskId, 'INV-42');
    expect(sent.result).toEqual({ success: true, message: 'Message sent to task successfully' });
    const done = await client.task.waitFor('report-agent', taskId, { intervalMs: 5 });
    expect(done.status).toBe('COMPLETED');
    expect(done.messages?.map((m) => m.role)).toEqual(['user', 'agent', 'user', 'agent']);
  });

  it('a FAILED task resolves the wait (it is terminal) with its error', async () => {
    const { taskId } = (await client.task.create('report-agent', 'fail INV-1')).result.task;
    const task = await client.task.waitFor('report-agent', taskId, { intervalMs: 5 });
    expect(task.status).toBe('FAILED');
    expect(task.error).toEqual({ code: -42004, message: 'Ledger closed', details: { ledger: 'Q3' } });
  });

  it('a task that does not finish in time: ArcWaitTimeoutError with the task as last seen; cancel then ends it', async () => {
    const { taskId } = (await client.task.create('report-agent', 'hold INV-3')).result.task;
    await gateOf(taskId).arrived.promise;
    const err = await rejection(client.task.waitFor('report-agent', taskId, { timeoutMs: 300, intervalMs: 5 }));
    expect(err).toBeInstanceOf(ArcWaitTimeoutError);
    expect((err as ArcWaitTimeoutError).lastTask).toMatchObject({ taskId, status: 'WORKING' });
    const canceled = await client.task.cancel('report-agent', taskId, 'too slow');
    const t: { taskId: string; status: 'CANCELED'; canceledAt: string; reason?: string } = canceled.result.task;
    expect(t).toEqual({ taskId, status: 'CANCELED', canceledAt: expect.any(String), reason: 'too slow' });
    expect((await client.task.waitFor('report-agent', taskId, { intervalMs: 5 })).status).toBe('CANCELED');
  });

  it('an abort signal ends the wait with its reason', async () => {
    const { taskId } = (await client.task.create('report-agent', 'hold INV-4')).result.task;
    await gateOf(taskId).arrived.promise;
    const controller = new AbortController();
    const seen = deferred();
    const waiting = client.task.waitFor('report-agent', taskId, {
      signal: controller.signal,
      intervalMs: 5,
      onProgress: () => seen.resolve(),
    });
    await seen.promise;
    controller.abort(new Error('stop waiting'));
    const err = await rejection(waiting);
    expect((err as Error).message).toBe('stop waiting');
    gateOf(taskId).release.resolve();
    expect((await client.task.waitFor('report-agent', taskId, { intervalMs: 5 })).status).toBe('COMPLETED');
  });

  it('an aborted request rejects with the signal reason, not a transport error', async () => {
    const controller = new AbortController();
    controller.abort(new Error('never sent'));
    const err = await rejection(client.task.info('report-agent', 'task-x', { signal: controller.signal }));
    expect(err).not.toBeInstanceOf(ArcTransportError);
    expect((err as Error).message).toBe('never sent');
  });

  it('waiting for an unknown task rejects at once with -42001', async () => {
    const err = await rejection(client.task.waitFor('report-agent', 'task-0000000000000000', { timeoutMs: 60_000 }));
    expect(err).toBeInstanceOf(ArcResponseError);
    expect((err as ArcResponseError).code).toBe(ArcErrorCode.TaskNotFound);
  });

  it('task.info is typed with what the server adds (statusMessage, assignedAgent)', async () => {
    const { taskId } = (await client.task.create('report-agent', 'Summary of INV-9')).result.task;
    await client.task.waitFor('report-agent', taskId, { intervalMs: 5 });
    const info = await client.task.info('report-agent', taskId, { includeMessages: false });
    const t: TaskInfo = info.result.task;
    expect(t.messages).toBeUndefined();
    expect(t.statusMessage).toBe('Computing totals');
    expect(t.assignedAgent).toBe('report-agent');
  });
});
