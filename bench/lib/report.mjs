/**
 * Turns raw runs into the summary rows (median of the repeats, and their spread), the ratios
 * to the two baselines, the variant rows against the same target without the variant, and the
 * printed tables. Pure functions: the load worker uses `percentile` too.
 */
import { VARIANTS, splitTarget } from './plan.mjs';

/** The q-quantile of the first n values of an ascending array (nearest rank); null when n = 0. */
export function percentile(sorted, n, q) {
  if (n === 0) return null;
  return sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))];
}

export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * Errors of one run: non-2xx + connection errors + timeouts + 2xx replies that were not an ARC
 * success; for the task rows also webhooks whose signature did not verify or that were not the
 * delivery asked for. (A flow whose webhook never came is `missed`, counted apart.)
 */
export function runErrors(load) {
  return load.non2xx + load.connErrors + load.timeouts + load.badBodies + (load.badSignatures ?? 0) + (load.badDeliveries ?? 0);
}

const isTasks = (row) => row.method === 'tasks';

const rowKey = (r) => `${r.baseline ? 'baseline' : r.method}|${r.store ?? '-'}|${r.target}|${r.concurrency}`;

/** Groups runs by cell and target; one summary row each, in schedule order of first appearance. */
export function summarize(runs) {
  const groups = new Map();
  for (const run of runs) {
    const key = rowKey(run);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(run);
  }
  const rows = [];
  for (const group of groups.values()) {
    const first = group[0];
    const rps = group.map((r) => r.load.rps);
    const med = median(rps);
    rows.push({
      method: first.baseline ? 'baseline' : first.method,
      store: first.store,
      target: first.target,
      label: first.label,
      baseline: first.baseline,
      concurrency: first.concurrency,
      repeats: group.length,
      rps: {
        median: med,
        min: Math.min(...rps),
        max: Math.max(...rps),
        spreadPct: med ? ((Math.max(...rps) - Math.min(...rps)) / med) * 100 : null,
        all: rps,
      },
      latencyMs: {
        p50: median(group.map((r) => r.load.latencyMs.p50)),
        p99: median(group.map((r) => r.load.latencyMs.p99)),
        p999: median(group.map((r) => r.load.latencyMs.p999)),
        p99Spread: group.map((r) => r.load.latencyMs.p99),
      },
      requests: group.reduce((n, r) => n + r.load.requests, 0),
      errors: group.reduce((n, r) => n + runErrors(r.load), 0),
      sampled: group.reduce((n, r) => n + r.load.sampled, 0),
      reconnects: group.reduce((n, r) => n + (r.load.reconnects ?? 0), 0),
      rssPeakMb: Math.max(...group.map((r) => r.rssPeakKbTotal / 1024)),
      cpuSPer1k: median(group.map((r) => r.cpuSPer1k)),
      generatorCpuPct: median(group.map((r) => (r.load.generatorCpuS / r.load.elapsedS) * 100)),
      otherCpuPct: median(group.map((r) => r.otherCpuPct)),
      redisCpuSPer1k: median(group.map((r) => r.redisCpuSPer1k)),
      ...(isTasks(first) ? { flows: summarizeFlows(group) } : {}),
    });
  }
  // Ratios to the baselines at the same concurrency (not for the task rows: other requests).
  const base = (name, c) => rows.find((r) => r.baseline && r.target === name && r.concurrency === c);
  for (const row of rows) {
    row.ratios = {};
    if (isTasks(row)) continue;
    for (const name of ['node-http', 'express']) {
      const b = base(name, row.concurrency);
      if (!b) continue;
      const div = (a, d) => (a !== null && d ? a / d : null);
      row.ratios[name] = {
        rps: div(row.rps.median, b.rps.median),
        p50: div(row.latencyMs.p50, b.latencyMs.p50),
        p99: div(row.latencyMs.p99, b.latencyMs.p99),
        p999: div(row.latencyMs.p999, b.latencyMs.p999),
      };
    }
  }
  return rows;
}

/** The task rows' own figures: created/s, the flows' fates, and where a flow's time went (p50s). */
function summarizeFlows(group) {
  const f = group.map((r) => r.load.flows);
  const sum = (key) => f.reduce((n, x) => n + x[key], 0);
  const phase = (name) => median(f.map((x) => x.phasesMs[name]?.p50));
  return {
    createdPerS: median(f.map((x) => x.createdPerS)),
    started: sum('started'),
    delivered: sum('delivered'),
    missed: sum('missed'),
    raced: sum('raced'),
    duplicates: sum('duplicates'),
    stray: sum('stray'),
    drainS: median(f.map((x) => x.drainS)),
    phasesP50Ms: Object.fromEntries(['create', 'subscribe', 'queue', 'run', 'deliver'].map((name) => [name, phase(name)])),
  };
}

