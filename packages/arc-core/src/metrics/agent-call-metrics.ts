/**
 * Metrics of the calls handlers make to other agents (calls/, `ctx.agents`), as the router's
 * AgentCallService observer:
 *
 *   arc_agent_calls_total{target,method,outcome}   counter; outcome "ok" or the ARC error code
 *                                                  ("-41003", …); a stream counts once, when it was
 *                                                  accepted or refused
 *   arc_agent_call_duration_seconds{target}        histogram, the call until its result (a stream:
 *                                                  until its answer)
 *   arc_circuit_breaker_state{target}              gauge: 0 closed, 1 half-open, 2 open (remote
 *                                                  targets with a breaker)
 *
 * Labels stay bounded: a target is an agent id (calls refuse other ids with -41004; those count
 * as "unknown"), and at most MAX_TARGETS of them, MAX_METHODS_PER_TARGET methods each, get their
 * own series — the rest share "other". A code outside the ARC table is "other" too.
 *
 * Same style as request-metrics.ts: a call adds to plain numbers in cells, handed to prom-client
 * when /metrics is scraped. This module is the only one of agent calls that knows prom-client.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AgentCallObserver } from '../calls/agent-call-service';
import { AGENT_ID } from '../calls/call-chain';
import type { BreakerState } from '../calls/circuit-breakers';
import { errorCodeInfo } from '../errors/codes';
import { BucketHistogram, type HistogramCell } from './bucket-histogram';
import { DURATION_BUCKETS, UNKNOWN_LABEL } from './request-metrics';

export const OTHER_LABEL = 'other';
/** Targets with series of their own; later ones share "other". */
export const MAX_TARGETS = 200;
/** Methods per target with series of their own; later ones share "other". */
export const MAX_METHODS_PER_TARGET = 32;
const METHOD_NAME = /^[A-Za-z0-9._:/-]{1,64}$/;

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

interface OutcomeCell {
  readonly outcome: string;
  count: number;
  flushed: number;
}

interface MethodCells {
  readonly method: string;
  /** Code (0 for ok) → cell. */
  readonly byOutcome: Map<number, OutcomeCell>;
}

interface TargetCells {
  readonly target: string;
  readonly duration: HistogramCell;
  readonly methods: Map<string, MethodCells>;
  breaker: number | undefined;
}

const OK = 0;
const OTHER_CODE = 1;

export class AgentCallMetrics implements AgentCallObserver {
  private readonly calls: Counter<'target' | 'method' | 'outcome'>;
  private readonly duration: BucketHistogram;
  private readonly targets = new Map<string, TargetCells>();

  constructor(registry: Registry) {
    const flush = (): void => this.flush();
    const targets = this.targets;
    this.calls = new Counter({
      name: 'arc_agent_calls_total',
      help: 'Calls from handlers to other agents, by target, method and outcome (ok, or the ARC error code)',
      labelNames: ['target', 'method', 'outcome'] as const,
      registers: [registry],
      collect: flush,
    });
    this.duration = new BucketHistogram({
      name: 'arc_agent_call_duration_seconds',
      help: 'Time of a call to another agent until its result (a stream: until its answer)',
      buckets: DURATION_BUCKETS,
      registers: [registry],
    });
    new Gauge({
      name: 'arc_circuit_breaker_state',
      help: 'Circuit breaker of calls to a remote agent: 0 closed, 1 half-open, 2 open',
      labelNames: ['target'] as const,
      registers: [registry],
      collect() {
        for (const cells of targets.values()) if (cells.breaker !== undefined) this.set({ target: cells.target }, cells.breaker);
      },
    });
  }

  onCallEnd(target: string, method: string, code: number | undefined, seconds: number): void {
    const cells = this.targetCells(target);
    cells.duration.observe(seconds);
    const byOutcome = this.methodCells(cells, method).byOutcome;
    const key = code === undefined ? OK : code;
    (byOutcome.get(key) ?? outcomeCell(byOutcome, key)).count++;
  }

  onBreakerState(target: string, state: BreakerState): void {
    this.targetCells(target).breaker = BREAKER_VALUE[state];
  }

  private targetCells(target: string): TargetCells {
    const found = this.targets.get(target);
    if (found !== undefined) return found;
    let label = target;
    if (!AGENT_ID.test(target)) label = UNKNOWN_LABEL;
    else if (this.targets.size >= MAX_TARGETS) label = OTHER_LABEL;
    let cells = this.targets.get(label);
    if (cells === undefined) {
      cells = { target: label, duration: this.duration.cell({ target: label }), methods: new Map(), breaker: undefined };
      this.targets.set(label, cells);
    }
    return cells;
  }

  private methodCells(cells: TargetCells, method: string): MethodCells {
    const found = cells.methods.get(method);
    if (found !== undefined) return found;
    const label = METHOD_NAME.test(method) && cells.methods.size < MAX_METHODS_PER_TARGET ? method : OTHER_LABEL;
    let m = cells.methods.get(label);
    if (m === undefined) {
      m = { method: label, byOutcome: new Map() };
      cells.methods.set(label, m);
    }
    return m;
  }

  /** At scrape time: what each cell counted since the last scrape, added to the prom-client counter. */
  private flush(): void {
    for (const cells of this.targets.values()) {
      for (const m of cells.methods.values()) {
        for (const cell of m.byOutcome.values()) {
          const delta = cell.count - cell.flushed;
          if (delta === 0) continue;
          this.calls.inc({ target: cells.target, method: m.method, outcome: cell.outcome }, delta);
          cell.flushed = cell.count;
        }
      }
    }
  }
}

function outcomeCell(byOutcome: Map<number, OutcomeCell>, key: number): OutcomeCell {
  // A code outside the ARC table shares one cell, so the Map stays bounded.
  if (key !== OK && errorCodeInfo(key) === undefined) {
    const other = byOutcome.get(OTHER_CODE);
    if (other !== undefined) return other;
    key = OTHER_CODE;
  }
  const cell = { outcome: key === OK ? 'ok' : key === OTHER_CODE ? OTHER_LABEL : String(key), count: 0, flushed: 0 };
  byOutcome.set(key, cell);
  return cell;
}
