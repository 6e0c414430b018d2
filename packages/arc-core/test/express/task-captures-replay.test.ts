/**
 * Replays the Python client's task requests (shared/protocol/captures/task_*.txt) against our
 * ArcServer byte for byte, with the recorded task id replaced by the one our server made, and
 * checks the answers are what that client reads: same status, envelope keys in order, result
 * shape and keys as the SDK server's. Our own choices (DECISIONS.md): -42001 travels with 200
 * (the SDK: 400, which the Python client cannot turn into TaskNotFoundError), and task.info shows
 * WORKING where the SDK server (no engine) still said SUBMITTED. The recorded webhook delivery
 * (webhook_delivery.txt) is accepted by our receiver with its secret.
 */
import { ArcServer } from '../../src/express';
import { ArcAgent } from '../../src/router/agent';
import { loadWebhookCapture } from '../webhooks/webhook-capture';
import { loadCapture, type Capture } from '../support/captures';
import { httpRequest, type RawResponse } from '../support/http';
import { deferred, sleep, type Json } from '../support/util';

const RECORDED_TASK = 'task-487af811';

function replay(url: string, c: Capture, taskId?: string, path = '/arc'): Promise<RawResponse> {
  const headers: Record<string, string> = {};
  for (const name of ['content-type', 'accept', 'user-agent'])
    if (c.request.headers[name] !== undefined) headers[name] = c.request.headers[name];
  const body = taskId ? c.request.body.toString('utf8').split(RECORDED_TASK).join(taskId) : c.request.body.toString('utf8');
  return httpRequest(url, { method: 'POST', path, headers, body });
}

const recorded = (c: Capture): Json => JSON.parse(c.response.body.toString('utf8'));