function fmt(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return '-';
  return value.toFixed(digits);
}
const ratio = (v) => (v === null || v === undefined ? '-' : `${v.toFixed(2)}x`);

/** A plain-text table: header row, separator, rows; numbers right-aligned. */
export function table(headers, rows, leftColumns = 4) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i < leftColumns ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The main table: figures per cell and target (medians of the repeats). */
export function figuresTable(rows) {
  const headers = [
    'method',
    'store',
    'target',
    'c',
    'req/s',
    'range',
    'p50 ms',
    'p99 ms',
    'p99.9 ms',
    'errors',
    'RSS MB',
    'CPU s/1k',
    'gen CPU',
    'other',
  ];
  return table(
    headers,
    rows
      .filter((r) => !isTasks(r))
      .map((r) => [
        r.method,
        r.store ?? '-',
        r.target,
        r.concurrency,
        fmt(r.rps.median),
        r.repeats > 1 ? `±${fmt(r.rps.spreadPct / 2, 0)}%` : '-',
        fmt(r.latencyMs.p50, 2),
        fmt(r.latencyMs.p99, 2),
        fmt(r.latencyMs.p999, 2),
        `${r.errors}/${r.requests}`,
        fmt(r.rssPeakMb, 0),
        fmt(r.cpuSPer1k, 3),
        `${fmt(r.generatorCpuPct, 0)}%`,
        `${fmt(r.otherCpuPct, 0)}%`,
      ]),
  );
}

/** The ratios: throughput as a fraction of each baseline, latency as a multiple of it. */
export function ratiosTable(rows) {
  const headers = [
    'method',
    'store',
    'target',
    'c',
    'rps/node',
    'rps/expr',
    'p50/node',
    'p50/expr',
    'p99/node',
    'p99/expr',
    'p99.9/node',
    'p99.9/expr',
  ];
  return table(
    headers,
    rows
      .filter((r) => !isTasks(r) && (!r.baseline || r.target === 'express'))
      .map((r) => {
        const n = r.ratios['node-http'] || {};
        const e = r.ratios.express || {};
        return [
          r.method,
          r.store ?? '-',
          r.target,
          r.concurrency,
          ratio(n.rps),
          ratio(e.rps),
          ratio(n.p50),
          ratio(e.p50),
          ratio(n.p99),
          ratio(e.p99),
          ratio(n.p999),
          ratio(e.p999),
        ];
      }),
  );
}

/**
 * The task rows: flows per second (create → webhook delivered, within the window), created/s,
 * create → delivered latency, errors, missed webhooks (raced: the task completed before its
 * subscription was stored), memory and CPU per 1,000 flows (servers and nginx; redis-server
 * apart).
 */
export function tasksTable(rows) {
  const headers = [
    'store',
    'target',
    'c',
    'flows/s',
    'range',
    'created/s',
    'p50 ms',
    'p99 ms',
    'errors',
    'missed',
    'RSS MB',
    'CPU s/1k',
    'redis s/1k',
    'gen CPU',
    'other',
  ];
  return table(
    headers,
    rows
      .filter(isTasks)
      .map((r) => [
        r.store ?? '-',
        r.target,
        r.concurrency,
        fmt(r.rps.median, 1),
        r.repeats > 1 ? `±${fmt(r.rps.spreadPct / 2, 0)}%` : '-',
        fmt(r.flows.createdPerS, 1),
        fmt(r.latencyMs.p50, 1),
        fmt(r.latencyMs.p99, 1),
        `${r.errors}/${r.requests}`,
        `${r.flows.missed}${r.flows.raced ? ` (${r.flows.raced} raced)` : ''}`,
        fmt(r.rssPeakMb, 0),
        fmt(r.cpuSPer1k, 2),
        fmt(r.redisCpuSPer1k, 2),
        `${fmt(r.generatorCpuPct, 0)}%`,
        `${fmt(r.otherCpuPct, 0)}%`,
      ]),
    2,
  );
}

/** Where a flow's time goes, p50 of each step in ms (medians of the repeats). */
export function taskPhasesTable(rows) {
  const headers = ['store', 'target', 'create', 'subscribe', 'queue', 'run', 'deliver', 'total'];
  return table(
    headers,
    rows.filter(isTasks).map((r) => {
      const p = r.flows.phasesP50Ms;
      return [
        r.store ?? '-',
        r.target,
        fmt(p.create, 1),
        fmt(p.subscribe, 1),
        fmt(p.queue, 0),
        fmt(p.run, 0),
        fmt(p.deliver, 0),
        fmt(r.latencyMs.p50, 1),
      ];
    }),
    2,
  );
}

