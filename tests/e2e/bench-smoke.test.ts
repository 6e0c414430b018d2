/**
 * The benchmark harness (`npm run bench`, bench/run.mjs) works, without running a benchmark:
 * `--smoke` starts the single server and both baselines, runs chat.start and chat.message for
 * 1 s at c=1, the variant rows (chat.start on the single server with auth - the same bearer
 * token on every request -, with rate limits nothing reaches, with METRICS_ENABLED=false, and
 * to the supervisor, which hands it on to finance-agent in process) next to the plain row, and
 * the task row (task.create → task.subscribe → TASK_COMPLETED webhook) for 1 s at c=2, and
 * writes its JSON. Checked here: the run ends cleanly, the JSON has the shape bench/README.md
 * describes, every request was a correct ARC success, the auth row's server refused requests
 * without the token (so the row cannot measure an open server), the plain row had /metrics on
 * and the metrics-off one not, the supervisor answered with finance-agent's reply, every task's
 * webhook came and verified, and no process is left. With nginx, the supervisor row through the
 * gateway (supervisor service → nginx → finance); with nginx and Redis, the Redis rate-limit row.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, testNeeding } from '@arc/devkit';
import { ROOT } from './support/processes';

const run = promisify(execFile);

interface Load {
  requests: number;
  rps: number;
  elapsedS: number;
  latencyMs: { p50: number; p99: number; p999: number };
  non2xx: number;
  connErrors: number;
  timeouts: number;
  badBodies: number;
  sampled: number;
  badSignatures?: number;
  badDeliveries?: number;
  flows?: {
    started: number;
    created: number;
    subscribed: number;
    delivered: number;
    deliveredInWindow: number;
    missed: number;
    raced: number;
    duplicates: number;
    stray: number;
    createdPerS: number;
    schemes: Record<string, number>;
    phasesMs: Record<'create' | 'subscribe' | 'queue' | 'run' | 'deliver', { p50: number; p99: number }>;
  };
}
interface Run {
  method: string;
  store: string | null;
  target: string;
  concurrency: number;
  baseline: boolean;
  repeat: number;
  load: Load & { statusCodes: Record<string, number> };
  processes: { pid: number; cpuS: number; rssPeakKb: number }[];
  cpuSPer1k: number;
  rssPeakKbTotal: number;
}
interface AuthCheck {
  ok: boolean;
  checks: { what: string; status: number; code: number | null; ok: boolean }[];
}
interface MetricsCheck {
  ok: boolean;
  checks: { what: string; status: number; ok: boolean }[];
}
interface VariantChecks {
  before?: AuthCheck | MetricsCheck;
  after?: AuthCheck | { counted: number | null; measured: number; ok: boolean };
  probe?: { ok: boolean; statuses: number[]; code: number | null; pid: number };
  counterKeys?: number;
  reply?: { ok: boolean; status: number; responseAgent: string | null; reply: string | null; problem: string | null };
}
interface Comparison {
  measures: string;
  target: string;
  variant: string;
  base: string;
  store: string;
  concurrency: number;
  rps: number;
  baseRps: number;
  ratio: number;
  perRepeat: number[];
  cpuPerRequestRatio: number;
  errors: number;
  budget: number | null;
  within: boolean | null;
}
interface Result {
  meta: {
    mode: string;
    wallS: number;
    chatStartReplyBytes: number;
    clkTck: number;
    tasks: { workMs: number } | null;
    skipped: string[];
    variants: {
      settings: { ratelimit: Record<string, string>; 'metrics-off': Record<string, string> };
      checks: Record<string, VariantChecks>;
    } | null;
    redisKeysDeleted?: number | string;
  };
  runs: Run[];
  warmups: unknown[];
  summary: {
    method: string;
    target: string;
    errors: number;
    rps: { median: number };
    ratios: Record<string, { rps: number; p99: number }>;
    flows?: { delivered: number; missed: number; createdPerS: number };
  }[];
  processes: { name: string; pid: number; startupMs: number; hwmKb: number; cpuS: number }[];
  comparisons: Comparison[];
}

let dir: string;
let result: Result;
let stdout: string;
let json: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  const out = join(dir, 'smoke.json');
  const env = { ...process.env };
  delete env.npm_config_quick;
  delete env.npm_config_smoke;
  ({ stdout } = await run(process.execPath, ['bench/run.mjs', '--smoke', '--out', out], { cwd: ROOT, env, timeout: 80_000 }));
  json = readFileSync(out, 'utf8');
  result = JSON.parse(json) as Result;
}, 90_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('runs chat.start, chat.message, the variant rows and the task row on the single server and both baselines, with zero errors', () => {
  expect(result.meta.mode).toBe('smoke');
  expect(result.meta.skipped).toEqual([]);
  const cells = result.runs.map((r) => `${r.baseline ? 'baseline' : r.method}/${r.target}/c${r.concurrency}`).sort();
  expect(cells).toEqual([
    'baseline/express/c1',
    'baseline/node-http/c1',
    'chat.message/single/c1',
    'chat.start/single+auth/c1',
    'chat.start/single+metrics-off/c1',
    'chat.start/single+ratelimit/c1',
    'chat.start/single+supervisor/c1',
    'chat.start/single/c1',
    'tasks/single/c2',
  ]);
  for (const r of result.runs) {
    expect(r.load.requests).toBeGreaterThan(0);
    expect(r.load.rps).toBeGreaterThan(0);
    expect(r.load.non2xx + r.load.connErrors + r.load.timeouts + r.load.badBodies + (r.load.badSignatures ?? 0)).toBe(0);
    expect(r.load.sampled).toBeGreaterThan(0); // replies were parsed and checked, not only counted
    for (const q of ['p50', 'p99', 'p999'] as const) expect(r.load.latencyMs[q]).toBeGreaterThan(0);
    expect(r.load.latencyMs.p50).toBeLessThanOrEqual(r.load.latencyMs.p999);
    expect(r.processes.length).toBeGreaterThan(0);
    expect(r.rssPeakKbTotal).toBeGreaterThan(0);
    expect(Number.isFinite(r.cpuSPer1k)).toBe(true);
  }
});

test('the task row: every task created and subscribed to got its TASK_COMPLETED webhook, signed (v2) and verified', () => {
  const run = result.runs.find((r) => r.method === 'tasks')!;
  const flows = run.load.flows!;
  expect(run.store).toBe('memory');
  expect(flows.delivered).toBeGreaterThan(0);
  expect(flows.deliveredInWindow).toBeGreaterThan(0);
  expect(flows.created).toBe(flows.started);
  expect(flows.subscribed).toBe(flows.created);
  expect(flows.delivered).toBe(flows.subscribed);
  expect({ missed: flows.missed, raced: flows.raced, duplicates: flows.duplicates, stray: flows.stray }).toEqual({
    missed: 0,
    raced: 0,
    duplicates: 0,
    stray: 0,
  });
  expect(run.load.badSignatures).toBe(0);
  expect(run.load.badDeliveries).toBe(0);
  expect(flows.schemes).toEqual({ v2: flows.delivered }); // WEBHOOK_SECRET set: the replay-protected scheme
  expect(run.load.sampled).toBe(2 * flows.started); // every create and subscribe reply checked in full
  for (const phase of ['create', 'subscribe', 'queue', 'run', 'deliver'] as const) {
    expect(Number.isFinite(flows.phasesMs[phase].p50)).toBe(true);
  }
  expect(result.meta.tasks?.workMs).toBeGreaterThan(0);
  const row = result.summary.find((s) => s.method === 'tasks');
  expect(row).toMatchObject({ target: 'single', errors: 0, flows: { missed: 0, delivered: flows.delivered } });
  expect(row?.ratios).toEqual({}); // not compared with the chat-sized baselines
  expect(stdout).toContain('flows/s');
  expect(stdout).toContain("Where a flow's time goes");
});

test('the auth row: its server refused a request without a token and one without the chat scope, before and after the runs, and served the token', () => {
  const checks = result.meta.variants?.checks['single+auth/memory'] as { before?: AuthCheck; after?: AuthCheck } | undefined;
  for (const when of [checks?.before, checks?.after]) {
    expect(when?.ok).toBe(true);
    expect(when?.checks.map((c) => [c.what, c.status, c.code])).toEqual([
      ['no token', 401, -44001],
      ['token without arc.chat.controller', 403, -44003],
      ['the bench token', 200, null],
    ]);
  }
  const run = result.runs.find((r) => r.target === 'single+auth')!;
  expect(run).toMatchObject({ method: 'chat.start', store: 'memory' });
  expect(run.load.requests).toBeGreaterThan(0);
  expect(Object.keys(run.load.statusCodes)).toEqual(['200']); // every reply a 200, none a 401 or 403
  expect(run.load.sampled).toBeGreaterThan(0); // parsed as chat.start successes
  // The token is never printed nor written (a JWT starts with the base64 of '{"alg"').
  expect(stdout).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
  expect(json).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
});

test('the rate-limit row: a probe server refused the 3rd request under RATE_LIMIT_CALLER=2/1h; the row itself was never refused', () => {
  expect(result.meta.variants?.settings.ratelimit).toEqual({ RATE_LIMIT_CALLER: '1000000/1s', RATE_LIMIT_AGENT: '1000000/1s' });
  const probe = result.meta.variants?.checks['single+ratelimit/memory']?.probe;
  expect(probe).toMatchObject({ ok: true, statuses: [200, 200, 429], code: -44007 });
  expect(() => process.kill(probe!.pid, 0)).toThrow(); // stopped
  const run = result.runs.find((r) => r.target === 'single+ratelimit')!;
  expect(run.load.requests).toBeGreaterThan(0);
  expect(Object.keys(run.load.statusCodes)).toEqual(['200']);
});

test('the metrics row: the plain target served /metrics and counted every chat.start measured on it; the metrics-off server had none', () => {
  expect(result.meta.variants?.settings['metrics-off']).toEqual({ METRICS_ENABLED: 'false' });
  const checks = result.meta.variants?.checks['single+metrics-off/memory'];
  expect((checks?.before as MetricsCheck | undefined)?.checks.map((c) => [c.what, c.status, c.ok])).toEqual([
    ['metrics on (the plain target)', 200, true],
    ['METRICS_ENABLED=false', 404, true],
  ]);
  const measured = result.runs.filter((r) => r.target === 'single' && r.method === 'chat.start').reduce((n, r) => n + r.load.requests, 0);
  expect(checks?.after).toEqual({ counted: expect.any(Number), measured, ok: true });
  expect((checks?.after as { counted: number }).counted).toBeGreaterThanOrEqual(measured);
});

test("the supervisor row: chat.start to supervisor on the single server, answered with finance-agent's reply, every reply a 200", () => {
  expect(result.meta.variants?.checks['single+supervisor/memory']?.reply).toEqual({
    ok: true,
    status: 200,
    responseAgent: 'supervisor',
    reply: 'I can help with invoice inquiries. Please provide invoice number.',
    problem: null,
  });
  const run = result.runs.find((r) => r.target === 'single+supervisor')!;
  expect(run).toMatchObject({ method: 'chat.start', store: 'memory' });
  expect(Object.keys(run.load.statusCodes)).toEqual(['200']);
  expect(run.load.sampled).toBeGreaterThan(0); // parsed: supervisor's success with finance-agent's reply
  // The same process as the plain row (the hop is in process): no deployment of its own.
  expect(run.processes.map((p) => p.pid)).toEqual(
    result.runs.find((r) => r.target === 'single' && r.method === 'chat.start')!.processes.map((p) => p.pid),
  );
});

test('compares each variant row with the same target without it, and flags a row outside its budget without failing', () => {
  expect(result.comparisons.map((c) => `${c.measures}: ${c.target} vs ${c.base}`).sort()).toEqual([
    'auth: single+auth vs single',
    'metrics: single vs single+metrics-off', // the plain row (metrics on) against the one without
    'rate limits: single+ratelimit vs single',
    'supervisor hop: single+supervisor vs single',
  ]);
  for (const c of result.comparisons) {
    expect(c).toMatchObject({ store: 'memory', concurrency: 1, errors: 0 });
    expect(c.rps).toBeGreaterThan(0);
    expect(c.baseRps).toBeGreaterThan(0);
    expect(c.ratio).toBeCloseTo(c.rps / c.baseRps, 10);
    expect(c.perRepeat).toHaveLength(1);
    expect(c.cpuPerRequestRatio).toBeGreaterThan(0);
  }
  const auth = result.comparisons.find((c) => c.variant === 'auth')!;
  expect(auth.budget).toBe(0.85);
  expect(auth.within).toBe(auth.ratio >= 0.85);
  const metrics = result.comparisons.find((c) => c.variant === 'metrics-off')!;
  expect(metrics).toMatchObject({ target: 'single', base: 'single+metrics-off', budget: 0.9 });
  expect(metrics.within).toBe(metrics.ratio >= 0.9);
  for (const variant of ['ratelimit', 'supervisor']) {
    expect(result.comparisons.find((c) => c.variant === variant)).toMatchObject({ budget: null, within: null });
  }
  expect(stdout).toContain('Variants (auth, rate limits, metrics, supervisor hop)');
  // Outside the budget (a 1 s run at c=1 on a busy machine may be): a FLAG line, and still exit 0 (run() resolved).
  expect(stdout.includes('FLAG: single+auth')).toBe(!auth.within);
  expect(stdout.includes('FLAG: single (metrics')).toBe(!metrics.within);
});

test('summarizes with ratios to both baselines, and per-process start-up, peak RSS and CPU', () => {
  expect(result.meta.chatStartReplyBytes).toBeGreaterThan(100);
  expect(result.meta.clkTck).toBeGreaterThan(0);
  const start = result.summary.find((s) => s.method === 'chat.start' && s.target === 'single');
  expect(start?.errors).toBe(0);
  expect(start?.ratios['node-http']?.rps).toBeGreaterThan(0);
  expect(start?.ratios.express?.p99).toBeGreaterThan(0);
  expect(result.processes.map((p) => p.name).sort()).toEqual([
    'baseline/express',
    'baseline/node-http',
    'single+auth/memory',
    'single+metrics-off/memory',
    'single+ratelimit/memory',
    'single/memory',
  ]);
  for (const p of result.processes) {
    expect(p.startupMs).toBeGreaterThan(0);
    expect(p.hwmKb).toBeGreaterThan(0);
    expect(p.cpuS).toBeGreaterThanOrEqual(0);
  }
  expect(stdout).toContain('rps/node');
});

test('leaves no process behind', () => {
  for (const p of result.processes) {
    expect(() => process.kill(p.pid, 0)).toThrow();
  }
});

test('leaves out what the machine cannot run, says so and records it (no nginx here)', async () => {
  const out = join(dir, 'no-nginx.json');
  const env: NodeJS.ProcessEnv = { ...process.env, NGINX_BIN: join(dir, 'no-such-nginx') };
  delete env.npm_config_quick;
  delete env.npm_config_smoke;
  const { stdout: text } = await run(
    process.execPath,
    ['bench/run.mjs', '--smoke', '--targets', 'single,nginx-finance', '--variants', 'none', '--duration', '0.5', '--out', out],
    { cwd: ROOT, env, timeout: 50_000 },
  );
  expect(text).toContain('SKIPPED nginx-finance: nginx is not installed');
  const skipped = JSON.parse(readFileSync(out, 'utf8')) as Result & { meta: { skipped: string[] } };
  expect(skipped.meta.skipped).toEqual([expect.stringContaining('nginx-finance: nginx is not installed')]);
  expect(new Set(skipped.runs.map((r) => r.target))).toEqual(new Set(['single', 'node-http', 'express'])); // --variants none
}, 60_000);

test('leaves out the task rows that need nginx or Redis, says so for each, and still runs the others', async () => {
  const out = join(dir, 'no-nginx-no-redis.json');
  // Nothing listens on a port that was free a moment ago: Redis "does not answer" there.
  const deadRedis = `redis://127.0.0.1:${await freePort('127.0.0.1')}`;
  const env: NodeJS.ProcessEnv = { ...process.env, NGINX_BIN: join(dir, 'no-such-nginx'), BENCH_REDIS_URL: deadRedis };
  delete env.npm_config_quick;
  delete env.npm_config_smoke;
  // Full mode's task cells on these targets: single/memory, single/redis, nginx-finance/redis.
  const { stdout: text } = await run(
    process.execPath,
    ['bench/run.mjs', '--methods', 'tasks', '--targets', 'single,nginx-finance', '--duration', '0.5', '--repeats', '1', '--out', out],
    { cwd: ROOT, env, timeout: 50_000 },
  );
  expect(text).toContain('SKIPPED task rows on nginx-finance/redis: nginx is not installed');
  expect(text).toContain(`SKIPPED task rows on single/redis: Redis does not answer at ${deadRedis}`);
  const partial = JSON.parse(readFileSync(out, 'utf8')) as Result & { meta: { skipped: string[] } };
  expect(partial.meta.skipped).toEqual([
    expect.stringContaining('task rows on nginx-finance/redis: nginx is not installed'),
    expect.stringContaining('task rows on single/redis: Redis does not answer'),
  ]);
  expect(partial.runs.map((r) => `${r.method}/${r.target}/${r.store}`)).toEqual(['tasks/single/memory']);
  expect(partial.runs[0]!.load.flows!.delivered).toBeGreaterThan(0);
}, 60_000);

test('refuses an unknown target, method or variant with a usage message, not a stack trace', async () => {
  const failure = await run(process.execPath, ['bench/run.mjs', '--targets', 'single,nope'], { cwd: ROOT }).then(
    () => null,
    (err: unknown) => err,
  );
  expect(failure).toMatchObject({
    code: 2,
    stderr: expect.stringContaining('bench: --targets: unknown nope; choose from single, finance'),
  });
  expect((failure as { stderr: string }).stderr).not.toContain('    at ');
  const badMethod = await run(process.execPath, ['bench/run.mjs', '--methods', 'chat.start,nope'], { cwd: ROOT }).then(
    () => null,
    (err: unknown) => err,
  );
  expect(badMethod).toMatchObject({
    code: 2,
    stderr: expect.stringContaining('bench: --methods: unknown nope; choose from chat.start, chat.message, tasks'),
  });
  const badVariant = await run(process.execPath, ['bench/run.mjs', '--variants', 'auth,nope'], { cwd: ROOT }).then(
    () => null,
    (err: unknown) => err,
  );
  expect(badVariant).toMatchObject({
    code: 2,
    stderr: expect.stringContaining('bench: --variants: unknown nope; choose from auth, ratelimit, metrics-off, supervisor'),
  });
});

testNeeding(['nginx', 'redis'])(
  'the Redis rate-limit row: two finance replicas behind nginx count in Redis, next to the same deployment without limits',
  async () => {
    const out = join(dir, 'redis-ratelimit.json');
    const env = { ...process.env };
    delete env.npm_config_quick;
    delete env.npm_config_smoke;
    const { stdout: text } = await run(
      process.execPath,
      ['bench/run.mjs', '--smoke', '--targets', 'nginx-finance-x2', '--methods', 'chat.start', '--duration', '0.5', '--out', out],
      { cwd: ROOT, env, timeout: 80_000 },
    );
    const r = JSON.parse(readFileSync(out, 'utf8')) as Result;
    expect(r.meta.skipped).toEqual([]);
    const rows = r.runs.filter((x) => !x.baseline).map((x) => `${x.target}/${x.store}`);
    expect(rows.sort()).toEqual(['nginx-finance-x2+ratelimit/redis', 'nginx-finance-x2/memory', 'nginx-finance-x2/redis']);
    for (const x of r.runs) {
      expect(x.load.requests).toBeGreaterThan(0);
      expect(x.load.non2xx + x.load.connErrors + x.load.timeouts + x.load.badBodies).toBe(0);
    }
    // The counters were in Redis while the warm-up ran: the caller's and the agent's.
    expect(r.meta.variants?.checks['nginx-finance-x2+ratelimit/redis']?.counterKeys).toBeGreaterThanOrEqual(2);
    expect(r.comparisons).toEqual([
      expect.objectContaining({ target: 'nginx-finance-x2+ratelimit', base: 'nginx-finance-x2', store: 'redis', budget: null }),
    ]);
    expect(r.comparisons[0]!.ratio).toBeGreaterThan(0);
    expect(text).toContain('nginx-finance-x2+ratelimit');
    expect(r.meta.redisKeysDeleted).toEqual(expect.any(Number));
    for (const p of r.processes) expect(() => process.kill(p.pid, 0)).toThrow();
  },
  90_000,
);

testNeeding(['nginx'])(
  'the supervisor row through the gateway: supervisor service → nginx → finance, next to finance-agent through the same nginx',
  async () => {
    const out = join(dir, 'gateway-supervisor.json');
    const env = { ...process.env };
    delete env.npm_config_quick;
    delete env.npm_config_smoke;
    const { stdout: text } = await run(
      process.execPath,
      [
        'bench/run.mjs',
        '--smoke',
        '--targets',
        'nginx-finance',
        '--methods',
        'chat.start',
        '--variants',
        'supervisor',
        '--duration',
        '0.5',
        '--out',
        out,
      ],
      { cwd: ROOT, env, timeout: 60_000 },
    );
    const r = JSON.parse(readFileSync(out, 'utf8')) as Result;
    expect(r.meta.skipped).toEqual([]);
    expect(r.meta.variants?.checks['nginx-finance+supervisor/memory']?.reply).toMatchObject({
      ok: true,
      responseAgent: 'supervisor',
      reply: 'I can help with invoice inquiries. Please provide invoice number.',
    });
    const rows = r.runs.filter((x) => !x.baseline);
    expect(rows.map((x) => `${x.target}/${x.store}`).sort()).toEqual(['nginx-finance+supervisor/memory', 'nginx-finance/memory']);
    for (const x of rows) {
      expect(x.load.requests).toBeGreaterThan(0);
      expect(x.load.non2xx + x.load.connErrors + x.load.timeouts + x.load.badBodies).toBe(0);
      expect(x.load.sampled).toBeGreaterThan(0);
    }
    // One gateway: the supervisor replica is measured in its row only, finance and nginx in both.
    const pids = (target: string) => rows.find((x) => x.target === target)!.processes.map((p) => p.pid);
    const supervisor = r.processes.find((p) => p.name === 'nginx-finance/memory#supervisor')!;
    expect(pids('nginx-finance')).not.toContain(supervisor.pid);
    expect(pids('nginx-finance+supervisor')).toEqual(expect.arrayContaining([supervisor.pid, ...pids('nginx-finance')]));
    expect(r.comparisons).toEqual([
      expect.objectContaining({ measures: 'supervisor hop', target: 'nginx-finance+supervisor', base: 'nginx-finance', budget: null }),
    ]);
    expect(text).toContain('nginx-finance+supervisor');
    for (const p of r.processes) expect(() => process.kill(p.pid, 0)).toThrow();
  },
  70_000,
);
