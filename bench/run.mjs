#!/usr/bin/env node
/**
 * `npm run bench` - throughput, latency, memory, CPU and start-up of the ARC services, next to
 * two baselines (bare node:http and plain Express 5), and the task rows (task.create →
 * task.subscribe → the TASK_COMPLETED webhook, per second). See bench/README.md.
 *
 *   npm run bench                  full: ~9 minutes
 *   npm run bench -- --quick       (or `npm run bench --quick`): ~2 minutes
 *   node bench/run.mjs --smoke     one target, 1 s, c=1 (tasks c=2): proves the harness works (CI)
 *
 * Options: --targets <a,b>, --methods <a,b>, --duration <s>, --repeats <n>, --out <file.json>.
 * Output: the tables on stdout, every raw run in bench/results/bench-<mode>-<time>.json.
 *
 * This file only orchestrates; the jobs are in bench/lib: plan (what runs, in which order),
 * targets (start/stop processes), arc (requests, reply checks, chat pool), load + load-worker
 * (autocannon in its own process), task-flows (the task rows' flows and webhook receiver, in
 * the same process), proc-stats (/proc CPU and memory), redis (redis-server's pid, key
 * cleanup), report (medians, ratios, tables).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { chatStartReply, startChatPool } from './lib/arc.mjs';
import { startGenerator } from './lib/load.mjs';
import { measureRun } from './lib/measure.mjs';
import { cellNames, leaveOutWhatCannotRun, modeFromCommandLine, preflight } from './lib/mode.mjs';
import { TASKS, TASK_SETTINGS, baselines, budget, deployments, schedule } from './lib/plan.mjs';
import { clockTicks, cpuTicks, memory } from './lib/proc-stats.mjs';
import { deleteKeys, redisServerPid } from './lib/redis.mjs';
import { figuresTable, processTable, ratiosTable, runErrors, summarize, taskPhasesTable, tasksTable } from './lib/report.mjs';
import { ROOT, killAll, startBaseline, startTarget, taskServerEnv } from './lib/targets.mjs';

const PAUSE_BETWEEN_RUNS_MS = 250;
let interrupted = false;
const MAX_REQUESTS_PER_RUN = 2_000_000;

const log = (line) => process.stdout.write(`${line}\n`);
const T0 = performance.now();
/** Seconds since the start, for the phase lines. */
const at = () => `[${((performance.now() - T0) / 1000).toFixed(1)} s]`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (x, d = 2) => (x === null || x === undefined ? x : Math.round(x * 10 ** d) / 10 ** d);