/** Per process: start-up to first healthy /health, peak RSS (VmHWM), CPU and log output in all. */
export function processTable(processes) {
  const headers = ['process', 'role', 'pid', 'start-up ms', 'VmHWM MB', 'CPU s', 'log MB'];
  return table(
    headers,
    processes.map((p) => [
      p.name,
      p.role,
      p.pid,
      fmt(p.startupMs, 0),
      fmt(p.hwmKb === null ? null : p.hwmKb / 1024, 0),
      fmt(p.cpuS, 2),
      p.role === 'nginx' ? '-' : fmt(p.logBytes / 1048576, 1),
    ]),
    2,
  );
}

/**
 * Every variant row (`single+auth`, ...) against its base row (the same target without the
 * variant, same method, store and concurrency, same session): req/s ratio of the medians, the
 * ratio of each repeat's pair of runs (they ran next to each other), latency and CPU-per-request
 * ratios, and the variant's budget (plan.mjs VARIANTS; null: none) and whether it was met. A
 * flipped variant (metrics-off) is the reference instead: `target` is then the base row (metrics
 * on) and `base` the variant's, so the ratio says what the base's setting costs. `errors` are
 * those of the variant's row.
 */
export function compareVariants(rows, runs) {
  const out = [];
  const div = (a, b) => (typeof a === 'number' && typeof b === 'number' && b > 0 ? a / b : null);
  for (const row of rows) {
    if (row.baseline || isTasks(row)) continue;
    const { base, variant } = splitTarget(row.target);
    if (variant === null) continue;
    const same = (r, target) =>
      !r.baseline && r.method === row.method && r.store === row.store && r.concurrency === row.concurrency && r.target === target;
    const b = rows.find((r) => same(r, base));
    if (!b) continue;
    const { measures, budget, flipped } = VARIANTS[variant];
    const [measured, reference] = flipped ? [b, row] : [row, b];
    const perRepeat = runs
      .filter((r) => same(r, measured.target))
      .map((m) => div(m.load.rps, runs.find((r) => same(r, reference.target) && r.repeat === m.repeat)?.load.rps))
      .filter((x) => x !== null);
    const ratio = div(measured.rps.median, reference.rps.median);
    out.push({
      measures,
      target: measured.target,
      variant,
      base: reference.target,
      method: row.method,
      store: row.store,
      concurrency: row.concurrency,
      rps: measured.rps.median,
      baseRps: reference.rps.median,
      ratio,
      perRepeat,
      p50Ratio: div(measured.latencyMs.p50, reference.latencyMs.p50),
      p99Ratio: div(measured.latencyMs.p99, reference.latencyMs.p99),
      cpuPerRequestRatio: div(measured.cpuSPer1k, reference.cpuSPer1k),
      errors: row.errors,
      budget,
      within: budget === null || ratio === null ? null : ratio >= budget,
    });
  }
  return out;
}

/** The variant rows against their base rows (compareVariants). */
export function variantsTable(comparisons) {
  const headers = ['measures', 'row', 'store', 'vs', 'c', 'req/s', 'vs req/s', 'ratio', 'per repeat', 'p50', 'p99', 'CPU/req', 'budget'];
  return table(
    headers,
    comparisons.map((c) => [
      c.measures,
      c.target,
      c.store,
      c.base,
      c.concurrency,
      fmt(c.rps),
      fmt(c.baseRps),
      ratio(c.ratio),
      c.perRepeat.map(ratio).join(' ') || '-',
      ratio(c.p50Ratio),
      ratio(c.p99Ratio),
      ratio(c.cpuPerRequestRatio),
      c.budget === null ? '-' : `>=${c.budget.toFixed(2)}x ${c.within ? 'ok' : 'OUTSIDE'}`,
    ]),
    5,
  );
}

/** One line per variant row outside its budget (the bench flags it; it does not fail). */
export function budgetFlags(comparisons) {
  return comparisons
    .filter((c) => c.within === false)
    .map(
      (c) =>
        `FLAG: ${c.target} (${c.measures}: ${c.store}, ${c.method}, c=${c.concurrency}) reached ${ratio(c.ratio)} of ${c.base}'s req/s ` +
        `(per repeat ${c.perRepeat.map(ratio).join(', ')}; CPU per request ${ratio(c.cpuPerRequestRatio)}): ` +
        `outside its budget of >= ${c.budget.toFixed(2)}x (within ${Math.round((1 - c.budget) * 100)} %)`,
    );
}
