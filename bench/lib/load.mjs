/**
 * The orchestrator's handle on the load generator: forks bench/lib/load-worker.mjs once and
 * sends it one job at a time. Each job is bounded in time (autocannon's duration, plus a hard
 * deadline here after which the generator is killed) and in count (`maxRequests`).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WORKER = fileURLToPath(new URL('./load-worker.mjs', import.meta.url));

export async function startGenerator() {
  const child = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let seq = 0;
  const pending = new Map();
  let exited = false;
  child.on('message', (msg) => {
    const waiter = pending.get(msg.seq);
    if (!waiter) return;
    pending.delete(msg.seq);
    if (msg.type === 'result') waiter.resolve(msg.result);
    else waiter.reject(new Error(`load generator: ${msg.message}`));
  });
  child.on('exit', (code, signal) => {
    exited = true;
    for (const waiter of pending.values()) waiter.reject(new Error(`load generator exited (code ${code}, signal ${signal})`));
    pending.clear();
  });
  await new Promise((resolve, reject) => {
    child.once('message', (msg) => (msg && msg.type === 'ready' ? resolve() : reject(new Error('load generator did not start'))));
    child.once('exit', () => reject(new Error('load generator exited at start')));
  });

  return {
    pid: child.pid,
    /** Runs one job; rejects (and kills the generator) if it overruns its deadline. */
    run(job) {
      if (exited) return Promise.reject(new Error('load generator is not running'));
      const id = ++seq;
      // After the window: a chat run's last requests (timeoutS), a task run's drain (a flow's
      // wait for its webhook, then a task.info asking why it did not come).
      const tailS = job.method === 'tasks' ? job.flowTimeoutS + job.requestTimeoutS : (job.timeoutS ?? 5);
      const deadlineMs = (job.durationS + tailS + 15) * 1000;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          child.kill('SIGKILL');
          reject(new Error(`load generator overran ${deadlineMs} ms; killed`));
        }, deadlineMs);
        pending.set(id, {
          resolve: (r) => (clearTimeout(timer), resolve(r)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        });
        child.send({ type: 'run', seq: id, job });
      });
    },
    async stop() {
      if (exited) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(timer);
    },
    kill() {
      if (!exited) child.kill('SIGKILL');
    },
  };
}
