/**
 * Task events delivered as webhooks, in process: a task agent on one ArcServer; receivers are a
 * second ArcServer (POST /webhooks/<agentId>, signature checked) or plain HTTP servers. Every
 * subscribed event arrives, signed, in order; a receiver that is down gets them once it is back;
 * 410 deactivates the subscription; the SSRF guard refuses a private callback by default.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createArcServer, type ArcServer } from '../../src/express/server';
import type { TaskStatus } from '../../src/protocol/types';
import { ArcAgent } from '../../src/router/agent';
import type { TaskHandler } from '../../src/tasks/task-context';
import { verifyWebhook } from '../../src/webhooks/verify';
import { deferred, envelope, jsonReply, sleep, userMessage, type Json } from '../support/util';

const SECRET = 'a-test-secret-of-some-length';
const servers: ArcServer[] = [];
const plains: http.Server[] = [];
afterAll(async () => {
  for (const s of servers) await s.close({ graceMs: 0 });
  for (const p of plains) p.close();
});

async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

/** A task agent whose handler waits for `gate`, so a test subscribes before the events it wants. */
async function sender(steps: TaskHandler, webhooks: Record<string, unknown> = {}) {
  const gate = deferred();
  const server = createArcServer({
    serverId: 'sender',
    tasks: {
      webhooks: { secret: SECRET, policy: { allowPrivateNetworks: true }, retry: { baseDelayMs: 20, maxDelayMs: 100 }, ...webhooks },
    },
  });
  server.addAgent(
    new ArcAgent('worker-agent').onTask(async (task, ctx) => {
      await gate.promise;
      return steps(task, ctx);
    }),
  );
  servers.push(server);
  await server.listen(0, '127.0.0.1');
  const call = async (method: string, params: Record<string, unknown>) =>
    (await jsonReply(server.router.handle(envelope(method, params, { targetAgent: 'worker-agent' })))).body as Json;
  const status = async (taskId: string): Promise<TaskStatus> => (await call('task.info', { taskId })).result.task.status;
  /** A task that is running (WORKING) and waits for `go()`. */
  const running = async () => {
    const taskId = (await call('task.create', { initialMessage: userMessage('go') })).result.task.taskId as string;
    await until(async () => (await status(taskId)) === 'WORKING');
    return taskId;
  };
  return { call, running, go: () => gate.resolve() };
}

