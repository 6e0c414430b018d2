/**
 * Tasks across replicas (issue 9): the local cluster (two finance replicas, hr, support, nginx)
 * sharing tasks, the run queue and the webhook outbox in Redis. The Python client's task flow
 * through nginx; a task parked on one replica resumed by task.send on the other; a cancel sent to
 * the replica that does not run the task; a webhook receiver down for 30 s that still gets every
 * event, in order; and a replica SIGKILLed while it runs a task, which another replica completes.
 */
import { freePort, suiteNeeding } from '@arc/devkit';
import { startCluster, type Cluster, type Replica } from '../../scripts/lib/cluster.cjs';
import { REDIS_URL, deleteKeysUnder, testKeyPrefix } from './support/redis';
import { arc, replay, text, until, waitForTask, webhookReceiver, type Receiver } from './support/tasks';

const suite = suiteNeeding(['nginx', 'redis']);
const SECRET = 'e2e-cluster-webhook-secret-42';

suite('tasks across replicas (Redis, BullMQ, nginx)', () => {
  const prefix = testKeyPrefix('arc-e2e-tasks');
  let cluster: Cluster;
  let finance: Replica[];
  const receivers: Receiver[] = [];
  const gateway = (service: string) => `${cluster.url}/arc/${service}`;
  const direct = (r: Replica) => `${r.url}/arc`;
  /** The finance replica whose SERVER_ID is `serverId`, and the other one. */
  const byRunner = (serverId: string): [Replica, Replica] => {
    const i = finance.findIndex((r) => r.name === `finance-${serverId.split('-').pop()}`);
    if (i < 0) throw new Error(`no finance replica ${serverId}`);
    return [finance[i]!, finance[1 - i]!];
  };

  beforeAll(async () => {
    cluster = await startCluster({
      replicas: { finance: 2, hr: 1, support: 1 },
      env: {
        REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        TASK_WORK_MS: '3000',
        TASK_LOCK_MS: '1000',
        WEBHOOK_SECRET: SECRET,
        WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
        WEBHOOK_RETRY_BASE_MS: '250',
      },
    });
    finance = cluster.of('finance');
  }, 60_000);

  afterAll(async () => {
    for (const r of receivers) await r.close();
    await cluster?.stop();
    await deleteKeysUnder(prefix).catch(() => undefined);
  });

  test.each([
    ['finance', 'finance-agent'],
    ['hr', 'hr-agent'],
    ['support', 'support-agent'],
  ])('the Python client task flow through nginx (/arc/%s)', async (service, agent) => {
    const url = gateway(service);
    const created = await replay(url, 'task_create.txt', agent);
    expect(created.body.result.task).toMatchObject({ status: 'SUBMITTED', priority: 'HIGH' });
    const taskId = created.body.result.task.taskId;
    const info = await replay(url, 'task_info.txt', agent, taskId);
    expect(info.body.result.task).toMatchObject({ taskId, metadata: { source: 'capture' } });
    expect((await replay(url, 'task_send.txt', agent, taskId)).body.result).toEqual({
      success: true,
      message: 'Message sent to task successfully',
    });
    const rx = await webhookReceiver(SECRET);
    receivers.push(rx);
    const sub = await replay(url, 'task_subscribe.txt', agent, taskId, (b) => b.replace('https://hooks.example.com/arc', rx.url));
    expect(sub.body.result.subscription).toMatchObject({ taskId, active: true });
    const canceled = await replay(url, 'task_cancel.txt', agent, taskId);
    expect(canceled.body.result.task).toMatchObject({ taskId, status: 'CANCELED', reason: 'capture done' });
    expect((await replay(url, 'error_task_not_found.txt', agent)).body.error.code).toBe(-42001);
  });

  test('INPUT_REQUIRED parked on one replica is resumed by task.send sent to the other', async () => {
    const created = await arc(direct(finance[0]!), 'task.create', 'finance-agent', { initialMessage: text('invoice report please') });
    const taskId = created.body.result.task.taskId;
    const parked = await waitForTask(direct(finance[0]!), 'finance-agent', taskId, ['INPUT_REQUIRED']);
    const [parker, other] = byRunner(parked.runner);
    const sent = await arc(direct(other), 'task.send', 'finance-agent', { taskId, message: text('INV-20001') });
    expect(sent.body.result.success).toBe(true);
    const done = await waitForTask(direct(parker), 'finance-agent', taskId, ['COMPLETED'], 30_000);
    expect(done.artifacts[0].parts[0].content.invoice).toBe('INV-20001');
  });

  test('task.cancel sent to the replica that does not run the task stops the run on the other', async () => {
    const created = await arc(gateway('finance'), 'task.create', 'finance-agent', { initialMessage: text('report for INV-12345') });
    const taskId = created.body.result.task.taskId;
    const working = await waitForTask(gateway('finance'), 'finance-agent', taskId, ['WORKING']);
    const [, other] = byRunner(working.runner);
    const canceled = await arc(direct(other), 'task.cancel', 'finance-agent', { taskId, reason: 'changed my mind' });
    expect(canceled.body.result.task.status).toBe('CANCELED');
    await new Promise((r) => setTimeout(r, 3500)); // past the work the handler would have done
    const after = (await arc(gateway('finance'), 'task.info', 'finance-agent', { taskId })).body.result.task;
    expect(after).toMatchObject({ status: 'CANCELED', artifacts: [] });
    expect(after.statusMessage).toBe('Collecting invoice INV-12345');
  });

  test('a receiver down for 30 s still gets every event afterwards, in order', async () => {
    const port = await freePort();
    const created = await arc(gateway('finance'), 'task.create', 'finance-agent', { initialMessage: text('a report') });
    const taskId = created.body.result.task.taskId;
    await waitForTask(gateway('finance'), 'finance-agent', taskId, ['INPUT_REQUIRED']);
    const sub = await arc(gateway('finance'), 'task.subscribe', 'finance-agent', {
      taskId,
      callbackUrl: `http://127.0.0.1:${port}/hook`,
      events: ['STATUS_CHANGE'],
    });
    expect(sub.body.error).toBeNull();
    await arc(gateway('finance'), 'task.send', 'finance-agent', { taskId, message: text('INV-31337') });
    await waitForTask(gateway('finance'), 'finance-agent', taskId, ['COMPLETED'], 30_000);
    const before = (await arc(gateway('finance'), 'task.info', 'finance-agent', { taskId })).body.result.task.subscriptions[0].deliveries;
    expect(before.delivered).toBe(0);
    expect(before.attempts).toBeGreaterThan(1);
    await new Promise((r) => setTimeout(r, 30_000 - 4000)); // down for 30 s in all (the task took ~4 s)
    const rx = await webhookReceiver(SECRET, port);
    receivers.push(rx);
    await until(() => rx.got.some((g) => g.event === 'TASK_COMPLETED'), 70_000, 'TASK_COMPLETED after the receiver came back');
    expect(rx.got.map((g) => g.event)).toEqual([
      'NEW_MESSAGE',
      'TASK_RESUMED',
      'STATUS_CHANGE',
      'STATUS_CHANGE',
      'NEW_MESSAGE',
      'NEW_ARTIFACT',
      'TASK_COMPLETED',
    ]);
    expect(rx.refused).toBe(0);
  }, 120_000);

  test('a replica SIGKILLed while it runs a task: another replica takes the run up and completes it', async () => {
    const created = await arc(gateway('finance'), 'task.create', 'finance-agent', { initialMessage: text('report for INV-12345') });
    const taskId = created.body.result.task.taskId;
    const working = await waitForTask(gateway('finance'), 'finance-agent', taskId, ['WORKING']);
    expect(working.attempt).toBe(1);
    const [runner, survivor] = byRunner(working.runner);
    await runner.stop('SIGKILL');
    const done = await waitForTask(direct(survivor), 'finance-agent', taskId, ['COMPLETED'], 30_000);
    expect(done.runner).toBe(`finance-server-${survivor.name.split('-').pop()}`);
    expect(done.attempt).toBe(2);
    expect(done.artifacts).toHaveLength(1);
  }, 60_000);
});
