/**
 * A Prometheus histogram whose hot path is a few arithmetic operations: each label set is a
 * cell with plain counters (no label hashing, no validation, no allocation per observation, as
 * prom-client's Histogram does on every `observe`), exported in prom-client's format when the
 * registry is scraped. Registered on a prom-client Registry like any metric, so it appears in
 * `registry.metrics()` next to prom-client's own.
 */
import type { Registry } from 'prom-client';

/** One label set: per-bucket counts (not cumulative; the last one is +Inf), sum and count. */
export class HistogramCell {
  count = 0;
  sum = 0;
  private readonly counts: Float64Array;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]! += 1;
    this.sum += value;
    this.count += 1;
  }

  /** Observations in bucket i alone: above bounds[i - 1], at most bounds[i]. */
  bucketCount(i: number): number {
    return this.counts[i]!;
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

export interface BucketHistogramOptions {
  name: string;
  help: string;
  /** Upper bounds, increasing; +Inf is implied. */
  buckets: readonly number[];
  registers: Registry[];
}

interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

export class BucketHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly bounds: readonly number[];
  private readonly cells: HistogramCell[] = [];

  constructor(options: BucketHistogramOptions) {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(options.name)) throw new TypeError(`Invalid metric name: ${options.name}`);
    const b = options.buckets;
    if (b.length === 0 || b.some((x, i) => !Number.isFinite(x) || (i > 0 && x <= b[i - 1]!)))
      throw new TypeError('Histogram buckets must be finite and increasing');
    this.name = options.name;
    this.help = options.help;
    this.bounds = [...b];
    // Registry#registerMetric reads name/help/type and calls get(); prom-client's own metric
    // classes are not required (its typings name one, hence the cast).
    for (const registry of options.registers) registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** A new cell for this label set; the caller keeps it (one per label set). */
  cell(labels: Record<string, string>): HistogramCell {
    const cell = new HistogramCell({ ...labels }, this.bounds);
    this.cells.push(cell);
    return cell;
  }

  /** The samples in prom-client's format: cumulative buckets, +Inf, sum and count per cell. */
  get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: Sample[] }> {
    const values: Sample[] = [];
    const bucket = `${this.name}_bucket`;
    for (const cell of this.cells) {
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += cell.bucketCount(i);
        values.push({ labels: { le: this.bounds[i]!, ...cell.labels }, value: acc, metricName: bucket });
      }
      values.push({ labels: { le: '+Inf', ...cell.labels }, value: cell.count, metricName: bucket });
      values.push({ labels: { ...cell.labels }, value: cell.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...cell.labels }, value: cell.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  /** Registry#resetMetrics: every cell back to zero (cells stay, so callers' references stay valid). */
  reset(): void {
    for (const cell of this.cells) cell.reset();
  }
}