/** A plain HTTP receiver answering with `answer()`'s status, keeping what it got. */
async function plainReceiver(answer: () => number = () => 204) {
  const got: { raw: Buffer; headers: http.IncomingHttpHeaders; body: Json }[] = [];
  const attempts: string[] = [];
  const server = http.createServer((req, res) => {
    attempts.push(String(req.headers['x-arc-delivery']));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = answer();
      if (status >= 200 && status < 300)
        got.push({ raw: Buffer.concat(chunks), headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString()) });
      res.writeHead(status).end();
    });
  });
  plains.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { got, attempts, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` };
}

describe('webhooks', () => {
  it('subscribed events reach an ARC receiver (POST /webhooks/<agent>, signature checked), in order; counters in task.info', async () => {
    const notes: Json[] = [];
    const rx = createArcServer({ serverId: 'receiver', tasks: { webhooks: { secret: SECRET } } });
    rx.addAgent(
      new ArcAgent('listener-agent').on('task.notification', (params) => {
        notes.push(params);
        return { success: true } as const;
      }),
    );
    servers.push(rx);
    const { url } = await rx.listen(0, '127.0.0.1');
    const s = await sender(async (_t, ctx) => {
      await ctx.progress('half way');
      await ctx.artifact({ name: 'a', parts: ['x'] });
      return 'done';
    });
    const taskId = await s.running();
    const sub = await s.call('task.subscribe', { taskId, callbackUrl: `${url}/webhooks/listener-agent`, events: ['STATUS_CHANGE'] });
    expect(sub.error).toBeNull();
    s.go();
    await until(() => notes.some((n) => n.event === 'TASK_COMPLETED'));
    expect(notes.map((n) => n.event)).toEqual(['STATUS_CHANGE', 'NEW_ARTIFACT', 'NEW_MESSAGE', 'TASK_COMPLETED']);
    expect(notes[0]).toMatchObject({ taskId, data: { status: 'WORKING', message: 'half way' } });
    await until(async () => (await s.call('task.info', { taskId })).result.task.subscriptions[0].deliveries.delivered === 4);
    const stats = (await s.call('task.info', { taskId })).result.task.subscriptions[0].deliveries;
    expect(stats).toMatchObject({ delivered: 4, failed: 0, attempts: 4, lastStatus: 200 });
  });

  it('deliveries are the SDK flat body, Python-serialised, verifiable under both schemes', async () => {
    const rx = await plainReceiver();
    const s = await sender(async () => 'ok');
    const taskId = await s.running();
    await s.call('task.subscribe', { taskId, callbackUrl: rx.url });
    s.go();
    await until(() => rx.got.length === 1);
    const { raw, headers, body } = rx.got[0]!;
    expect(Object.keys(body)).toEqual(['arc', 'method', 'requestAgent', 'taskId', 'event', 'timestamp', 'data', 'subscriptionId']);
    expect(body).toMatchObject({ arc: '1.0', method: 'task.notification', requestAgent: 'worker-agent', taskId, event: 'TASK_COMPLETED' });
    expect(raw.toString()).toMatch(/^\{"arc": "1\.0", "method": "task\.notification", /);
    expect(headers['user-agent']).toMatch(/^arc-webhooks\/sub-/);
    expect(headers['x-arc-event']).toBe('TASK_COMPLETED');
    expect(verifyWebhook(raw, headers, SECRET)).toMatchObject({ valid: true, scheme: 'v2' });
    const v1Only = { ...headers };
    delete v1Only['x-arc-signature-v2'];
    delete v1Only['x-arc-timestamp'];
    expect(verifyWebhook(raw, v1Only, SECRET)).toMatchObject({ valid: true, scheme: 'v1' });
    expect(verifyWebhook(raw, headers, 'another-secret-entirely')).toMatchObject({ valid: false });
  });

  it('a receiver that is down gets every event, in order, once it is back (same X-ARC-Delivery on retries)', async () => {
    let up = false;
    const deliveryIds = new Map<string, number>();
    const rx = await plainReceiver(() => (up ? 204 : 503));
    const s = await sender(async (_t, ctx) => {
      await ctx.progress('one');
      await ctx.progress('two');
      return 'three';
    });
    const taskId = await s.running();
    await s.call('task.subscribe', { taskId, callbackUrl: rx.url, events: ['STATUS_CHANGE'] });
    s.go();
    await until(async () => (await s.call('task.info', { taskId })).result.task.subscriptions[0].deliveries.attempts >= 3);
    expect(rx.got).toHaveLength(0);
    up = true;
    await until(() => rx.got.some((g) => g.body.event === 'TASK_COMPLETED'));
    expect(rx.got.map((g) => g.body.data.message)).toEqual(['one', 'two', 'New message', 'Task completed']);
    for (const g of rx.got) deliveryIds.set(String(g.headers['x-arc-delivery']), 1);
    expect(deliveryIds.size).toBe(4);
    // Every attempt carried one of those four ids; the first event's was tried several times.
    expect(rx.attempts.every((id) => deliveryIds.has(id))).toBe(true);
    const firstId = String(rx.got[0]!.headers['x-arc-delivery']);
    expect(rx.attempts.filter((id) => id === firstId).length).toBeGreaterThanOrEqual(3);
  });

  it('410 Gone deactivates the subscription: no more deliveries', async () => {
    let calls = 0;
    const rx = await plainReceiver(() => {
      calls++;
      return 410;
    });
    const s = await sender(async (_t, ctx) => {
      await ctx.progress('one');
      await ctx.progress('two');
      return 'three';
    });
    const taskId = await s.running();
    await s.call('task.subscribe', { taskId, callbackUrl: rx.url, events: ['STATUS_CHANGE'] });
    s.go();
    await until(async () => (await s.call('task.info', { taskId })).result.task.status === 'COMPLETED');
    await until(async () => (await s.call('task.info', { taskId })).result.task.subscriptions[0].active === false);
    await sleep(200);
    expect(calls).toBe(1);
  });

  it('by default a loopback callback is refused at task.subscribe, saying which setting allows it', async () => {
    const server = createArcServer({ serverId: 'strict' });
    server.addAgent(new ArcAgent('worker-agent').onTask(async () => new Promise(() => undefined)));
    servers.push(server);
    const created = await jsonReply(
      server.router.handle(envelope('task.create', { initialMessage: userMessage('x') }, { targetAgent: 'worker-agent' })),
    );
    const taskId = (created.body as Json).result.task.taskId;
    const r = await jsonReply(
      server.router.handle(envelope('task.subscribe', { taskId, callbackUrl: 'http://127.0.0.1:9/hook' }, { targetAgent: 'worker-agent' })),
    );
    expect(r.body.error.code).toBe(-32602);
    expect(r.body.error.message).toMatch(/loopback/);
    expect(r.body.error.message).toMatch(/WEBHOOK_ALLOW_PRIVATE_NETWORKS=true/);
  });

  it('the receiver refuses a delivery whose signature does not verify (-44001 / 401)', async () => {
    const rx = createArcServer({ serverId: 'receiver', tasks: { webhooks: { secret: SECRET } } });
    rx.addAgent(new ArcAgent('listener-agent').on('task.notification', () => ({ success: true }) as const));
    servers.push(rx);
    const { url } = await rx.listen(0, '127.0.0.1');
    const body =
      '{"arc": "1.0", "method": "task.notification", "requestAgent": "x", "taskId": "task-1", "event": "TASK_COMPLETED", "timestamp": "2026-12-01T12:29:42.591364Z", "data": {"status": "COMPLETED"}, "subscriptionId": "sub-1"}';
    const res = await fetch(`${url}/webhooks/listener-agent`, {
      method: 'POST',
      body,
      headers: { 'Content-Type': 'application/json', 'X-ARC-Signature': 'sha256=AAAA' },
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as Json).error.code).toBe(-44001);
  });
});
