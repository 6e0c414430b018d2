/**
 * The load generator: a child process of bench/run.mjs (forked by load.mjs) so that autocannon
 * does not share an event loop with the orchestrator or with any server. It waits for jobs on
 * the IPC channel, runs each with autocannon (closed loop: `connections` clients, each with one
 * request in flight, no pipelining, loopback only) and answers with the figures.
 *
 * Job:    { url, method: 'chat.start' | 'chat.message', agent?, chatIds?, headers?, connections,
 *           durationS, maxRequests, timeoutS?, sampleEvery? }, or a task row's job (method
 *           'tasks'), which task-flows.mjs runs instead of autocannon. `headers` go with every
 *           request (the auth variant's Authorization: the same token each time); `agent` is the
 *           chat.start's targetAgent (default finance-agent; the supervisor rows: supervisor),
 *           whose sampled replies must still be finance-agent's answer.
 * Result: { requests, elapsedS, rps, latencyMs: { p50, p90, p99, p999, max, mean }, non2xx,
 *           connErrors, timeouts, badBodies, sampled, problems, statusCodes, generatorCpuS }
 *
 * Latency is recorded per response from autocannon's own per-request timer (ms, sub-ms
 * precision) into a plain array and the percentiles are exact (autocannon's histogram rounds
 * to whole milliseconds, too coarse for a loopback server).
 */
import autocannon from 'autocannon';
import { AGENT, START_REPLY, checkReply, chatMessageBody, chatStartBody, looksLikeSuccess } from './arc.mjs';
import { percentile } from './report.mjs';

function runLoad(job) {
  const {
    url,
    method,
    agent = AGENT,
    chatIds = [],
    headers = {},
    connections,
    durationS,
    maxRequests,
    timeoutS = 5,
    sampleEvery = 50,
  } = job;
  const target = new URL(url);
  if (target.hostname !== '127.0.0.1') throw new Error(`the generator only talks to 127.0.0.1, not ${target.hostname}`);
  const latencies = new Float64Array(maxRequests);
  let n = 0;
  let ok2xx = 0;
  let badBodies = 0;
  let sampled = 0;
  let stopped = false; // the measurement window is over
  let reconnects = 0;
  let droppedInFlight = 0;
  const problems = [];
  const note = (problem) => {
    if (problems.length < 5) problems.push(problem);
  };

  const request = { method: 'POST', path: target.pathname, headers: { 'content-type': 'application/json', ...headers } };
  if (method === 'chat.start') {
    request.body = chatStartBody('b-1', agent);
  } else if (method === 'chat.message') {
    if (chatIds.length === 0) throw new Error('chat.message needs a pool of chatIds');
    const bodies = chatIds.map((id, i) => chatMessageBody(id, `m-${i}`));
    let next = 0;
    // One counter for all connections, so that concurrent requests go to different chats.
    request.setupRequest = (req, context) => {
      const i = next++ % bodies.length;
      context.i = i;
      req.body = bodies[i];
      return req;
    };
  } else {
    throw new Error(`unknown method ${method}`);
  }
  request.onResponse = (status, body, context) => {
    if (stopped) return;
    if (status < 200 || status >= 300) {
      note(`HTTP ${status}: ${String(body).slice(0, 300)}`);
      return; // counted by autocannon as non2xx
    }
    const cheapOk = looksLikeSuccess(body);
    // Parse the first reply, every `sampleEvery`-th, and every reply that fails the cheap check.
    if (!cheapOk || ok2xx++ % sampleEvery === 0) {
      sampled++;
      const expect =
        method === 'chat.message' ? { id: `m-${context.i}`, chatId: chatIds[context.i] } : { id: 'b-1', agent, text: START_REPLY };
      const problem = checkReply(body, method, expect);
      if (problem) {
        badBodies++;
        note(problem);
      }
    }
  };

  /**
   * autocannon 9 keeps a queue of the requests in flight per connection (their start times) and
   * clears it when IT destroys a connection, but not when the SERVER closes one (`end`) or it
   * fails: it reconnects with the unanswered request still queued, and from then on every
   * response on that connection is timed from an older request's start, growing with each
   * close. nginx closes a keep-alive connection after 1000 requests (keepalive_requests), so
   * without this fix the nginx rows' latencies would be inflated. The request lost that way was
   * sent after nginx said `Connection: close`; it is counted as droppedInFlight, not as an error.
   */
  function setupClient(client) {
    if (typeof client._connect !== 'function' || !client.pipelinedRequests || typeof client.pipelinedRequests.clear !== 'function') {
      throw new Error('autocannon internals changed (Client._connect / pipelinedRequests): review setupClient in load-worker.mjs');
    }
    const connect = client._connect;
    let first = true;
    client._connect = function connectWithEmptyQueue() {
      if (!first) {
        reconnects++;
        droppedInFlight += this.pipelinedRequests.size();
        this.pipelinedRequests.clear();
      }
      first = false;
      return connect.call(this);
    };
  }

  return new Promise((resolve, reject) => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let elapsedS = 0;
    const instance = autocannon(
      {
        url: `${target.protocol}//${target.host}`,
        connections,
        pipelining: 1,
        // autocannon counts whole seconds; the timer below stops it at durationS exactly.
        duration: Math.ceil(durationS) + 1,
        sampleInt: 100, // how often autocannon looks at its stop flag
        timeout: timeoutS,
        requests: [request],
        setupClient,
      },
      (err, result) => {
        clearTimeout(timer);
        finish();
        if (err) return reject(err);
        const cpu = process.cpuUsage(cpu0);
        const sorted = latencies.subarray(0, n).sort();
        let sum = 0;
        for (let i = 0; i < n; i++) sum += sorted[i];
        resolve({
          requests: n,
          elapsedS,
          rps: n / elapsedS,
          latencyMs: {
            p50: percentile(sorted, n, 0.5),
            p90: percentile(sorted, n, 0.9),
            p99: percentile(sorted, n, 0.99),
            p999: percentile(sorted, n, 0.999),
            max: n ? sorted[n - 1] : null,
            mean: n ? sum / n : null,
          },
          non2xx: result.non2xx,
          connErrors: result.errors - result.timeouts,
          timeouts: result.timeouts,
          badBodies,
          reconnects,
          droppedInFlight,
          sampled,
          problems,
          statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats || {}).map(([k, v]) => [k, v.count])),
          generatorCpuS: (cpu.user + cpu.system) / 1e6,
        });
      },
    );
    // The measurement window ends here; the few responses still arriving while autocannon
    // winds down are not counted.
    const finish = () => {
      if (stopped) return;
      stopped = true;
      elapsedS = (performance.now() - t0) / 1000;
      instance.stop();
    };
    const timer = setTimeout(finish, durationS * 1000);
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      if (stopped) return;
      latencies[n++] = responseTime;
      if (n >= maxRequests) finish();
    });
  });
}

process.on('message', (msg) => {
  if (!msg || msg.type !== 'run') return;
  const job = msg.job;
  // task-flows.mjs (and @arc/core with it) is loaded on the first task row only.
  const run = () => (job.method === 'tasks' ? import('./task-flows.mjs').then((m) => m.runTaskFlows(job)) : runLoad(job));
  Promise.resolve()
    .then(run)
    .then(
      (result) => process.send({ type: 'result', seq: msg.seq, result }),
      (err) => process.send({ type: 'error', seq: msg.seq, message: err && err.stack ? err.stack : String(err) }),
    );
});
process.on('disconnect', () => process.exit(0));
process.send({ type: 'ready' });
