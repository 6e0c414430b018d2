/**
 * Tasks on the single server, a real process (issue 9): the Python client's recorded task flow
 * on every agent, webhooks to a verifying receiver in order, cancel of a running task, the SSRF
 * refusal, and retention expiry.
 */
import { startService, stopAll, type Proc } from './support/processes';
import { arc, replay, text, until, waitForTask, webhookReceiver, type Receiver } from './support/tasks';

const SECRET = 'e2e-webhook-secret-0123456789';
const AGENTS = ['finance-agent', 'hr-agent', 'support-agent'];

let single: Proc;
let url: string;
let receiver: Receiver;

beforeAll(async () => {
  receiver = await webhookReceiver(SECRET);
  single = await startService('single-server', {
    TASK_WORK_MS: '1500',
    WEBHOOK_SECRET: SECRET,
    WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    WEBHOOK_RETRY_BASE_MS: '200',
  });
  url = `${single.url}/arc`;
});

afterAll(async () => {
  await receiver?.close();
  await stopAll();
});

describe.each(AGENTS)('the Python client task flow on %s (captures replayed, fresh ids)', (agent) => {
  let taskId: string;

  test('task_create.txt → SUBMITTED at once, with the recorded priority and traceId', async () => {
    const r = await replay(url, 'task_create.txt', agent);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ responseAgent: agent, targetAgent: 'arc-capture-client', traceId: 'trace-capture-0002', error: null });
    expect(r.body.result).toEqual({
      type: 'task',
      task: { taskId: expect.stringMatching(/^task-/), status: 'SUBMITTED', createdAt: expect.any(String), priority: 'HIGH' },
    });
    taskId = r.body.result.task.taskId;
  });

  test('task_info.txt → the task with its message and metadata', async () => {
    const r = await replay(url, 'task_info.txt', agent, taskId);
    expect(r.status).toBe(200);
    expect(['SUBMITTED', 'WORKING', 'INPUT_REQUIRED']).toContain(r.body.result.task.status);
    expect(r.body.result.task).toMatchObject({ taskId, priority: 'HIGH', metadata: { source: 'capture' }, artifacts: [] });
    expect(r.body.result.task.messages[0]).toEqual({ role: 'user', parts: [{ type: 'TextPart', content: 'Analyze this report' }] });
  });

  test('task_send.txt → {success: true}', async () => {
    const r = await replay(url, 'task_send.txt', agent, taskId);
    expect(r.body.result).toEqual({ success: true, message: 'Message sent to task successfully' });
  });

  test('task_subscribe.txt (callback pointed at our receiver: no DNS here) → the subscription', async () => {
    const r = await replay(url, 'task_subscribe.txt', agent, taskId, (b) => b.replace('https://hooks.example.com/arc', receiver.url));
    expect(r.body.error).toBeNull();
    expect(r.body.result.subscription).toMatchObject({
      taskId,
      events: ['TASK_COMPLETED', 'TASK_FAILED'],
      active: true,
      callbackUrl: receiver.url,
    });
  });

  test('task_cancel.txt → CANCELED with the reason; error_task_not_found.txt → -42001', async () => {
    const r = await replay(url, 'task_cancel.txt', agent, taskId);
    expect(r.body.result).toEqual({
      type: 'task',
      task: { taskId, status: 'CANCELED', canceledAt: expect.any(String), reason: 'capture done' },
    });
    const missing = await replay(url, 'error_task_not_found.txt', agent);
    expect(missing.status).toBe(200);
    expect(missing.body.error).toMatchObject({ code: -42001, message: 'Task not found: task-does-not-exist' });
  });
});

