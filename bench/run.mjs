#!/usr/bin/env node
/**
 * `npm run bench` - throughput, latency, memory, CPU and start-up of the ARC services, next to
 * two baselines (bare node:http and plain Express 5). See bench/README.md.
 *
 *   npm run bench                  full: ~8 minutes (measured 7.6 min on 2 cores)
 *   npm run bench -- --quick       (or `npm run bench --quick`): ~70 s
 *   node bench/run.mjs --smoke     one target, 1 s, c=1: proves the harness works (CI)
 *
 * Options: --duration <s>, --repeats <n>, --out <file.json>.
 * Output: the tables on stdout, every raw run in bench/results/bench-<mode>-<time>.json.
 *
 * This file only orchestrates; the jobs are in bench/lib: plan (what runs, in which order),
 * targets (start/stop processes), arc (requests, reply checks, chat pool), load + load-worker
 * (autocannon in its own process), proc-stats (/proc CPU and memory), redis (key cleanup),
 * report (medians, ratios, tables).
 */
import { mkdirSync, existsSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { chatStartReply, startChatPool } from './lib/arc.mjs';
import { startGenerator } from './lib/load.mjs';
import { BASELINE_NAMES, MODES, budget, deployments, schedule } from './lib/plan.mjs';
import { clockTicks, cpuSecondsBetween, cpuSnapshot, cpuTicks, machineBusyTicks, memory, startRssSampler } from './lib/proc-stats.mjs';
import { deleteKeys, redisAvailable } from './lib/redis.mjs';
import { figuresTable, processTable, ratiosTable, runErrors, summarize } from './lib/report.mjs';
import { ROOT, TARGETS, killAll, nginxInstalled, startBaseline, startTarget } from './lib/targets.mjs';

const PAUSE_BETWEEN_RUNS_MS = 250;
let interrupted = false;
const MAX_REQUESTS_PER_RUN = 2_000_000;

/** A bad command line: say what is wrong and how to call it, no stack trace. */
function usageError(message) {
  process.stderr.write(`bench: ${message}\nusage: node bench/run.mjs --help\n`);
  process.exit(2);
}

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      smoke: { type: 'boolean', default: false },
      duration: { type: 'string' },
      repeats: { type: 'string' },
      targets: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      `usage: node bench/run.mjs [--quick | --smoke] [--targets <a,b>] [--duration <s>] [--repeats <n>] [--out <file.json>]\ntargets: ${Object.keys(TARGETS).join(', ')}\n(see bench/README.md)\n`,
    );
    process.exit(0);
  }
  // `npm run bench --quick` gives the flag to npm, which passes it on as npm_config_quick=true.
  const envFlag = (name) => process.env[`npm_config_${name}`] === 'true';
  const modeName = values.smoke || envFlag('smoke') ? 'smoke' : values.quick || envFlag('quick') ? 'quick' : 'full';
  const mode = { name: modeName, ...MODES[modeName] };
  if (values.duration) mode.durationS = Number(values.duration);
  if (values.repeats) mode.repeats = Number(values.repeats);
  if (values.targets) {
    mode.targets = values.targets
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    const unknown = mode.targets.filter((t) => !(t in TARGETS));
    if (unknown.length > 0 || mode.targets.length === 0)
      usageError(`--targets: unknown ${unknown.join(', ') || '(none given)'}; choose from ${Object.keys(TARGETS).join(', ')}`);
  }
  if (!(mode.durationS > 0) || !(Number.isInteger(mode.repeats) && mode.repeats > 0))
    usageError('--duration must be > 0 and --repeats a positive integer');
  return { mode, out: values.out };
}

function preflight(mode) {
  if (process.platform !== 'linux' || !existsSync('/proc/self/stat')) throw new Error('the benchmark reads /proc: Linux only');
  for (const target of mode.targets) {
    const entry = join(ROOT, TARGETS[target].entry);
    if (!existsSync(entry)) throw new Error(`${relative(ROOT, entry)} is missing: build first (npx turbo run build)`);
  }
}

const log = (line) => process.stdout.write(`${line}\n`);
const T0 = performance.now();
/** Seconds since the start, for the phase lines. */
const at = () => `[${((performance.now() - T0) / 1000).toFixed(1)} s]`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (x, d = 2) => (x === null || x === undefined ? x : Math.round(x * 10 ** d) / 10 ** d);

