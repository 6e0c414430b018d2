/**
 * GET /metrics on a real ArcServer (port 0) after a known workload: exact counts by agent,
 * method and code, histogram counts, in flight while a request is held, bounded labels for
 * unknown agents and codes, process metrics, and one registry per server.
 */
import { ArcError } from '../../src/errors/arc-error';
import { createArcServer, type ArcServer } from '../../src/express';
import { ArcAgent } from '../../src/router/agent';
import { httpRequest, postJson, type RawResponse } from '../support/http';
import { deferred, envelope, userMessage, type Deferred } from '../support/util';
import { parsePrometheusText, type Scrape } from './prometheus-text';

const AGENT = 'finance-agent';

async function scrape(url: string): Promise<Scrape> {
  const res = await httpRequest(url, { method: 'GET', path: '/metrics' });
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheusText(res.text);
}

const call = (url: string, method: string, params: unknown, extra: Record<string, unknown> = {}): Promise<RawResponse> =>
  postJson(url, envelope(method, params, { targetAgent: AGENT, ...extra }));

describe('GET /metrics after a known workload', () => {
  let server: ArcServer;
  let url: string;
  let gate: Deferred;
  let entered: Deferred;

  beforeAll(async () => {
    gate = deferred();
    entered = deferred();
    server = createArcServer({ serverId: 'metrics-test', metrics: true });
    server.addAgent(
      new ArcAgent(AGENT)
        .on('chat.start', () => 'Welcome')
        .on('chat.message', async function* () {
          yield 'one ';
          yield 'two';
        })
        .on('odd', () => {
          throw new ArcError(-49999, 'a code outside the ARC table');
        })
        .on('hold', async () => {
          entered.resolve();
          await gate.promise;
          return { held: true };
        }),
    );
    ({ url } = await server.listen(0, '127.0.0.1'));

    for (let i = 0; i < 3; i++) {
      const res = await call(url, 'chat.start', { initialMessage: userMessage('hi'), chatId: `chat-${i}` }, { id: `start-${i}` });
      expect(res.json().error).toBeNull();
    }
    const unknownChat = await call(url, 'chat.message', { chatId: 'no-such-chat', message: userMessage('x') });
    expect(unknownChat.json().error.code).toBe(-43001);
    const unknownAgent = await call(url, 'chat.start', { initialMessage: userMessage('hi') }, { targetAgent: 'agent-x1' });
    expect(unknownAgent.json().error.code).toBe(-41001);
    const unknownMethod = await call(url, 'no.such.method', {});
    expect(unknownMethod.json().error.code).toBe(-32601);
    const stream = await call(url, 'chat.message', { chatId: 'chat-0', message: userMessage('x'), stream: true });
    expect(stream.status).toBe(200);
    expect(stream.text).toContain('event: done');
    const odd = await call(url, 'odd', {});
    expect(odd.json().error.code).toBe(-49999);
  });

  afterAll(async () => {
    gate.resolve();
    await server.close({ graceMs: 1000 });
  });

  it('counts requests by agent, method and code, unknown agents and methods under "unknown"', async () => {
    const m = await scrape(url);
    expect(m.types.get('arc_requests_total')).toBe('counter');
    const requests = m.samples.filter((s) => s.name === 'arc_requests_total');
    expect(requests.map((s) => [s.labels.agent, s.labels.method, s.labels.code, s.value]).sort()).toEqual(
      [
        [AGENT, 'chat.start', 'ok', 3],
        [AGENT, 'chat.message', '-43001', 1],
        [AGENT, 'chat.message', 'ok', 1],
        [AGENT, 'odd', 'other', 1],
        ['unknown', 'unknown', '-41001', 1],
        ['unknown', 'unknown', '-32601', 1],
      ].sort(),
    );
  });

  it('observes every exchange in the duration histogram, streams included', async () => {
    const m = await scrape(url);
    expect(m.types.get('arc_request_duration_seconds')).toBe('histogram');
    const count = (agent: string, method: string) => m.value('arc_request_duration_seconds_count', { agent, method });
    expect(count(AGENT, 'chat.start')).toBe(3);
    expect(count(AGENT, 'chat.message')).toBe(2);
    expect(count(AGENT, 'odd')).toBe(1);
    expect(count('unknown', 'unknown')).toBe(2);
    expect(m.value('arc_request_duration_seconds_bucket', { agent: AGENT, method: 'chat.start', le: '+Inf' })).toBe(3);
    const sum = m.value('arc_request_duration_seconds_sum', { agent: AGENT, method: 'chat.start' })!;
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(10);
  });

  it('shows requests in flight while a handler runs, and none after', async () => {
    expect((await scrape(url)).value('arc_requests_in_flight')).toBe(0);
    const held = call(url, 'hold', {});
    await entered.promise;
    expect((await scrape(url)).value('arc_requests_in_flight')).toBe(1);
    gate.resolve();
    expect((await held).json().result).toEqual({ held: true });
    const after = await scrape(url);
    expect(after.value('arc_requests_in_flight')).toBe(0);
    expect(after.value('arc_requests_total', { agent: AGENT, method: 'hold', code: 'ok' })).toBe(1);
  });

  it("includes prom-client's process metrics under their default names", async () => {
    const m = await scrape(url);
    expect(m.types.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(m.types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
    expect(m.types.get('nodejs_heap_size_used_bytes')).toBe('gauge');
  });

  it('keeps a registry per server: a second server in the process counts only its own requests', async () => {
    const other = createArcServer({ serverId: 'metrics-test-2', metrics: { defaultMetrics: false } });
    other.addAgent(new ArcAgent(AGENT).on('chat.start', () => 'Hi'));
    const { url: otherUrl } = await other.listen(0, '127.0.0.1');
    try {
      await call(otherUrl, 'chat.start', { initialMessage: userMessage('hi') });
      const m = await scrape(otherUrl);
      expect(m.value('arc_requests_total', { agent: AGENT, method: 'chat.start', code: 'ok' })).toBe(1);
      expect(m.types.has('process_cpu_user_seconds_total')).toBe(false);
      expect(other.metrics).not.toBe(server.metrics);
      expect((await scrape(url)).value('arc_requests_total', { agent: AGENT, method: 'chat.start', code: 'ok' })).toBe(3);
    } finally {
      await other.close({ graceMs: 1000 });
    }
  });

  it('does not count the scrapes themselves or other routes', async () => {
    await httpRequest(url, { method: 'GET', path: '/health' });
    const m = await scrape(url);
    const total = m.samples.filter((s) => s.name === 'arc_requests_total').reduce((n, s) => n + s.value, 0);
    expect(total).toBe(9);
  });
});

describe('without the metrics option', () => {
  it('GET /metrics is an ARC 404 and no hook is installed', async () => {
    const server = createArcServer({ serverId: 'no-metrics' });
    const { url } = await server.listen(0, '127.0.0.1');
    try {
      const res = await httpRequest(url, { method: 'GET', path: '/metrics' });
      expect(res.status).toBe(404);
      expect(res.json().error.code).toBe(-32600);
      expect(server.metrics).toBeUndefined();
    } finally {
      await server.close({ graceMs: 1000 });
    }
  });
});