test('a verifying receiver gets every subscribed event of a task, signed, in order', async () => {
  const created = await arc(url, 'task.create', 'finance-agent', { initialMessage: text('I need an invoice summary report') });
  const taskId = created.body.result.task.taskId;
  const parked = await waitForTask(url, 'finance-agent', taskId, ['INPUT_REQUIRED']);
  expect(parked.requiredInput).toBe('Which invoice number should the report cover?');
  const sub = await arc(url, 'task.subscribe', 'finance-agent', { taskId, callbackUrl: receiver.url, events: ['STATUS_CHANGE'] });
  expect(sub.body.error).toBeNull();
  await arc(url, 'task.send', 'finance-agent', { taskId, message: text('INV-12345') });
  await until(() => receiver.got.some((g) => g.taskId === taskId && g.event === 'TASK_COMPLETED'), 20_000, 'TASK_COMPLETED delivered');
  const mine = receiver.got.filter((g) => g.taskId === taskId);
  expect(mine.map((g) => g.event)).toEqual([
    'NEW_MESSAGE',
    'TASK_RESUMED',
    'STATUS_CHANGE',
    'STATUS_CHANGE',
    'NEW_MESSAGE',
    'NEW_ARTIFACT',
    'TASK_COMPLETED',
  ]);
  expect(mine.map((g) => g.data.message).slice(2, 4)).toEqual(['Collecting invoice INV-12345', 'Computing totals']);
  expect(mine.every((g) => g.scheme === 'v2')).toBe(true);
  expect(receiver.refused).toBe(0);
  const done = await waitForTask(url, 'finance-agent', taskId, ['COMPLETED']);
  await until(
    async () => (await arc(url, 'task.info', 'finance-agent', { taskId })).body.result.task.subscriptions[0].deliveries.delivered === 7,
  );
  expect(done.artifacts[0].name).toBe('invoice-summary');
});

test('task.cancel of a running task: CANCELED at once, the work stops (no artifact)', async () => {
  const created = await arc(url, 'task.create', 'support-agent', { initialMessage: text('My laptop does not start') });
  const taskId = created.body.result.task.taskId;
  await waitForTask(url, 'support-agent', taskId, ['WORKING']);
  const canceled = await arc(url, 'task.cancel', 'support-agent', { taskId, reason: 'fixed it myself' });
  expect(canceled.body.result.task).toMatchObject({ status: 'CANCELED', reason: 'fixed it myself' });
  await new Promise((r) => setTimeout(r, 2000)); // longer than the agent's work
  const after = (await arc(url, 'task.info', 'support-agent', { taskId })).body.result.task;
  expect(after.status).toBe('CANCELED');
  expect(after.artifacts).toEqual([]);
});

test('a private callback URL is refused with a message that says which setting allows it', async () => {
  const created = await arc(url, 'task.create', 'support-agent', { initialMessage: text('x') });
  const r = await arc(url, 'task.subscribe', 'support-agent', {
    taskId: created.body.result.task.taskId,
    callbackUrl: 'http://10.1.2.3/hook',
  });
  expect(r.status).toBe(200);
  expect(r.body.error.code).toBe(-32602);
  expect(r.body.error.message).toMatch(/10\.1\.2\.3 is a private address/);
  expect(r.body.error.message).toMatch(/WEBHOOK_ALLOW_PRIVATE_NETWORKS=true/);
  expect(r.body.error.details).toMatchObject({ field: 'params.callbackUrl' });
});

test('retention: a finished task is forgotten TASK_RETENTION_SECONDS after its last change (-42001)', async () => {
  const short = await startService('single-server', { TASK_WORK_MS: '0', TASK_RETENTION_SECONDS: '1' });
  const shortUrl = `${short.url}/arc`;
  const created = await arc(shortUrl, 'task.create', 'support-agent', { initialMessage: text('printer jam') });
  const taskId = created.body.result.task.taskId;
  await waitForTask(shortUrl, 'support-agent', taskId, ['COMPLETED'], 5000);
  await until(
    async () => (await arc(shortUrl, 'task.info', 'support-agent', { taskId })).body.error?.code === -42001,
    5000,
    'task expired',
  );
  await short.stop();
});