async function main() {
  const wallStart = performance.now();
  const { mode, out } = options();
  preflight(mode);
  const runId = `${Date.now().toString(36)}-${process.pid}`;
  const redis = { url: process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379', keyPrefix: `arcbench:${runId}:` };
  // What this machine cannot run is left out, said so and recorded, rather than failing the
  // whole benchmark: nginx for the gateway targets, Redis for the redis store.
  const skipped = [];
  const gatewayTargets = mode.targets.filter((t) => TARGETS[t].replicas > 0);
  if (gatewayTargets.length > 0 && !nginxInstalled()) {
    mode.targets = mode.targets.filter((t) => !gatewayTargets.includes(t));
    skipped.push(`${gatewayTargets.join(', ')}: nginx is not installed (apt-get install -y nginx, or set NGINX_BIN)`);
  }
  if (mode.stores.includes('redis') && !(await redisAvailable(redis.url))) {
    mode.stores = mode.stores.filter((s) => s !== 'redis');
    skipped.push(`the redis store: Redis does not answer at ${redis.url} (start redis-server, or set BENCH_REDIS_URL)`);
  }
  const needsRedis = mode.stores.includes('redis');
  const runs = schedule(mode);
  const plan = budget(mode, runs);

  log(`ARC benchmark, mode ${mode.name}: ${plan.runs} runs x ${mode.durationS} s (${mode.repeats} repeats), ~${plan.estimatedS} s in all`);
  log(
    `targets ${mode.targets.join(', ')}; stores ${mode.stores.join(', ')}; c=${mode.concurrencies.join(',')}; baselines ${BASELINE_NAMES.join(', ')}`,
  );
  log(
    `machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), node ${process.version}, load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  log('note: the load generator (autocannon, its own process) and the servers share this machine\'s cores; see "gen CPU".');

  for (const what of skipped) log(`SKIPPED ${what}`);

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
      redis: needsRedis ? redis : null,
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

    // 1. Start every target with every store, one process at a time.
    for (const { target, store } of deployments(mode)) {
      const d = await startTarget(target, store, redis, runId);
      state.deployments.push(d);
      log(`${at()} started ${d.id}: ${d.processes.map((p) => `${p.name} ${p.startupMs.toFixed(0)} ms`).join(', ')}`);
      if (interrupted) throw new Error('interrupted');
    }
    // 2. The baselines answer with a body of the size of a real chat.start reply.
    const reply = await chatStartReply(state.deployments[0].url);
    for (const name of BASELINE_NAMES) {
      const b = await startBaseline(name, reply);
      state.baselines.push(b);
      log(`${at()} started ${b.id}: ${b.processes[0].startupMs.toFixed(0)} ms`);
    }
    result.meta.chatStartReplyBytes = Buffer.byteLength(reply);
    // 3. A pool of chats per deployment for chat.message.
    const pools = new Map();
    if (mode.methods.includes('chat.message')) {
      for (const d of state.deployments) pools.set(d.id, await startChatPool(d.url, mode.poolSize));
      log(`${at()} chat pools: ${mode.poolSize} chats started on each of ${pools.size} deployments`);
    }

    const find = (run) =>
      run.baseline
        ? state.baselines.find((b) => b.target === run.target)
        : state.deployments.find((d) => d.target === run.target && d.store === run.store);
    const job = (d, method, concurrency, durationS) => ({
      url: d.url,
      method,
      chatIds: method === 'chat.message' ? pools.get(d.id) : undefined,
      connections: concurrency,
      durationS,
      maxRequests: MAX_REQUESTS_PER_RUN,
    });

    // 4. Warm-up (JIT, connection pools, Redis scripts): not part of the figures.
    const warmC = Math.max(...mode.concurrencies);
    for (const d of [...state.deployments, ...state.baselines]) {
      for (const method of d.store === null ? ['chat.start'] : mode.methods) {
        if (method === 'chat.message' && d.target === 'nginx-finance-x2' && d.store === 'memory') continue;
        const load = await state.generator.run(job(d, method, warmC, mode.warmupS));
        result.warmups.push({ id: d.id, method, concurrency: warmC, load });
        if (runErrors(load) > 0) log(`warning: warm-up ${d.id} ${method} had ${runErrors(load)} errors: ${load.problems.join(' | ')}`);
      }
    }
    log(`${at()} warm-up done (${mode.warmupS} s per deployment and method at c=${warmC})\n`);

    // 5. The runs, in schedule order.
    for (const [i, run] of runs.entries()) {
      if (interrupted) throw new Error('interrupted');
      const d = find(run);
      const pids = d.pids();
      const names = d.names();
      const cpuBefore = cpuSnapshot(pids);
      const busyBefore = machineBusyTicks();
      const selfBefore = process.cpuUsage();
      const t0 = performance.now();
      const sampler = startRssSampler(pids);
      const load = await state.generator.run(job(d, run.method, run.concurrency, mode.durationS));
      const rssPeakKb = sampler.stop();
      const cpuS = cpuSecondsBetween(cpuBefore, cpuSnapshot(pids));
      const windowS = (performance.now() - t0) / 1000;
      const self = process.cpuUsage(selfBefore);
      const dead = d.processes.filter((p) => cpuTicks(p.pid) === null);
      if (dead.length)
        throw new Error(`${dead.map((p) => p.name).join(', ')} died during the run:\n${dead.map((p) => p.tail()).join('\n')}`);
      const cpuTotal = Object.values(cpuS).reduce((a, b) => a + (b ?? 0), 0);
      // CPU used on the machine during the run by anything but the servers, the generator and
      // this process, in % of all cores: the noise of a shared machine.
      const busyS = (machineBusyTicks() - busyBefore) / clockTicks();
      const foreignS = Math.max(0, busyS - cpuTotal - load.generatorCpuS - (self.user + self.system) / 1e6);
      const otherCpuPct = (foreignS / windowS / cpus().length) * 100;
      const record = {
        index: i + 1,
        ...run,
        id: d.id,
        label: d.label,
        url: d.url,
        load,
        processes: pids.map((pid) => ({ pid, name: names[pid], cpuS: cpuS[pid], rssPeakKb: rssPeakKb[pid] })),
        cpuS: cpuTotal,
        cpuSPer1k: load.requests ? (cpuTotal / load.requests) * 1000 : null,
        rssPeakKbTotal: Object.values(rssPeakKb).reduce((a, b) => a + b, 0),
        loadavg: loadavg()[0],
        otherCpuPct,
      };
      result.runs.push(record);
      const errors = runErrors(load);
      log(
        `${at()} [${i + 1}/${runs.length}] r${run.repeat} ${run.baseline ? 'baseline' : run.method} ${run.store ?? '-'} ${run.target} c=${run.concurrency}: ` +
          `${load.rps.toFixed(0)} req/s, p50 ${load.latencyMs.p50?.toFixed(2)} ms, p99 ${load.latencyMs.p99?.toFixed(2)} ms, errors ${errors}` +
          (errors ? ` (${load.problems.join(' | ').slice(0, 300)})` : '') +
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

  log('\nFigures (median of repeats; range = +-half the spread of req/s between repeats; errors = failed/all requests):');
  log(figuresTable(result.summary));
  log(
    "gen CPU = the load generator's CPU in % of one core; other = CPU used by everything else on the machine during the run, in % of all cores (noise).",
  );
  log('\nRatios at the same concurrency (req/s: target / baseline, 1.00x = as fast; latency: target / baseline, 1.00x = as quick):');
  log(ratiosTable(result.summary));
  log('\nProcesses (start-up = spawn until the first 200 from GET /health; VmHWM = peak RSS of the session):');
  log(processTable(result.processes));
  for (const what of skipped) log(`\nSKIPPED ${what}`);

  const file = out || join(ROOT, 'bench', 'results', `bench-${mode.name}-${result.meta.startedAt.replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  const totalErrors = result.runs.reduce((n, r) => n + runErrors(r.load), 0);
  log(
    `\n${totalErrors ? `WARNING: ${totalErrors} failed requests. ` : ''}wall clock ${result.meta.wallS} s; raw runs in ${relative(process.cwd(), file) || file}`,
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