async function main() {
  const wallStart = performance.now();
  const { mode, out } = modeFromCommandLine();
  preflight(mode);
  const runId = `${Date.now().toString(36)}-${process.pid}`;
  const redis = { url: process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379', keyPrefix: `arcbench:${runId}:` };
  const skipped = await leaveOutWhatCannotRun(mode, redis.url);
  const needsRedis = deployments(mode).some((d) => d.store === 'redis');
  const redisPid = needsRedis ? await redisServerPid(redis.url) : null;
  const runs = schedule(mode);
  const plan = budget(mode, runs);
  // Signs the task rows' webhooks (WEBHOOK_SECRET of every server; the receiver verifies with it).
  const webhookSecret = randomBytes(24).toString('hex');

  const chatRuns = plan.runs - plan.taskRuns;
  log(
    `ARC benchmark, mode ${mode.name}: ${chatRuns ? `${chatRuns} runs x ${mode.durationS} s` : ''}${chatRuns && plan.taskRuns ? ' + ' : ''}` +
      `${plan.taskRuns ? `${plan.taskRuns} task runs x ${mode.tasks.durationS} s` : ''} (${mode.repeats} repeats), ~${plan.estimatedS} s in all`,
  );
  if (mode.methods.length > 0) {
    log(
      `chat: targets ${mode.targets.join(', ')}; methods ${mode.methods.join(', ')}; stores ${mode.stores.join(', ')}; c=${mode.concurrencies.join(',')}; baselines ${baselines(mode).join(', ')}`,
    );
  }
  if (mode.tasks.cells.length > 0) {
    log(
      `tasks: ${cellNames(mode.tasks.cells)}; c=${mode.tasks.concurrency}, ${mode.tasks.durationS} s per run (${plan.taskRuns} runs); ` +
        `servers with TASK_WORK_MS=${TASK_SETTINGS.workMs}, TASK_CONCURRENCY=${TASK_SETTINGS.concurrency}; webhook wait ${TASK_SETTINGS.flowTimeoutS} s per flow`,
    );
  }
  log(
    `machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), node ${process.version}, load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  log(
    'note: the load generator (autocannon, and the task flows with their webhook receiver, its own process) and the servers share this machine\'s cores; see "gen CPU".',
  );

  for (const what of skipped) log(`SKIPPED ${what}`);
  if (runs.length === 0) {
    log('nothing left to run');
    return;
  }

  const state = { generator: null, deployments: [], baselines: [] };
  const result = {
    meta: {
      mode: mode.name,
      plan: { ...mode, runs: plan.runs, estimatedS: plan.estimatedS },
      runId,
      startedAt: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? null,
      clkTck: clockTicks(),
      loadavgStart: loadavg(),
      redis: needsRedis ? { ...redis, serverPid: redisPid } : null,
      tasks: mode.tasks.cells.length > 0 ? { ...TASK_SETTINGS } : null,
      note: 'load generator and servers share the machine',
      skipped,
    },
    processes: [],
    warmups: [],
    runs: [],
    summary: [],
  };

  const cleanup = async () => {
    if (state.generator) await state.generator.stop().catch(() => state.generator.kill());
    await Promise.allSettled([...state.deployments, ...state.baselines].map((d) => d.stop()));
    killAll();
    log(`${at()} all processes stopped`);
    if (needsRedis) {
      const deleted = await deleteKeys(redis.url, redis.keyPrefix).catch((err) => `failed: ${err.message}`);
      log(`${at()} redis: deleted ${deleted} keys under ${redis.keyPrefix}`);
      result.meta.redisKeysDeleted = deleted;
    }
  };

  const onSignal = (signal) => {
    if (interrupted) {
      killAll();
      process.stderr.write(`forced: processes killed${needsRedis ? `; Redis keys under ${redis.keyPrefix} may be left` : ''}\n`);
      process.exit(130);
    }
    interrupted = true;
    log(`\n${signal}: stopping every process and cleaning up (again to force)`);
    state.generator?.kill();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    state.generator = await startGenerator();
    result.meta.generatorPid = state.generator.pid;

    // 1. Start every target with every store it needs, one process at a time.
    const serverEnv = taskServerEnv(TASK_SETTINGS, webhookSecret);
    for (const { target, store, methods } of deployments(mode)) {
      const d = { ...(await startTarget(target, store, redis, runId, serverEnv)), methods };
      state.deployments.push(d);
      log(`${at()} started ${d.id}: ${d.processes.map((p) => `${p.name} ${p.startupMs.toFixed(0)} ms`).join(', ')}`);
      if (interrupted) throw new Error('interrupted');
    }
    // 2. The baselines answer with a body of the size of a real chat.start reply.
    if (baselines(mode).length > 0) {
      const reply = await chatStartReply(state.deployments[0].url);
      for (const name of baselines(mode)) {
        const b = await startBaseline(name, reply);
        state.baselines.push({ ...b, methods: ['chat.start'] });
        log(`${at()} started ${b.id}: ${b.processes[0].startupMs.toFixed(0)} ms`);
      }
      result.meta.chatStartReplyBytes = Buffer.byteLength(reply);
    }
    // 3. A pool of chats per deployment for chat.message.
    const pools = new Map();
    for (const d of state.deployments.filter((x) => x.methods.includes('chat.message'))) {
      pools.set(d.id, await startChatPool(d.url, mode.poolSize));
    }
    if (pools.size > 0) log(`${at()} chat pools: ${mode.poolSize} chats started on each of ${pools.size} deployments`);

    const find = (run) =>
      run.baseline
        ? state.baselines.find((b) => b.target === run.target)
        : state.deployments.find((d) => d.target === run.target && d.store === run.store);
    const job = (d, method, concurrency, durationS) =>
      method === TASKS
        ? {
            url: d.url,
            method,
            connections: concurrency,
            durationS,
            maxRequests: TASK_SETTINGS.maxFlowsPerRun,
            flowTimeoutS: TASK_SETTINGS.flowTimeoutS,
            requestTimeoutS: TASK_SETTINGS.requestTimeoutS,
            secret: webhookSecret,
          }
        : {
            url: d.url,
            method,
            chatIds: method === 'chat.message' ? pools.get(d.id) : undefined,
            connections: concurrency,
            durationS,
            maxRequests: MAX_REQUESTS_PER_RUN,
          };

    // 4. Warm-up (JIT, connection pools, Redis scripts, BullMQ workers): not part of the figures.
    const warmC = Math.max(...mode.concurrencies);
    for (const d of [...state.deployments, ...state.baselines]) {
      for (const method of d.methods) {
        const c = method === TASKS ? mode.tasks.concurrency : warmC;
        const load = await state.generator.run(job(d, method, c, method === TASKS ? mode.tasks.warmupS : mode.warmupS));
        result.warmups.push({ id: d.id, method, concurrency: c, load });
        const missed = load.flows?.missed ?? 0;
        if (runErrors(load) + missed > 0)
          log(
            `warning: warm-up ${d.id} ${method} had ${runErrors(load)} errors${missed ? `, ${missed} missed webhooks` : ''}: ${load.problems.join(' | ')}`,
          );
      }
    }
    const warmed = [
      ...(mode.methods.length ? [`${mode.warmupS} s per deployment and chat method at c=${warmC}`] : []),
      ...(mode.tasks.cells.length ? [`tasks ${mode.tasks.warmupS} s at c=${mode.tasks.concurrency}`] : []),
    ];
    log(`${at()} warm-up done (${warmed.join('; ')})\n`);

    // 5. The runs, in schedule order.
    for (const [i, run] of runs.entries()) {
      if (interrupted) throw new Error('interrupted');
      const d = find(run);
      const tasks = run.method === TASKS;
      const durationS = tasks ? mode.tasks.durationS : mode.durationS;
      const measured = await measureRun(
        state.generator,
        d,
        job(d, run.method, run.concurrency, durationS),
        // redis-server's CPU is shown apart in the task rows (the chat rows leave it in "other", as before).
        tasks && run.store === 'redis' ? redisPid : null,
      );
      const { load } = measured;
      const record = { index: i + 1, ...run, id: d.id, label: d.label, url: d.url, ...measured };
      result.runs.push(record);
      const errors = runErrors(load);
      const missed = load.flows?.missed ?? 0;
      log(
        `${at()} [${i + 1}/${runs.length}] r${run.repeat} ${run.baseline ? 'baseline' : run.method} ${run.store ?? '-'} ${run.target} c=${run.concurrency}: ` +
          (tasks
            ? `${load.rps.toFixed(1)} flows/s (${load.flows.delivered} webhooks), p50 ${load.latencyMs.p50?.toFixed(1)} ms, p99 ${load.latencyMs.p99?.toFixed(1)} ms, errors ${errors}, missed ${missed}`
            : `${load.rps.toFixed(0)} req/s, p50 ${load.latencyMs.p50?.toFixed(2)} ms, p99 ${load.latencyMs.p99?.toFixed(2)} ms, errors ${errors}`) +
          (errors + missed ? ` (${load.problems.join(' | ').slice(0, 300)})` : '') +
          (load.reconnects ? `, ${load.reconnects} reconnects (server closed keep-alive)` : ''),
      );
      await sleep(PAUSE_BETWEEN_RUNS_MS);
    }

    // 6. Per process: peak RSS over the whole session (VmHWM), CPU in all, log output.
    for (const d of [...state.deployments, ...state.baselines]) {
      for (const p of d.processes) {
        const pids = [p.pid, ...(p.workers || [])];
        const hwm = pids.map((pid) => memory(pid).hwmKb);
        const ticks = pids.map((pid) => cpuTicks(pid));
        result.processes.push({
          name: p.name,
          deployment: d.id,
          role: p.role,
          pid: p.pid,
          workers: p.workers || [],
          startupMs: round(p.startupMs, 1),
          hwmKb: hwm.every((x) => x !== null) ? hwm.reduce((a, b) => a + b, 0) : null,
          cpuS: ticks.every((x) => x !== null) ? ticks.reduce((a, b) => a + b, 0) / clockTicks() : null,
          logBytes: p.logBytes(),
        });
      }
    }
  } finally {
    await cleanup(); // a second Ctrl-C meanwhile SIGKILLs everything and leaves at once
  }

  result.summary = summarize(result.runs);
  result.meta.loadavgEnd = loadavg();
  result.meta.wallS = round((performance.now() - wallStart) / 1000, 1);

  if (result.summary.some((r) => r.method !== TASKS)) {
    log('\nFigures (median of repeats; range = +-half the spread of req/s between repeats; errors = failed/all requests):');
    log(figuresTable(result.summary));
    log(
      "gen CPU = the load generator's CPU in % of one core; other = CPU used by everything else on the machine during the run, in % of all cores (noise).",
    );
    log('\nRatios at the same concurrency (req/s: target / baseline, 1.00x = as fast; latency: target / baseline, 1.00x = as quick):');
    log(ratiosTable(result.summary));
  }
  if (result.summary.some((r) => r.method === TASKS)) {
    log(
      `\nTasks: flows of task.create -> task.subscribe -> TASK_COMPLETED webhook (TASK_WORK_MS=${TASK_SETTINGS.workMs}; median of repeats; ` +
        'flows/s = webhooks received within the window per second; latency = create sent -> webhook received; errors = failed/flows started):',
    );
    log(tasksTable(result.summary));
    log(
      'CPU s/1k = servers (and nginx) per 1,000 flows; redis s/1k = redis-server (shared with anything else using it); gen CPU includes the webhook receiver.',
    );
    log(
      "\nWhere a flow's time goes (p50 ms; queue = created -> started, run = started -> completed (TASK_WORK_MS and the progress writes), deliver = completed -> webhook received):",
    );
    log(taskPhasesTable(result.summary));
  }
  log('\nProcesses (start-up = spawn until the first 200 from GET /health; VmHWM = peak RSS of the session):');
  log(processTable(result.processes));
  for (const what of skipped) log(`\nSKIPPED ${what}`);

  const file = out || join(ROOT, 'bench', 'results', `bench-${mode.name}-${result.meta.startedAt.replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  const totalErrors = result.runs.reduce((n, r) => n + runErrors(r.load), 0);
  const totalMissed = result.runs.reduce((n, r) => n + (r.load.flows?.missed ?? 0), 0);
  log(
    `\n${totalErrors ? `WARNING: ${totalErrors} failed requests. ` : ''}${totalMissed ? `WARNING: ${totalMissed} task webhooks never came. ` : ''}` +
      `wall clock ${result.meta.wallS} s; raw runs in ${relative(process.cwd(), file) || file}`,
  );
}

process.on('exit', killAll);
main().then(
  () => process.exit(0),
  (err) => {
    if (interrupted) {
      process.stderr.write('bench interrupted: every process it started is stopped, its Redis keys deleted\n');
      process.exit(130);
    }
    process.stderr.write(`bench failed: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  },
);
