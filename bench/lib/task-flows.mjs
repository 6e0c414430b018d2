/**
 * The load of the task rows, run in the load generator's process (load-worker.mjs), next to the
 * webhook receiver the flows wait for.
 *
 * A flow: task.create on finance-agent (an invoice number in the message, so the task completes
 * without asking for input) → task.subscribe with callbackUrl = the receiver and events
 * [TASK_COMPLETED] → the wait for that delivery, at most `flowTimeoutS` from the create.
 * `connections` flows run at once, each starting the next when it ends (closed loop), for
 * `durationS`; then no flow starts and those in flight finish (the drain). Throughput counts
 * the webhooks received within the window; the latency percentiles use every delivered flow
 * (all were created within the window).
 *
 * Job:    { url, method: 'tasks', connections, durationS, maxRequests (flows), flowTimeoutS,
 *           requestTimeoutS, secret }
 * Result: the chat runs' fields where they apply (requests = flows started, rps = flows whose
 *         webhook came within the window per second, latencyMs = create sent → webhook
 *         received, non2xx, connErrors, timeouts, badBodies, sampled, problems, statusCodes,
 *         generatorCpuS), plus badSignatures, badDeliveries and `flows`: counts, created/s,
 *         missed, raced, duplicates, stray, drainS, the signature schemes seen, and the p50/p99
 *         of each step (`phasesMs`: create and subscribe round trips as the client sees them;
 *         queue = the task's start - its createdAt, run = start → completedAt, deliver =
 *         completedAt → received: from the servers' millisecond timestamps, same clock).
 *
 * The race: a task that completes before its subscription is stored sends no webhook. The
 * servers' TASK_WORK_MS is chosen far above a subscribe's round trip; a flow whose webhook never
 * came is counted as missed, and task.info says why (`raced`: completed no later than the
 * subscription's createdAt; anything else goes to `problems`).
 *
 * The receiver (webhook-receiver.mjs) verifies every delivery with the run's secret: a bad
 * signature counts as an error. A verified delivery for no waiting flow is a duplicate (at least
 * once: the same task again) or stray (a task of no flow of this job, e.g. one that missed).
 */
import http from 'node:http';
import { AGENT, checkTaskReply, taskCreateBody, taskInfoBody, taskSubscribeBody } from './arc.mjs';
import { percentile } from './report.mjs';
import { startReceiver } from './webhook-receiver.mjs';

const EVENTS = ['TASK_COMPLETED'];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** One POST on the job's keep-alive agent; rejects with `kind` 'timeout' or 'conn'. */
function post(agent, target, body, timeoutMs) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
    const timer = setTimeout(
      () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { kind: 'timeout' })),
      timeoutMs,
    );
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err.kind ? err : Object.assign(err, { kind: 'conn' }));
    });
    req.end(body);
  });
}

function quantiles(values) {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    p50: percentile(sorted, n, 0.5),
    p90: percentile(sorted, n, 0.9),
    p99: percentile(sorted, n, 0.99),
    p999: percentile(sorted, n, 0.999),
    max: n ? sorted[n - 1] : null,
    mean: n ? sum / n : null,
  };
}

