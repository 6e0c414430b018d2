/**
 * Task and webhook metrics on a real ArcServer (port 0, in-memory task store, queue and
 * outbox): a task run to COMPLETED counts SUBMITTED, WORKING and COMPLETED once each; its
 * TASK_COMPLETED webhook, refused once (503) by a local receiver then accepted, counts one
 * failed attempt and one delivery.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createArcServer, type ArcServer } from '../../src/express';
import { ArcAgent } from '../../src/router/agent';
import { httpRequest } from '../support/http';
import { deferred, envelope, jsonReply, sleep, userMessage, type Deferred, type Json } from '../support/util';
import { parsePrometheusText, type Scrape } from './prometheus-text';

const AGENT = 'worker-agent';

async function scrape(url: string): Promise<Scrape> {
  const res = await httpRequest(url, { method: 'GET', path: '/metrics' });
  expect(res.status).toBe(200);
  return parsePrometheusText(res.text);
}

/** Polls `check` every 10 ms until it holds; fails after `ms`. */
async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('task and webhook metrics', () => {
  let server: ArcServer;
  let url: string;
  let gate: Deferred;
  let receiver: http.Server;
  let hookUrl: string;
  const answers = [503, 204];
  const received: number[] = [];

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const status = answers.shift() ?? 204;
        received.push(status);
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

    gate = deferred();
    server = createArcServer({
      serverId: 'task-metrics-test',
      metrics: { defaultMetrics: false },
      tasks: {
        webhooks: {
          secret: 'a-test-secret-of-some-length',
          policy: { allowPrivateNetworks: true },
          retry: { baseDelayMs: 20, maxDelayMs: 50 },
        },
      },
    });
    server.addAgent(
      new ArcAgent(AGENT).onTask(async () => {
        await gate.promise;
        return 'done';
      }),
    );
    ({ url } = await server.listen(0, '127.0.0.1'));
  });

  afterAll(async () => {
    gate.resolve();
    await server.close({ graceMs: 0 });
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  const call = async (method: string, params: Record<string, unknown>): Promise<Json> =>
    (await jsonReply(server.router.handle(envelope(method, params, { targetAgent: AGENT })))).body as Json;
  const status = async (taskId: string): Promise<string> => (await call('task.info', { taskId })).result.task.status;

  it('has both counters and no series before any task', async () => {
    const m = await scrape(url);
    expect(m.types.get('arc_task_transitions_total')).toBe('counter');
    expect(m.types.get('arc_webhook_deliveries_total')).toBe('counter');
    expect(m.samples.filter((s) => s.name === 'arc_task_transitions_total')).toEqual([]);
  });

  it('counts each status a completed task entered once, and its webhook delivery', async () => {
    const created = await call('task.create', { initialMessage: userMessage('go') });
    const taskId = created.result.task.taskId as string;
    await until(async () => (await status(taskId)) === 'WORKING');
    const sub = await call('task.subscribe', { taskId, callbackUrl: hookUrl, events: ['TASK_COMPLETED'] });
    expect(sub.error).toBeNull();

    const during = await scrape(url);
    expect(during.value('arc_task_transitions_total', { agent: AGENT, status: 'SUBMITTED' })).toBe(1);
    expect(during.value('arc_task_transitions_total', { agent: AGENT, status: 'WORKING' })).toBe(1);
    expect(during.value('arc_task_transitions_total', { agent: AGENT, status: 'COMPLETED' })).toBe(0);

    gate.resolve();
    await until(async () => (await status(taskId)) === 'COMPLETED');
    await until(async () => (await scrape(url)).value('arc_webhook_deliveries_total', { outcome: 'delivered' }) === 1);
    expect(received).toEqual([503, 204]);

    const m = await scrape(url);
    const transitions = m.samples.filter((s) => s.name === 'arc_task_transitions_total');
    expect(Object.fromEntries(transitions.map((s) => [`${s.labels.agent} ${s.labels.status}`, s.value]))).toEqual({
      [`${AGENT} SUBMITTED`]: 1,
      [`${AGENT} WORKING`]: 1,
      [`${AGENT} INPUT_REQUIRED`]: 0,
      [`${AGENT} COMPLETED`]: 1,
      [`${AGENT} FAILED`]: 0,
      [`${AGENT} CANCELED`]: 0,
    });
    const deliveries = m.samples.filter((s) => s.name === 'arc_webhook_deliveries_total');
    expect(Object.fromEntries(deliveries.map((s) => [s.labels.outcome, s.value]))).toEqual({
      delivered: 1,
      gone: 0,
      'given-up': 0,
      'attempt-failed': 1,
    });
  });
});
