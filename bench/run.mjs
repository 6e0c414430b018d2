#!/usr/bin/env node
/**
 * `npm run bench` - throughput, latency, memory, CPU and start-up of the ARC services, next to
 * two baselines (bare node:http and plain Express 5), the variant rows (chat.start with auth,
 * with rate limits, without metrics, through the supervisor, next to the same target without
 * them) and the task rows (task.create → task.subscribe → the TASK_COMPLETED webhook, per
 * second). See bench/README.md.
 *
 *   npm run bench                  full: ~9 minutes
 *   npm run bench -- --quick       (or `npm run bench --quick`): ~2 minutes
 *   node bench/run.mjs --smoke     one target, 1 s, c=1 (tasks c=2): proves the harness works (CI)
 *
 * Options: --targets <a,b>, --methods <a,b>, --variants <a,b>|none, --duration <s>, --repeats <n>,
 * --out <file.json>.
 * Output: the tables on stdout, every raw run in bench/results/bench-<mode>-<time>.json.
 *
 * This file only orchestrates; the jobs are in bench/lib: plan (what runs, in which order),
 * targets (start/stop processes), arc (requests, reply checks, chat pool), load + load-worker
 * (autocannon in its own process), task-flows (the task rows' flows and webhook receiver, in
 * the same process), variants (the auth token, the variants' settings and their checks),
 * proc-stats (/proc CPU and memory), redis (redis-server's pid, key cleanup), report (medians,
 * ratios, tables).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { AGENT, chatStartReply, startChatPool } from './lib/arc.mjs';
import { startGenerator } from './lib/load.mjs';
import { measureRun } from './lib/measure.mjs';
import { cellNames, leaveOutWhatCannotRun, modeFromCommandLine, preflight } from './lib/mode.mjs';
import {
  AUTH_BUDGET,
  METRICS_BUDGET,
  TASKS,
  TASK_SETTINGS,
  VARIANTS,
  baselines,
  budget,
  deployments,
  schedule,
  splitTarget,
} from './lib/plan.mjs';
import { clockTicks, cpuTicks, memory } from './lib/proc-stats.mjs';
import { deleteKeys, redisServerPid } from './lib/redis.mjs';
import {
  budgetFlags,
  compareVariants,
  figuresTable,
  processTable,
  ratiosTable,
  runErrors,
  summarize,
  taskPhasesTable,
  tasksTable,
  variantsTable,
} from './lib/report.mjs';
import { ROOT, agentVariant, killAll, startBaseline, startTarget, taskServerEnv } from './lib/targets.mjs';
import {
  checkAgentReply,
  checkAuthEnforced,
  checkMetrics,
  countedRequests,
  probeMemoryRateLimit,
  variantSettings,
  watchCounterKeys,
} from './lib/variants.mjs';

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
  let runs = schedule(mode);
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
  if (mode.variants.cells.length > 0) {
    log(
      `variants: ${cellNames(mode.variants.cells)} at ${mode.variants.method} c=${mode.variants.concurrency}, each next to the same target without it ` +
        `(auth: the same bearer token on every request, budget >= ${AUTH_BUDGET.toFixed(2)}x; ratelimit: limits nothing reaches; ` +
        `metrics-off: METRICS_ENABLED=false, the plain row (metrics on) against it, budget >= ${METRICS_BUDGET.toFixed(2)}x; ` +
        'supervisor: chat.start to supervisor, routed to finance-agent - in process on single, over HTTP through the gateway on nginx-finance)',
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
      variants: null,
      note: 'load generator and servers share the machine',
      skipped,
    },
    processes: [],
    warmups: [],
    runs: [],
    summary: [],
    comparisons: [],
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

    // 1. Start every target with every store it needs, one process at a time. A variant's
    // server is checked at once (auth enforced; the rate-limit variables honoured): one that
    // fails is left out, said so (SKIPPED) and recorded, rather than measured as if it worked.
    const serverEnv = taskServerEnv(TASK_SETTINGS, webhookSecret);
    const variants = mode.variants.cells.length > 0 ? await variantSettings() : null;
    const checks = {};
    if (variants) result.meta.variants = { settings: variants.describe(), checks };
    const leaveOut = async (d, why) => {
      skipped.push(`${d.id}: ${why}`);
      log(`${at()} SKIPPED ${d.id}: ${why}`);
      runs = runs.filter((r) => !(r.target === d.target && r.store === d.store));
      state.deployments.splice(state.deployments.indexOf(d), 1);
      await d.stop();
    };
    for (const { target, store, methods, agentVariants } of deployments(mode)) {
      const { base, variant } = splitTarget(target);
      const env = { ...serverEnv, ...(variant ? variants.env(variant) : {}) };
      const d = { ...(await startTarget(target, store, redis, runId, env, { supervisor: agentVariants.includes('supervisor') })), methods };
      state.deployments.push(d);
      log(`${at()} started ${d.id}: ${d.processes.map((p) => `${p.name} ${p.startupMs.toFixed(0)} ms`).join(', ')}`);
      if (interrupted) throw new Error('interrupted');
      // An agent variant's rows run on this deployment, asking another agent: checked at once.
      for (const name of agentVariants) {
        const view = { ...agentVariant(d, name, VARIANTS[name].agent), methods: [mode.variants.method] };
        state.deployments.push(view);
        const check = await checkAgentReply(view.url, view.agent);
        checks[view.id] = { reply: check };
        if (check.ok) log(`${at()} ${view.id}: chat.start to ${view.agent} answered with finance-agent's reply ("${check.reply}")`);
        else await leaveOut(view, `chat.start to ${view.agent} is not answered with finance-agent's reply (${check.problem})`);
      }
      if (variant === 'auth') {
        const check = await checkAuthEnforced(d.url, variants.tokens);
        checks[d.id] = { before: check };
        const seen = check.checks.map((c) => `${c.what}: ${c.status}${c.code === null ? '' : ` ${c.code}`}`).join('; ');
        if (check.ok) log(`${at()} ${d.id} enforces auth (${seen})`);
        else await leaveOut(d, `auth is not enforced as expected (${seen}); is AUTH_JWT_SECRET wired into this build?`);
      } else if (variant === 'metrics-off') {
        const plain = state.deployments.find((x) => x.target === base && x.store === store);
        const check = await checkMetrics(plain.processes[0].url, d.processes[0].url);
        checks[d.id] = { before: check };
        const seen = check.checks.map((c) => `${c.what}: ${c.status}`).join('; ');
        if (check.ok) log(`${at()} GET /metrics: ${seen}`);
        else await leaveOut(d, `GET /metrics is not as expected (${seen}); does the plain target run with metrics on?`);
      } else if (variant === 'ratelimit' && store === 'memory') {
        const probe = await probeMemoryRateLimit(splitTarget(target).base, runId, serverEnv);
        checks[d.id] = { probe };
        const seen = `statuses ${probe.statuses.join(', ')}${probe.code === null ? '' : `, last ${probe.code}`}`;
        if (probe.ok) log(`${at()} a probe server with RATE_LIMIT_CALLER=2/1h refused the 3rd request (${seen})`);
        else await leaveOut(d, `a probe server with RATE_LIMIT_CALLER=2/1h did not refuse the 3rd request (${seen})`);
      }
    }
    // 2. The baselines answer with a body of the size of a real chat.start reply.
    if (baselines(mode).length > 0) {
      const reply = await chatStartReply((state.deployments.find((d) => !d.variant) ?? state.deployments[0]).url);
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
            agent: d.agent,
            headers: d.variant ? variants.headers(d.variant) : undefined,
            connections: concurrency,
            durationS,
            maxRequests: MAX_REQUESTS_PER_RUN,
          };

    // 4. Warm-up (JIT, connection pools, Redis scripts, BullMQ workers): not part of the figures.
    const warmC = Math.max(...mode.concurrencies);
    // The Redis rate-limit variant counts in Redis: its counter keys are looked for meanwhile.
    const counterKeys = new Map();
    for (const d of [...state.deployments, ...state.baselines]) {
      for (const method of d.methods) {
        const c = method === TASKS ? mode.tasks.concurrency : warmC;
        const watch = d.variant === 'ratelimit' && d.store === 'redis' ? watchCounterKeys(redis, d.target) : null;
        const load = await state.generator.run(job(d, method, c, method === TASKS ? mode.tasks.warmupS : mode.warmupS));
        if (watch) counterKeys.set(d, await watch.stop());
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
    for (const [d, keys] of counterKeys) {
      checks[d.id] = { counterKeys: keys };
      if (keys > 0) log(`${at()} ${d.id}: ${keys} rate-limit counter keys in Redis during the warm-up`);
      else await leaveOut(d, 'no rate-limit counter key in Redis during the warm-up: the limiter does not count there');
    }

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

    // 6. The auth variant's servers refuse a request without a token at the end too; the plain
    // target of the metrics variant has counted every chat.start its runs measured.
    for (const d of state.deployments.filter((x) => x.variant === 'auth')) {
      const check = await checkAuthEnforced(d.url, variants.tokens);
      checks[d.id].after = check;
      if (!check.ok) log(`WARNING: ${d.id} no longer enforces auth after the runs: ${JSON.stringify(check.checks)}`);
    }
    for (const d of state.deployments.filter((x) => x.variant === 'metrics-off')) {
      const plain = state.deployments.find((x) => x.target === splitTarget(d.target).base && x.store === d.store);
      const measured = result.runs
        .filter((r) => r.target === plain.target && r.store === plain.store && r.method === 'chat.start')
        .reduce((n, r) => n + r.load.requests, 0);
      const counted = await countedRequests(plain.processes[0].url, AGENT, 'chat.start');
      checks[d.id].after = { counted, measured, ok: counted !== null && counted >= measured };
      if (!checks[d.id].after.ok) log(`WARNING: ${plain.id} counted ${counted} chat.starts in /metrics, its runs measured ${measured}`);
    }

    // 7. Per process: peak RSS over the whole session (VmHWM), CPU in all, log output.
    for (const d of [...state.deployments.filter((x) => !x.shared), ...state.baselines]) {
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
  result.comparisons = compareVariants(result.summary, result.runs);
  const flags = budgetFlags(result.comparisons);
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
  if (result.comparisons.length > 0) {
    log(
      '\nVariants (auth, rate limits, metrics, supervisor hop): each variant row against the same target without it, same cell, same session ' +
        '(ratio = req/s of the medians, row / vs; per repeat = the two runs that ran next to each other; p50, p99, CPU/req: row / vs; ' +
        `metrics: the plain row, metrics on, against single+metrics-off; budgets: auth >= ${AUTH_BUDGET.toFixed(2)}x, metrics >= ${METRICS_BUDGET.toFixed(2)}x):`,
    );
    log(variantsTable(result.comparisons));
    for (const line of flags) log(line);
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
      `${flags.length ? `${flags.length} row(s) outside their budget (FLAG above). ` : ''}` +
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
