/**
 * The TaskStore contract, run against every implementation (task-store-contract.test.ts):
 * whatever the store, the task engine must see the same behaviour.
 */
import type { Message } from '../../src/protocol/types';
import type { TaskMutation, TaskRecord, TaskStore } from '../../src/state/task-store';

export interface TaskContractStoreOptions {
  /** Set by the expiry tests only; other tests use the store's default (7 days). */
  retentionSeconds?: number;
}

export interface TaskContractExtras {
  /**
   * The remaining time to live of a task in ms as the backend reports it (Redis PTTL: -1 no
   * expiry, -2 no such key). Stores without a native TTL leave it out (their unit tests use a clock).
   */
  ttlMs?: (store: TaskStore, agentId: string, taskId: string) => Promise<number>;
  /** True when stores from makeStore share their data (one Redis): then writers race from separate instances. */
  sharedBackend?: boolean;
}

const WEEK_MS = 7 * 24 * 60 * 60 * 1000;

let seq = 0;
/** Ids unique within the run, so tests never see each other's tasks. */
function uid(label: string): string {
  seq += 1;
  return `${label}-${process.pid}-${seq}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A minimal task: only the fields every record has. */
function record(agentId: string, taskId: string, extra: Partial<TaskRecord> = {}): TaskRecord {
  const at = '2025-01-01T00:00:00.000Z';
  return {
    taskId,
    agentId,
    requestAgent: 'contract-client',
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

/** A task with every field of TaskRecord set, optional ones included, and awkward JSON in it. */
function fullRecord(agentId: string, taskId: string): TaskRecord {
  return {
    taskId,
    agentId,
    requestAgent: 'caller-agent',
    status: 'FAILED',
    priority: 'URGENT',
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:05.000Z',
    startedAt: '2025-01-01T00:00:01.000Z',
    completedAt: '2025-01-01T00:00:04.000Z',
    failedAt: '2025-01-01T00:00:05.000Z',
    canceledAt: '2025-01-01T00:00:03.000Z',
    reason: 'no longer needed',
    error: { code: -42005, message: 'Task timed out', details: { timeoutMs: 30_000, nested: { list: [1, null, 'x'] } } },
    requiredInput: 'the invoice number',
    messages: [
      { role: 'user', parts: [{ type: 'TextPart', content: 'héllo "quoted" \n 🚀 \u2028' }], timestamp: '2025-01-01T00:00:00.000Z' },
      {
        role: 'agent',
        agentId: 'finance-agent',
        parts: [
          {
            type: 'DataPart',
            content: { total: 12.5, lines: [{ sku: 'a', qty: 2 }], empty: {}, none: null },
            mimeType: 'application/json',
          },
          { type: 'FilePart', content: 'aGVsbG8=', mimeType: 'text/plain', filename: 'a.txt' },
          { type: 'ImagePart', content: 'iVBORw0KGgo=', mimeType: 'image/png', width: 1, height: 1 },
          { type: 'AudioPart', content: 'UklGRg==', mimeType: 'audio/wav', duration: 0.5 },
        ],
      },
      { role: 'system', parts: [] },
    ],
    artifacts: [
      {
        artifactId: 'artifact-1',
        name: 'report',
        description: 'the summary',
        parts: [{ type: 'TextPart', content: 'total: 12.50' }],
        createdAt: '2025-01-01T00:00:04.000Z',
        createdBy: 'finance-agent',
        version: '1.0',
        metadata: { pages: 1 },
      },
    ],
    metadata: { n: 42.5, neg: -1, yes: true, no: false, nothing: null, list: [1, 'two', { three: [3] }], deep: { a: { b: { c: 'x' } } } },
    attempt: 3,
    traceId: 'trace-0123456789abcdef',
    subscriptions: [
      {
        subscriptionId: 'sub-1',
        taskId,
        callbackUrl: 'https://hooks.example.com/arc?x=1&y=%20',
        events: ['TASK_COMPLETED', 'TASK_FAILED', 'STATUS_CHANGE'],
        createdAt: '2025-01-01T00:00:02.000Z',
        active: false,
        deliveries: {
          delivered: 2,
          failed: 1,
          attempts: 7,
          lastStatus: 410,
          lastError: 'HTTP 410 Gone',
          lastAttemptAt: '2025-01-01T00:00:05.000Z',
        },
      },
      {
        subscriptionId: 'sub-2',
        taskId,
        callbackUrl: 'http://10.0.0.1/hook',
        events: ['NEW_MESSAGE'],
        createdAt: '2025-01-01T00:00:02.500Z',
        active: true,
        deliveries: { delivered: 0, failed: 0, attempts: 0 },
      },
    ],
    version: 9,
  };
}

function text(content: string): Message {
  return { role: 'agent', parts: [{ type: 'TextPart', content }] };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function describeTaskStoreContract(
  name: string,
  makeStore: (options: TaskContractStoreOptions) => TaskStore | Promise<TaskStore>,
  cleanup: (store: TaskStore) => void | Promise<void>,
  extras: TaskContractExtras = {},
): void {
  describe(`TaskStore contract: ${name}`, () => {
    const made: TaskStore[] = [];
    const open = async (options: TaskContractStoreOptions = {}): Promise<TaskStore> => {
      const store = await makeStore(options);
      made.push(store);
      return store;
    };
    let store: TaskStore;
    let agent: string;

    beforeEach(async () => {
      store = await open();
      agent = uid('agent');
    });

    afterEach(async () => {
      for (const s of made.splice(0)) await cleanup(s);
    });

    it('creates a task with every field set and gets it back unchanged', async () => {
      const task = fullRecord(agent, uid('task'));
      const original = structuredClone(task);
      await expect(store.create(task)).resolves.toBe(true);
      await expect(store.get(agent, task.taskId)).resolves.toStrictEqual(original);
    });

    it('creates a minimal task and gets it back without optional fields', async () => {
      const task = record(agent, uid('task'));
      await expect(store.create(task)).resolves.toBe(true);
      const got = await store.get(agent, task.taskId);
      expect(got).toStrictEqual(task);
      for (const field of [
        'startedAt',
        'completedAt',
        'failedAt',
        'canceledAt',
        'reason',
        'error',
        'requiredInput',
        'metadata',
        'traceId',
      ]) {
        expect(got).not.toHaveProperty(field);
      }
    });

    it('get of an unknown task resolves undefined', async () => {
      await expect(store.get(agent, uid('nope'))).resolves.toBeUndefined();
    });

    it('refuses a duplicate create and keeps the first record', async () => {
      const task = record(agent, uid('task'), { requestAgent: 'first' });
      await expect(store.create(task)).resolves.toBe(true);
      await expect(store.create({ ...task, requestAgent: 'second', status: 'COMPLETED', version: 5 })).resolves.toBe(false);
      await expect(store.get(agent, task.taskId)).resolves.toStrictEqual(task);
    });

    it('of concurrent creators of one id exactly one wins', async () => {
      const taskId = uid('task');
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => store.create(record(agent, taskId, { requestAgent: `creator-${i}` }))),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await store.get(agent, taskId))?.requestAgent).toBe(`creator-${results.indexOf(true)}`);
    });

    it('namespaces tasks by agent: one taskId at two agents is two tasks', async () => {
      const other = uid('other-agent');
      const taskId = uid('task');
      await expect(store.create(record(agent, taskId, { requestAgent: 'to-agent' }))).resolves.toBe(true);
      await expect(store.create(record(other, taskId, { requestAgent: 'to-other' }))).resolves.toBe(true);
      const outcome = await store.update(agent, taskId, (t) => ({ ...t, status: 'WORKING' }));
      expect(outcome.found && outcome.changed).toBe(true);
      expect(await store.get(agent, taskId)).toMatchObject({ requestAgent: 'to-agent', status: 'WORKING', version: 2 });
      expect(await store.get(other, taskId)).toMatchObject({ requestAgent: 'to-other', status: 'SUBMITTED', version: 1 });
      await expect(store.get(uid('third-agent'), taskId)).resolves.toBeUndefined();
    });

    it('does not confuse ids that contain the separator', async () => {
      // agent "<a>:b" + task "c" and agent "<a>" + task "b:c" must be two tasks.
      await expect(store.create(record(`${agent}:b`, 'c', { requestAgent: 'one' }))).resolves.toBe(true);
      await expect(store.create(record(agent, 'b:c', { requestAgent: 'two' }))).resolves.toBe(true);
      await expect(store.create(record(`${agent}%3Ab`, 'c', { requestAgent: 'three' }))).resolves.toBe(true);
      expect((await store.get(`${agent}:b`, 'c'))?.requestAgent).toBe('one');
      expect((await store.get(agent, 'b:c'))?.requestAgent).toBe('two');
      expect((await store.get(`${agent}%3Ab`, 'c'))?.requestAgent).toBe('three');
    });

    it('update applies the change, bumps version, sets updatedAt, and returns the previous and new record', async () => {
      const task = record(agent, uid('task'));
      await store.create(task);
      const before = Date.now();
      const outcome = await store.update(agent, task.taskId, (t) => {
        expect(t).toStrictEqual(task);
        t.status = 'WORKING';
        t.startedAt = '2025-01-01T00:00:01.000Z';
        t.attempt = 1;
        t.messages.push(text('started'));
        return t;
      });
      const expected: TaskRecord = {
        ...task,
        status: 'WORKING',
        startedAt: '2025-01-01T00:00:01.000Z',
        attempt: 1,
        messages: [text('started')],
        version: 2,
        updatedAt: expect.any(String) as unknown as string,
      };
      expect(outcome).toStrictEqual({ found: true, changed: true, task: expected, previous: task });
      if (!outcome.found) return;
      // updatedAt is the store's: now, not what the record said.
      const updatedAt = Date.parse(outcome.task.updatedAt);
      expect(outcome.task.updatedAt).toBe(new Date(updatedAt).toISOString());
      expect(updatedAt).toBeGreaterThanOrEqual(before - 1000);
      expect(updatedAt).toBeLessThanOrEqual(Date.now() + 1000);
      await expect(store.get(agent, task.taskId)).resolves.toStrictEqual(outcome.task);

      const second = await store.update(agent, task.taskId, (t) => ({ ...t, status: 'COMPLETED', completedAt: t.updatedAt }));
      expect(second).toMatchObject({ found: true, changed: true, previous: outcome.task, task: { status: 'COMPLETED', version: 3 } });
    });

    it('version and updatedAt are the store to set, whatever the mutation puts there', async () => {
      const task = record(agent, uid('task'), { version: 4 });
      await store.create(task);
      const outcome = await store.update(agent, task.taskId, (t) => ({ ...t, version: 99, updatedAt: '1999-01-01T00:00:00.000Z' }));
      expect(outcome.found && outcome.task.version).toBe(5);
      expect(outcome.found && outcome.task.updatedAt).not.toBe('1999-01-01T00:00:00.000Z');
      expect((await store.get(agent, task.taskId))?.version).toBe(5);
    });

    it('a mutation returning undefined changes nothing, even if it modified its copy', async () => {
      const task = fullRecord(agent, uid('task'));
      const original = structuredClone(task);
      await store.create(task);
      const outcome = await store.update(agent, task.taskId, (t) => {
        t.status = 'CANCELED';
        t.messages.length = 0;
        return undefined;
      });
      expect(outcome).toStrictEqual({ found: true, changed: false, task: original, previous: original });
      await expect(store.get(agent, task.taskId)).resolves.toStrictEqual(original);
    });

    it('a mutation that throws leaves the task untouched and update rejects with that very error', async () => {
      const task = record(agent, uid('task'), { messages: [text('one')] });
      const original = structuredClone(task);
      await store.create(task);
      const error = new Error('illegal transition');
      const failing = store.update(agent, task.taskId, (t) => {
        t.status = 'COMPLETED';
        t.messages.push(text('two'));
        throw error;
      });
      await expect(failing).rejects.toBe(error);
      await expect(store.get(agent, task.taskId)).resolves.toStrictEqual(original);
      // And the task is still usable.
      const outcome = await store.update(agent, task.taskId, (t) => ({ ...t, status: 'WORKING' }));
      expect(outcome.found && outcome.task.version).toBe(2);
    });

    it('a mutation may not move the task to another id or agent', async () => {
      const task = record(agent, uid('task'));
      await store.create(task);
      await expect(store.update(agent, task.taskId, (t) => ({ ...t, taskId: uid('elsewhere') }))).rejects.toThrow(/taskId or agentId/);
      await expect(store.update(agent, task.taskId, (t) => ({ ...t, agentId: uid('elsewhere') }))).rejects.toThrow(/taskId or agentId/);
      await expect(store.get(agent, task.taskId)).resolves.toStrictEqual(task);
    });

    it('update of an unknown task is {found: false}, does not call the mutation and creates nothing', async () => {
      const taskId = uid('nope');
      const mutate = jest.fn<ReturnType<TaskMutation>, Parameters<TaskMutation>>((t) => t);
      await expect(store.update(agent, taskId, mutate)).resolves.toStrictEqual({ found: false });
      expect(mutate).not.toHaveBeenCalled();
      await expect(store.get(agent, taskId)).resolves.toBeUndefined();
    });

    it('hands out copies, never live references', async () => {
      const task = fullRecord(agent, uid('task'));
      const original = structuredClone(task);
      await store.create(task);
      // The record given to create.
      task.status = 'COMPLETED';
      task.messages[0]!.parts.length = 0;
      task.subscriptions[0]!.deliveries.delivered = 99;
      await expect(store.get(agent, task.taskId)).resolves.toStrictEqual(original);
      // A record from get.
      const got = await store.get(agent, task.taskId);
      got!.metadata!.n = 0;
      got!.artifacts.pop();
      await expect(store.get(agent, task.taskId)).resolves.toStrictEqual(original);
      // The mutation's copy after update returned, and both records update returned.
      let draft: TaskRecord | undefined;
      const outcome = await store.update(agent, task.taskId, (t) => {
        draft = t;
        t.reason = 'changed';
        return t;
      });
      if (!outcome.found) throw new Error('task not found');
      const stored = structuredClone(outcome.task);
      expect(stored.reason).toBe('changed');
      draft!.reason = 'draft changed later';
      draft!.messages.length = 0;
      outcome.task.subscriptions.length = 0;
      outcome.previous.subscriptions.length = 0;
      await expect(store.get(agent, task.taskId)).resolves.toStrictEqual(stored);
    });

    it('forgets tasks retentionSeconds after their last change; the id is then free again', async () => {
      const short = await open({ retentionSeconds: 1 });
      const created = record(agent, uid('created'));
      const updated = record(agent, uid('updated'));
      await short.create(created);
      await short.create(updated);
      await short.update(agent, updated.taskId, (t) => ({ ...t, status: 'COMPLETED' }));
      if (extras.ttlMs) {
        const ttl = await extras.ttlMs(short, agent, updated.taskId);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(1000);
      }

      await sleep(1500);

      await expect(short.get(agent, created.taskId)).resolves.toBeUndefined();
      await expect(short.get(agent, updated.taskId)).resolves.toBeUndefined();
      const mutate = jest.fn<ReturnType<TaskMutation>, Parameters<TaskMutation>>((t) => t);
      await expect(short.update(agent, updated.taskId, mutate)).resolves.toStrictEqual({ found: false });
      expect(mutate).not.toHaveBeenCalled();
      if (extras.ttlMs) expect(await extras.ttlMs(short, agent, updated.taskId)).toBe(-2);
      await expect(short.create(record(agent, updated.taskId, { requestAgent: 'again' }))).resolves.toBe(true);
      expect((await short.get(agent, updated.taskId))?.requestAgent).toBe('again');
    });

    const ttlMs = extras.ttlMs;
    if (ttlMs) {
      it('a new task expires after the retention (7 days by default)', async () => {
        const task = record(agent, uid('task'));
        await store.create(task);
        const ttl = await ttlMs(store, agent, task.taskId);
        expect(ttl).toBeGreaterThan(WEEK_MS - 60_000);
        expect(ttl).toBeLessThanOrEqual(WEEK_MS);
      });

      it('an update that changes the task restarts its retention; get does not', async () => {
        const s = await open({ retentionSeconds: 4 });
        const changed = record(agent, uid('changed'));
        const read = record(agent, uid('read'));
        await s.create(changed);
        await s.create(read);
        await sleep(1600);
        await s.update(agent, changed.taskId, (t) => ({ ...t, status: 'WORKING' }));
        await s.get(agent, read.taskId);
        // Read back at once: the changed task has (about) the whole retention again, the other ~1.6 s less.
        expect(await ttlMs(s, agent, changed.taskId)).toBeGreaterThan(3000);
        expect(await ttlMs(s, agent, read.taskId)).toBeLessThan(3000);
      });
    }

    it('20 concurrent updates of one task lose nothing', async () => {
      const task = record(agent, uid('task'));
      await store.create(task);
      // With a shared backend every writer is a separate instance: writers on different replicas.
      const writers = extras.sharedBackend
        ? await Promise.all(Array.from({ length: 20 }, () => open()))
        : Array.from({ length: 20 }, () => store);
      const outcomes = await Promise.all(
        writers.map((w, i) =>
          w.update(agent, task.taskId, (t) => {
            t.messages.push(text(`writer-${i}`));
            return t;
          }),
        ),
      );
      const versions: number[] = [];
      for (const o of outcomes) {
        if (!o.found || !o.changed) throw new Error('an update did not apply');
        // Each writer saw the record just before its own write, and appended to it.
        expect(o.task.version).toBe(o.previous.version + 1);
        expect(o.task.messages).toStrictEqual([...o.previous.messages, expect.anything()]);
        expect(o.task.messages).toHaveLength(o.task.version - 1);
        versions.push(o.task.version);
      }
      expect(versions.sort((a, b) => a - b)).toStrictEqual(Array.from({ length: 20 }, (_, i) => i + 2));
      const final = await store.get(agent, task.taskId);
      expect(final?.version).toBe(21);
      const contents = final?.messages.map((m) => (m.parts[0] as { content: string }).content).sort();
      expect(contents).toStrictEqual(Array.from({ length: 20 }, (_, i) => `writer-${i}`).sort());
    });

    it('ping resolves when the store can serve', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('dispose resolves and may be called twice', async () => {
      const s = await makeStore({});
      await expect(s.dispose()).resolves.toBeUndefined();
      await expect(s.dispose()).resolves.toBeUndefined();
    });
  });
}