describe('replaying the Python client task flow (task_*.txt)', () => {
  let server: ArcServer;
  let url: string;
  let taskId: string;
  const gate = deferred();
  const notifications: Json[] = [];

  beforeAll(async () => {
    const webhook = loadWebhookCapture();
    server = new ArcServer({
      serverId: 'arc-server',
      // hooks.example.com (the capture's callback) is looked up by a stand-in resolver: no DNS here.
      tasks: { webhooks: { secret: webhook.secret, resolve: async () => ['93.184.216.34'] } },
    });
    server.addAgent(
      new ArcAgent('finance-agent')
        .onTask(async (_task, ctx) => {
          await Promise.race([gate.promise, new Promise((resolve) => ctx.signal.addEventListener('abort', resolve))]);
        })
        .on('task.notification', (params) => {
          notifications.push(params);
          return { success: true } as const;
        }),
    );
    ({ url } = await server.listen(0, '127.0.0.1'));
  });

  afterAll(async () => {
    gate.resolve();
    await server.close({ graceMs: 0 });
  });

  it('task_create.txt: SUBMITTED at once, the SDK result keys, priority and traceId echoed', async () => {
    const c = loadCapture('task_create.txt');
    const res = await replay(url, c);
    const ours = res.json();
    const theirs = recorded(c);
    expect(res.status).toBe(c.response.status);
    expect(Object.keys(ours)).toEqual(Object.keys(theirs));
    expect(ours).toMatchObject({
      id: theirs.id,
      responseAgent: 'finance-agent',
      targetAgent: 'arc-capture-client',
      traceId: 'trace-capture-0002',
      error: null,
    });
    expect(Object.keys(ours.result.task)).toEqual(Object.keys(theirs.result.task));
    expect(ours.result.task).toMatchObject({ status: 'SUBMITTED', priority: 'HIGH' });
    taskId = ours.result.task.taskId;
  });

  it('task_info.txt: the whole task, messages (PascalCase parts), empty artifacts, metadata', async () => {
    for (let i = 0; i < 100; i++) {
      const t = (await replay(url, loadCapture('task_info.txt'), taskId)).json().result.task;
      if (t.status === 'WORKING') break;
      await sleep(10);
    }
    const c = loadCapture('task_info.txt');
    const res = await replay(url, c, taskId);
    const ours = res.json();
    const theirs = recorded(c);
    expect(res.status).toBe(200);
    expect(Object.keys(ours)).toEqual(Object.keys(theirs));
    for (const key of Object.keys(theirs.result.task)) expect(ours.result.task).toHaveProperty(key);
    expect(ours.result.task).toMatchObject({
      taskId,
      status: 'WORKING',
      priority: 'HIGH',
      messages: [{ role: 'user', parts: [{ type: 'TextPart', content: 'Analyze this report' }] }],
      artifacts: [],
      metadata: { source: 'capture' },
    });
  });

  it('task_send.txt: exactly the SDK result', async () => {
    const c = loadCapture('task_send.txt');
    const res = await replay(url, c, taskId);
    expect(res.status).toBe(200);
    expect(res.json().result).toEqual(recorded(c).result);
    expect(Object.keys(res.json())).toEqual(Object.keys(recorded(c)));
  });

  it('task_subscribe.txt: the subscription with the SDK keys', async () => {
    const c = loadCapture('task_subscribe.txt');
    const res = await replay(url, c, taskId);
    const ours = res.json();
    const theirs = recorded(c);
    expect(res.status).toBe(200);
    expect(ours.error).toBeNull();
    expect(Object.keys(ours.result.subscription)).toEqual(Object.keys(theirs.result.subscription));
    expect(ours.result).toMatchObject({
      type: 'subscription',
      subscription: { taskId, callbackUrl: 'https://hooks.example.com/arc', events: ['TASK_COMPLETED', 'TASK_FAILED'], active: true },
    });
  });

  it('task_cancel.txt: CANCELED with canceledAt and the reason, the SDK keys', async () => {
    const c = loadCapture('task_cancel.txt');
    const res = await replay(url, c, taskId);
    const ours = res.json();
    expect(res.status).toBe(200);
    expect(Object.keys(ours.result.task)).toEqual(Object.keys(recorded(c).result.task));
    expect(ours.result).toEqual({
      type: 'task',
      task: { taskId, status: 'CANCELED', canceledAt: expect.any(String), reason: 'capture done' },
    });
  });

  it('error_task_not_found.txt: -42001 with the same message; HTTP 200 (DECISIONS.md 1), details with task_id', async () => {
    const c = loadCapture('error_task_not_found.txt');
    const res = await replay(url, c);
    const ours = res.json();
    const theirs = recorded(c);
    expect(c.response.status).toBe(400);
    expect(res.status).toBe(200);
    expect(ours.error.code).toBe(theirs.error.code);
    expect(ours.error.message).toBe(theirs.error.message);
    expect(ours.error.details).toMatchObject(theirs.error.details);
  });

  it('webhook_delivery.txt: our receiver (POST /webhooks/<agent>) accepts the SDK delivery with its secret', async () => {
    const w = loadWebhookCapture();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(w.headers)) if (k !== 'host' && k !== 'content-length' && k !== 'connection') headers[k] = v;
    const res = await httpRequest(url, { method: 'POST', path: '/webhooks/finance-agent', headers, body: w.body });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ result: { success: true }, error: null, traceId: 'trace-capture-0003' });
    expect(notifications.at(-1)).toEqual({
      taskId: 'task-7f3a9c2e',
      event: 'TASK_COMPLETED',
      timestamp: '2026-12-01T12:29:42.591364Z',
      data: { status: 'COMPLETED', completedAt: '2026-01-01T00:00:00Z', artifactCount: 1, messageCount: 2, duration: 7000 },
    });
    const tampered = Buffer.from(w.body.toString('utf8').replace('"duration": 7000', '"duration": 7001'));
    const refused = await httpRequest(url, { method: 'POST', path: '/webhooks/finance-agent', headers, body: tampered });
    expect(refused.status).toBe(401);
  });
});
