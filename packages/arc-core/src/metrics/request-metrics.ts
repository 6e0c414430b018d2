/**
 * Request metrics from the router's onResponse hook (router/hooks.ts), once per exchange, streams
 * included:
 *
 *   arc_requests_total{agent,method,code}        counter; code "ok" for a result, "aborted" for a
 *                                                stream the caller left, else the ARC error code
 *   arc_request_duration_seconds{agent,method}   histogram, from arrival to the reply (or the
 *                                                stream's end)
 *   arc_requests_in_flight                       gauge, read from the router when scraped
 *
 * Label values are bounded whatever a client sends: agent and method are those routing found
 * (a registered agent, a method it serves), "unknown" before routing (an unknown agent or
 * method, an invalid envelope, a refused token); a code outside the ARC table is "other".
 *
 * The hook is on the hot path, and prom-client's `inc`/`observe` hash and validate the labels
 * on every call (about 1 µs each). So the hook only adds to plain numbers in cells kept in
 * nested Maps (agent → method → code), and the counts reach prom-client when /metrics is
 * scraped: the counter's `collect` adds what each cell gained since the last scrape, and the
 * histogram is a BucketHistogram over the same cells. Nothing is allocated after a
 * combination's first request.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { errorCodeInfo } from '../errors/codes';
import type { ResponseOutcome } from '../router/hooks';
import type { RequestState } from '../router/request-state';
import { BucketHistogram, type HistogramCell } from './bucket-histogram';

/** Seconds; from a cached reply (1 ms) to the default handler timeout (120 s). */
export const DURATION_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export const UNKNOWN_LABEL = 'unknown';

/** Code keys besides ARC codes (all negative): a result, a stream cut before its end, a code outside the table. */
const OK = 0;
const ABORTED = 1;
const OTHER = 2;

/** Requests of one (agent, method, code): counted here, handed to the prom-client counter when scraped. */
interface CodeCell {
  readonly code: string;
  count: number;
  flushed: number;
}

/** One (agent, method): its duration cell and a cell per code. */
interface MethodCells {
  readonly agent: string;
  readonly method: string;
  readonly duration: HistogramCell;
  readonly byCode: Map<number, CodeCell>;
}

/** Where the router's in-flight count is read. */
export interface InFlightSource {
  readonly inFlight: number;
}

export class RequestMetrics {
  private readonly requests: Counter<'agent' | 'method' | 'code'>;
  private readonly duration: BucketHistogram;
  private readonly cells = new Map<string, Map<string, MethodCells>>();
  private readonly all: MethodCells[] = [];
  private unknown: MethodCells | undefined;

  constructor(registry: Registry, router: InFlightSource) {
    const flush = (): void => this.flush();
    this.requests = new Counter({
      name: 'arc_requests_total',
      help: 'ARC requests answered, by agent, method and outcome (ok, aborted, or the ARC error code)',
      labelNames: ['agent', 'method', 'code'] as const,
      registers: [registry],
      collect: flush,
    });
    this.duration = new BucketHistogram({
      name: 'arc_request_duration_seconds',
      help: 'Time from an ARC request arriving to its reply, or to the end of its stream',
      buckets: DURATION_BUCKETS,
      registers: [registry],
    });
    new Gauge({
      name: 'arc_requests_in_flight',
      help: 'ARC requests being handled (streams until they end)',
      registers: [registry],
      collect() {
        this.set(router.inFlight);
      },
    });
  }

  /** The onResponse hook; bound, so it can be handed to `router.addHook` as is. */
  readonly onResponse = (request: RequestState, outcome: ResponseOutcome): void => {
    const cells = this.cellsFor(request.agentId, request.method);
    const code = outcome.code;
    const key = code === undefined ? (outcome.transport === 'stream-aborted' ? ABORTED : OK) : code;
    const cell = cells.byCode.get(key) ?? this.codeCell(cells, key);
    cell.count++;
    cells.duration.observe(outcome.durationMs / 1000);
  };

  private cellsFor(agentId: string, method: string): MethodCells {
    // Routing fills both or neither; an empty one means the request was not routed.
    if (agentId === '' || method === '') return (this.unknown ??= this.newCells(UNKNOWN_LABEL, UNKNOWN_LABEL));
    let byMethod = this.cells.get(agentId);
    if (byMethod === undefined) {
      byMethod = new Map();
      this.cells.set(agentId, byMethod);
    }
    let cells = byMethod.get(method);
    if (cells === undefined) {
      cells = this.newCells(agentId, method);
      byMethod.set(method, cells);
    }
    return cells;
  }

  private newCells(agent: string, method: string): MethodCells {
    const cells = { agent, method, duration: this.duration.cell({ agent, method }), byCode: new Map<number, CodeCell>() };
    this.all.push(cells);
    return cells;
  }

  private codeCell(cells: MethodCells, key: number): CodeCell {
    // A code outside the ARC table shares one cell, so the Map stays bounded too.
    if (key !== OK && key !== ABORTED && errorCodeInfo(key) === undefined) {
      const other = cells.byCode.get(OTHER);
      if (other !== undefined) return other;
      key = OTHER;
    }
    const cell = { code: codeLabel(key), count: 0, flushed: 0 };
    cells.byCode.set(key, cell);
    return cell;
  }

  /** At scrape time: what each cell counted since the last scrape, added to the prom-client counter. */
  private flush(): void {
    for (const cells of this.all) {
      for (const cell of cells.byCode.values()) {
        const delta = cell.count - cell.flushed;
        if (delta === 0) continue;
        this.requests.inc({ agent: cells.agent, method: cells.method, code: cell.code }, delta);
        cell.flushed = cell.count;
      }
    }
  }
}

function codeLabel(key: number): string {
  if (key === OK) return 'ok';
  if (key === ABORTED) return 'aborted';
  if (key === OTHER) return 'other';
  return String(key);
}
