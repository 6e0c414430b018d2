/**
 * The metrics behind /metrics without a server: BucketHistogram writes what prom-client's own
 * Histogram writes for the same observations, and RequestMetrics' labels stay bounded and its
 * counts exact across scrapes.
 */
import { Histogram, Registry } from 'prom-client';
import { BucketHistogram } from '../../src/metrics/bucket-histogram';
import { RequestMetrics } from '../../src/metrics/request-metrics';
import type { ResponseOutcome } from '../../src/router/hooks';
import type { RequestState } from '../../src/router/request-state';
import { parsePrometheusText } from './prometheus-text';

const BUCKETS = [0.01, 0.1, 1];

describe('BucketHistogram', () => {
  it("writes the same text as prom-client's Histogram for the same observations (bounds inclusive)", async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const fast = new BucketHistogram({ name: 'h_seconds', help: 'help text', buckets: BUCKETS, registers: [ours] });
    const reference = new Histogram({
      name: 'h_seconds',
      help: 'help text',
      labelNames: ['agent', 'method'],
      buckets: BUCKETS,
      registers: [theirs],
    });
    const observations: [string, string, number][] = [
      ['a', 'chat.start', 0.005],
      ['a', 'chat.start', 0.01],
      ['a', 'chat.start', 0.5],
      ['a', 'chat.start', 7],
      ['b', 'x', 0.1],
      ['b', 'x', 0],
    ];
    const cells = new Map<string, ReturnType<BucketHistogram['cell']>>();
    for (const [agent, method, value] of observations) {
      const key = `${agent} ${method}`;
      if (!cells.has(key)) cells.set(key, fast.cell({ agent, method }));
      cells.get(key)!.observe(value);
      reference.labels(agent, method).observe(value);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    const m = parsePrometheusText(await ours.metrics());
    expect(m.value('h_seconds_bucket', { agent: 'a', method: 'chat.start', le: '0.01' })).toBe(2);
    expect(m.value('h_seconds_bucket', { agent: 'a', method: 'chat.start', le: '+Inf' })).toBe(4);

    ours.resetMetrics();
    expect(parsePrometheusText(await ours.metrics()).value('h_seconds_count', { agent: 'a', method: 'chat.start' })).toBe(0);
  });

  it('refuses buckets that are not increasing', () => {
    expect(() => new BucketHistogram({ name: 'h', help: 'h', buckets: [1, 1], registers: [] })).toThrow(TypeError);
    expect(() => new BucketHistogram({ name: 'h', help: 'h', buckets: [], registers: [] })).toThrow(TypeError);
    expect(() => new BucketHistogram({ name: 'bad name', help: 'h', buckets: [1], registers: [] })).toThrow(TypeError);
  });
});

describe('RequestMetrics', () => {
  const state = (agentId: string, method: string) => ({ agentId, method }) as RequestState;
  const outcome = (code: number | undefined, transport: ResponseOutcome['transport'] = 'json'): ResponseOutcome => ({
    status: 200,
    code,
    transport,
    durationMs: 2,
  });

  it('labels results ok, cut streams aborted, codes outside the ARC table other; unrouted requests unknown', async () => {
    const registry = new Registry();
    const metrics = new RequestMetrics(registry, { inFlight: 3 });
    metrics.onResponse(state('a', 'chat.message'), outcome(undefined, 'stream'));
    metrics.onResponse(state('a', 'chat.message'), outcome(undefined, 'stream-aborted'));
    metrics.onResponse(state('a', 'chat.message'), outcome(-41006, 'stream'));
    for (let code = 1; code <= 50; code++) metrics.onResponse(state('a', 'custom'), outcome(-60000 - code));
    metrics.onResponse(state('', ''), outcome(-32700));
    metrics.onResponse(state('', ''), outcome(-44001));

    const m = parsePrometheusText(await registry.metrics());
    const series = m.samples
      .filter((s) => s.name === 'arc_requests_total')
      .map((s) => [s.labels.agent, s.labels.method, s.labels.code, s.value]);
    expect(series.sort()).toEqual(
      [
        ['a', 'chat.message', 'ok', 1],
        ['a', 'chat.message', 'aborted', 1],
        ['a', 'chat.message', '-41006', 1],
        ['a', 'custom', 'other', 50],
        ['unknown', 'unknown', '-32700', 1],
        ['unknown', 'unknown', '-44001', 1],
      ].sort(),
    );
    expect(m.value('arc_request_duration_seconds_count', { agent: 'unknown', method: 'unknown' })).toBe(2);
    expect(m.value('arc_request_duration_seconds_sum', { agent: 'a', method: 'custom' })).toBeCloseTo(0.1, 10);
    expect(m.value('arc_request_duration_seconds_bucket', { agent: 'a', method: 'custom', le: '0.001' })).toBe(0);
    expect(m.value('arc_request_duration_seconds_bucket', { agent: 'a', method: 'custom', le: '0.0025' })).toBe(50);
    expect(m.value('arc_requests_in_flight')).toBe(3);
  });

  it('adds only what was counted since the last scrape (no double counting)', async () => {
    const registry = new Registry();
    const metrics = new RequestMetrics(registry, { inFlight: 0 });
    const total = async () =>
      parsePrometheusText(await registry.metrics()).value('arc_requests_total', { agent: 'a', method: 'm', code: 'ok' });
    metrics.onResponse(state('a', 'm'), outcome(undefined));
    metrics.onResponse(state('a', 'm'), outcome(undefined));
    expect(await total()).toBe(2);
    expect(await total()).toBe(2);
    metrics.onResponse(state('a', 'm'), outcome(undefined));
    expect(await total()).toBe(3);
  });
});
