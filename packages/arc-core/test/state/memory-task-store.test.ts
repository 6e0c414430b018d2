/**
 * What only the memory store has: an injected clock for exact expiry, the sweep, and the cap per
 * agent. The behaviour both stores share is in task-store.contract.ts.
 */
import { MemoryTaskStore } from '../../src/state/memory-task-store';
import { MAX_TASKS_PER_AGENT, TASK_RETENTION_SECONDS, TaskStoreFullError, type TaskRecord } from '../../src/state/task-store';

const T0 = Date.parse('2025-01-01T00:00:00Z');

function task(taskId: string, agentId = 'agent-a', extra: Partial<TaskRecord> = {}): TaskRecord {
  const at = new Date(T0).toISOString();
  return {
    taskId,
    agentId,
    requestAgent: 'caller',
    status: 'SUBMITTED',
    priority: 'NORMAL',
    createdAt: at,
    updatedAt: at,
    messages: [],
    artifacts: [],
    attempt: 0,
    subscriptions: [],
    version: 1,
    ...extra,
  };
}

describe('MemoryTaskStore', () => {
  let clock: number;
  const made: MemoryTaskStore[] = [];
  const open = (options: ConstructorParameters<typeof MemoryTaskStore>[0] = {}): MemoryTaskStore => {
    const store = new MemoryTaskStore({ now: () => clock, ...options });
    made.push(store);
    return store;
  };

  beforeEach(() => {
    clock = T0;
  });

  afterEach(async () => {
    for (const s of made.splice(0)) await s.dispose();
  });

  it('keeps a task 7 days by default after its creation, then forgets it; the id is free again', async () => {
    expect(TASK_RETENTION_SECONDS).toBe(7 * 86_400);
    const store = open();
    await store.create(task('t1'));
    clock = T0 + 7 * 86_400_000 - 1;
    expect((await store.get('agent-a', 't1'))?.taskId).toBe('t1');
    clock = T0 + 7 * 86_400_000;
    expect(await store.get('agent-a', 't1')).toBeUndefined();
    expect(await store.update('agent-a', 't1', (t) => t)).toStrictEqual({ found: false });
    expect(await store.create(task('t1', 'agent-a', { requestAgent: 'again' }))).toBe(true);
    expect((await store.get('agent-a', 't1'))?.requestAgent).toBe('again');
  });

  it('an update that changes the task restarts its retention; get and an unchanged update do not', async () => {
    const store = open({ retentionSeconds: 10 });
    await store.create(task('changed'));
    await store.create(task('read'));
    await store.create(task('unchanged'));
    clock = T0 + 9_000;
    expect((await store.update('agent-a', 'changed', (t) => ({ ...t, status: 'WORKING' }))).found).toBe(true);
    expect((await store.get('agent-a', 'read'))?.taskId).toBe('read');
    expect(await store.update('agent-a', 'unchanged', () => undefined)).toMatchObject({ found: true, changed: false });
    clock = T0 + 10_000;
    expect(await store.get('agent-a', 'read')).toBeUndefined();
    expect(await store.get('agent-a', 'unchanged')).toBeUndefined();
    expect((await store.get('agent-a', 'changed'))?.status).toBe('WORKING');
    clock = T0 + 18_999;
    expect((await store.get('agent-a', 'changed'))?.status).toBe('WORKING');
    clock = T0 + 19_000;
    expect(await store.get('agent-a', 'changed')).toBeUndefined();
  });

  it('updatedAt follows the injected clock', async () => {
    const store = open();
    await store.create(task('t1'));
    clock = T0 + 1234;
    const outcome = await store.update('agent-a', 't1', (t) => ({ ...t, status: 'WORKING' }));
    expect(outcome.found && outcome.task.updatedAt).toBe(new Date(T0 + 1234).toISOString());
  });

  it('caps tasks per agent: create rejects with TaskStoreFullError; other agents and existing ids are unaffected', async () => {
    expect(MAX_TASKS_PER_AGENT).toBe(100_000);
    const store = open({ maxTasksPerAgent: 2 });
    await store.create(task('a'));
    await store.create(task('b', 'agent-a', { status: 'COMPLETED' }));
    await expect(store.create(task('c'))).rejects.toEqual(new TaskStoreFullError('agent-a', 2));
    await expect(store.create(task('c'))).rejects.toMatchObject({ name: 'TaskStoreFullError', agentId: 'agent-a', limit: 2 });
    // Another agent has its own budget; an existing id is still "exists", not "full".
    expect(await store.create(task('a', 'agent-b'))).toBe(true);
    expect(await store.create(task('a'))).toBe(false);
    expect(await store.get('agent-a', 'c')).toBeUndefined();
    expect(store.tasksOf('agent-a')).toBe(2);
  });

  it('a full agent sweeps expired tasks before refusing, at most once a second', async () => {
    const store = open({ maxTasksPerAgent: 2, retentionSeconds: 10, sweepIntervalMs: 3_600_000 });
    await store.create(task('a')); // expires at T0 + 10 s
    clock = T0 + 5_000;
    await store.create(task('b')); // expires at T0 + 15 s
    clock = T0 + 9_500;
    await expect(store.create(task('c'))).rejects.toBeInstanceOf(TaskStoreFullError); // swept: nothing expired
    clock = T0 + 10_000;
    // 'a' has expired, but the last sweep was only 0.5 s ago: still counted, still refused.
    await expect(store.create(task('c'))).rejects.toBeInstanceOf(TaskStoreFullError);
    expect(store.tasksOf('agent-a')).toBe(2);
    clock = T0 + 10_500;
    expect(await store.create(task('c'))).toBe(true);
    expect(store.tasksOf('agent-a')).toBe(2);
    expect(await store.get('agent-a', 'a')).toBeUndefined();
  });

  it('an expired task with the same id makes room for its successor without a sweep', async () => {
    const store = open({ maxTasksPerAgent: 1, retentionSeconds: 10, sweepIntervalMs: 3_600_000 });
    await store.create(task('a')); // expires at T0 + 10 s
    clock = T0 + 9_500;
    await expect(store.create(task('b'))).rejects.toBeInstanceOf(TaskStoreFullError); // swept: nothing expired
    clock = T0 + 10_000; // 'a' expired; no on-demand sweep for another 0.5 s
    expect(await store.create(task('a', 'agent-a', { requestAgent: 'second' }))).toBe(true);
    expect((await store.get('agent-a', 'a'))?.requestAgent).toBe('second');
  });

  it('sweep() drops expired tasks and empty agents; size counts them until then', async () => {
    const store = open({ retentionSeconds: 10, sweepIntervalMs: 3_600_000 });
    await store.create(task('old'));
    await store.create(task('other', 'agent-b'));
    clock = T0 + 5_000;
    await store.create(task('recent'));
    clock = T0 + 10_000;
    expect(store.size).toBe(3);
    store.sweep();
    expect(store.size).toBe(1);
    expect(store.tasksOf('agent-b')).toBe(0);
    expect((await store.get('agent-a', 'recent'))?.taskId).toBe('recent');
    clock = T0 + 15_000;
    store.sweep();
    expect(store.size).toBe(0);
  });

  it('the sweep timer runs on its own and does not keep the process alive', async () => {
    const store = open({ retentionSeconds: 1, sweepIntervalMs: 10 });
    expect((store as unknown as { timer: NodeJS.Timeout }).timer.hasRef()).toBe(false);
    await store.create(task('t1'));
    clock = T0 + 5_000;
    expect(store.size).toBe(1);
    for (let i = 0; i < 100 && store.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(store.size).toBe(0);
  });

  it('keeps what the Redis store keeps: JSON (undefined properties dropped, a value JSON cannot hold refused)', async () => {
    const store = open();
    await store.create(task('t1', 'agent-a', { reason: undefined }));
    expect(await store.get('agent-a', 't1')).not.toHaveProperty('reason');
    const outcome = await store.update('agent-a', 't1', (t) => ({ ...t, reason: undefined, metadata: { at: new Date(T0) } }));
    expect(outcome.found && outcome.task).not.toHaveProperty('reason');
    expect(outcome.found && outcome.task.metadata).toStrictEqual({ at: new Date(T0).toISOString() });
    const before = await store.get('agent-a', 't1');
    await expect(store.update('agent-a', 't1', (t) => ({ ...t, metadata: { n: BigInt(1) } }))).rejects.toThrow(TypeError);
    expect(await store.get('agent-a', 't1')).toStrictEqual(before);
    await expect(store.create(task('t2', 'agent-a', { metadata: { n: BigInt(1) } }))).rejects.toThrow(TypeError);
    expect(await store.get('agent-a', 't2')).toBeUndefined();
  });

  it('refuses a non-positive retention or cap', () => {
    expect(() => new MemoryTaskStore({ retentionSeconds: 0 })).toThrow(RangeError);
    expect(() => new MemoryTaskStore({ maxTasksPerAgent: -1 })).toThrow(RangeError);
    expect(() => new MemoryTaskStore({ retentionSeconds: Number.NaN })).toThrow(RangeError);
  });
});