export async function runTaskFlows(job) {
  const { url, connections, durationS, maxRequests, flowTimeoutS, requestTimeoutS, secret } = job;
  const target = new URL(url);
  if (target.hostname !== '127.0.0.1') throw new Error(`the generator only talks to 127.0.0.1, not ${target.hostname}`);
  const rcv = await startReceiver();
  rcv.secret = secret;
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });

  const c = { started: 0, created: 0, createdInWindow: 0, subscribed: 0, delivered: 0, deliveredInWindow: 0, missed: 0, raced: 0 };
  const e = { non2xx: 0, connErrors: 0, timeouts: 0, badBodies: 0, badSignatures: 0, badDeliveries: 0, duplicates: 0, stray: 0 };
  const statusCodes = {};
  const schemes = {};
  let sampled = 0;
  const problems = [];
  const note = (problem) => {
    if (problems.length < 5) problems.push(problem);
  };
  const latencies = [];
  const phases = { create: [], subscribe: [], queue: [], run: [], deliver: [] };
  const waiting = new Map(); // taskId -> the flow waiting for its webhook
  const done = new Set(); // taskIds whose webhook came (to tell a duplicate from a stray)
  let stopped = false; // the measurement window is over
  let elapsedS = 0;
  let seq = 0;

  /** One ARC call, its reply checked in full; the result, or null (counted and noted). */
  const call = async (method, id, body, expect) => {
    let answer;
    try {
      answer = await post(agent, target, body, requestTimeoutS * 1000);
    } catch (err) {
      if (err.kind === 'timeout') e.timeouts++;
      else e.connErrors++;
      note(`${method}: ${err.message}`);
      return null;
    }
    statusCodes[answer.status] = (statusCodes[answer.status] ?? 0) + 1;
    if (answer.status < 200 || answer.status >= 300) {
      e.non2xx++;
      note(`${method}: HTTP ${answer.status}: ${answer.body.slice(0, 300)}`);
      return null;
    }
    sampled++;
    const { problem, result } = checkTaskReply(answer.body, method, { id, ...expect });
    if (problem) {
      e.badBodies++;
      note(problem);
      return null;
    }
    return result;
  };

  rcv.job = {
    refused(reason) {
      e.badSignatures++;
      note(`webhook refused by verifyWebhook: ${reason}`);
    },
    delivery(check, atMs, wallMs) {
      const p = check.payload;
      const flow = waiting.get(p.taskId);
      if (!flow) {
        if (done.has(p.taskId)) e.duplicates++;
        else e.stray++;
        return;
      }
      schemes[check.scheme] = (schemes[check.scheme] ?? 0) + 1;
      const data = p.data ?? {};
      const wrongSubscription = flow.subscriptionId !== undefined && p.subscriptionId !== flow.subscriptionId;
      if (p.event !== 'TASK_COMPLETED' || data.status !== 'COMPLETED' || p.requestAgent !== AGENT || wrongSubscription) {
        e.badDeliveries++;
        note(`webhook is not the TASK_COMPLETED subscribed to: ${JSON.stringify(p).slice(0, 300)}`);
        return; // the flow keeps waiting, and is missed if nothing else comes
      }
      waiting.delete(p.taskId);
      done.add(p.taskId);
      flow.resolve({ atMs, wallMs, data, inWindow: !stopped });
    },
  };

  /** Why a subscribed flow got no webhook, from task.info. */
  const explainMissed = async (n, taskId, sub) => {
    const id = `i-${n}`;
    const info = await call('task.info', id, taskInfoBody(id, taskId), { taskId });
    if (!info) return;
    const raced = info.status === 'COMPLETED' && Date.parse(info.completedAt) <= Date.parse(sub.createdAt);
    if (raced) c.raced++;
    const deliveries = (info.subscriptions ?? []).find((s) => s.subscriptionId === sub.subscriptionId)?.deliveries;
    note(
      `no webhook for ${taskId} within ${flowTimeoutS} s: task ${info.status}` +
        `${raced ? ', completed before the subscription was stored (the race)' : ''}; completedAt ${info.completedAt}, ` +
        `subscribed ${sub.createdAt}, deliveries ${JSON.stringify(deliveries)}`,
    );
  };

  /** One flow; false when a request of it failed (the loop pauses a little before the next). */
  const flow = async () => {
    const n = ++seq;
    c.started++;
    const tStart = performance.now();
    const task = await call('task.create', `t-${n}`, taskCreateBody(`t-${n}`), {});
    if (!task) return false;
    const tCreated = performance.now();
    c.created++;
    if (!stopped) c.createdInWindow++;
    // Waiting from before the subscribe is sent: the delivery cannot be missed for arriving early.
    const waiter = { subscriptionId: undefined, resolve: undefined };
    const delivered = new Promise((resolve) => (waiter.resolve = resolve));
    waiting.set(task.taskId, waiter);
    const timer = setTimeout(() => waiter.resolve(null), Math.max(0, flowTimeoutS * 1000 - (tCreated - tStart)));
    const subId = `s-${n}`;
    const sub = await call('task.subscribe', subId, taskSubscribeBody(subId, task.taskId, rcv.url, EVENTS), {
      taskId: task.taskId,
      events: EVENTS,
    });
    const tSubscribed = performance.now();
    if (!sub) {
      clearTimeout(timer);
      waiting.delete(task.taskId);
      return false;
    }
    c.subscribed++;
    waiter.subscriptionId = sub.subscriptionId;
    const got = await delivered;
    clearTimeout(timer);
    if (!got) {
      waiting.delete(task.taskId);
      c.missed++;
      await explainMissed(n, task.taskId, sub);
      return true;
    }
    c.delivered++;
    if (got.inWindow) c.deliveredInWindow++;
    latencies.push(got.atMs - tStart);
    phases.create.push(tCreated - tStart);
    phases.subscribe.push(tSubscribed - tCreated);
    const completedAt = Date.parse(got.data.completedAt);
    const createdAt = Date.parse(task.createdAt);
    if (Number.isFinite(completedAt) && Number.isFinite(createdAt) && typeof got.data.duration === 'number') {
      phases.queue.push(completedAt - got.data.duration - createdAt);
      phases.run.push(got.data.duration);
      phases.deliver.push(got.wallMs - completedAt);
    }
    return true;
  };

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const endWindow = () => {
    if (stopped) return;
    stopped = true;
    elapsedS = (performance.now() - t0) / 1000;
  };
  const windowTimer = setTimeout(endWindow, durationS * 1000);
  const loop = async () => {
    while (!stopped && c.started < maxRequests) {
      // A failing server is not hammered in a tight loop.
      if (!(await flow())) await sleep(10);
    }
  };
  try {
    await Promise.all(Array.from({ length: connections }, loop));
  } finally {
    clearTimeout(windowTimer);
    endWindow(); // when maxRequests ended the loops first
    rcv.job = null;
    agent.destroy();
  }
  const totalS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const phasesMs = Object.fromEntries(
    Object.entries(phases).map(([name, values]) => {
      const q = quantiles(values);
      return [name, { p50: q.p50, p99: q.p99 }];
    }),
  );
  return {
    requests: c.started,
    elapsedS,
    rps: c.deliveredInWindow / elapsedS,
    latencyMs: quantiles(latencies),
    non2xx: e.non2xx,
    connErrors: e.connErrors,
    timeouts: e.timeouts,
    badBodies: e.badBodies,
    badSignatures: e.badSignatures,
    badDeliveries: e.badDeliveries,
    reconnects: 0,
    droppedInFlight: 0,
    sampled,
    problems,
    statusCodes,
    generatorCpuS: (cpu.user + cpu.system) / 1e6,
    flows: {
      ...c,
      createdPerS: c.createdInWindow / elapsedS,
      duplicates: e.duplicates,
      stray: e.stray,
      drainS: totalS - elapsedS,
      schemes,
      phasesMs,
    },
  };
}
