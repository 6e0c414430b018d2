/**
 * Agent-call metrics (metrics/agent-call-metrics.ts): arc_agent_calls_total,
 * arc_agent_call_duration_seconds and arc_circuit_breaker_state — exact values and bounded
 * labels without a server, then on GET /metrics after calls in process and over HTTP.
 */
import { Registry } from 'prom-client';
import { AgentCallError } from '../../src/calls/errors';
import { createArcServer, type ArcServer } from '../../src/express';
import { AgentCallMetrics, MAX_METHODS_PER_TARGET, MAX_TARGETS } from '../../src/metrics/agent-call-metrics';
import { ArcAgent } from '../../src/router/agent';
import { freePort, httpRequest, postJson } from '../support/http';
import { envelope } from '../support/util';
import { parsePrometheusText, type Scrape } from '../metrics/prometheus-text';

async function read(registry: Registry): Promise<Scrape> {
  return parsePrometheusText(await registry.metrics());
}

describe('AgentCallMetrics', () => {
  it('counts by target, method and outcome, observes durations per target, across scrapes', async () => {
    const registry = new Registry();
    const metrics = new AgentCallMetrics(registry);
    metrics.onCallEnd('hr-agent', 'chat.start', undefined, 0.004);
    metrics.onCallEnd('hr-agent', 'chat.start', undefined, 0.2);
    metrics.onCallEnd('hr-agent', 'chat.start', -41003, 3);
    metrics.onCallEnd('hr-agent', 'task.create', -43001, 0.01);
    let m = await read(registry);
    expect(m.types.get('arc_agent_calls_total')).toBe('counter');
    expect(m.value('arc_agent_calls_total', { target: 'hr-agent', method: 'chat.start', outcome: 'ok' })).toBe(2);
    expect(m.value('arc_agent_calls_total', { target: 'hr-agent', method: 'chat.start', outcome: '-41003' })).toBe(1);
    expect(m.value('arc_agent_calls_total', { target: 'hr-agent', method: 'task.create', outcome: '-43001' })).toBe(1);
    expect(m.types.get('arc_agent_call_duration_seconds')).toBe('histogram');
    expect(m.value('arc_agent_call_duration_seconds_count', { target: 'hr-agent' })).toBe(4);
    expect(m.value('arc_agent_call_duration_seconds_bucket', { target: 'hr-agent', le: '0.005' })).toBe(1);
    expect(m.value('arc_agent_call_duration_seconds_bucket', { target: 'hr-agent', le: '2.5' })).toBe(3);
    expect(m.value('arc_agent_call_duration_seconds_sum', { target: 'hr-agent' })).toBeCloseTo(3.214, 6);

    metrics.onCallEnd('hr-agent', 'chat.start', undefined, 0.1);
    m = await read(registry);
    expect(m.value('arc_agent_calls_total', { target: 'hr-agent', method: 'chat.start', outcome: 'ok' })).toBe(3);
  });

  it('breaker state gauge: 0 closed, 1 half-open, 2 open, per target', async () => {
    const registry = new Registry();
    const metrics = new AgentCallMetrics(registry);
    metrics.onBreakerState('hr-agent', 'closed');
    metrics.onBreakerState('finance-agent', 'closed');
    metrics.onBreakerState('hr-agent', 'open');
    let m = await read(registry);
    expect(m.types.get('arc_circuit_breaker_state')).toBe('gauge');
    expect(m.value('arc_circuit_breaker_state', { target: 'hr-agent' })).toBe(2);
    expect(m.value('arc_circuit_breaker_state', { target: 'finance-agent' })).toBe(0);
    metrics.onBreakerState('hr-agent', 'half-open');
    m = await read(registry);
    expect(m.value('arc_circuit_breaker_state', { target: 'hr-agent' })).toBe(1);
    // A target only called in process has no breaker series.
    metrics.onCallEnd('local-agent', 'x', undefined, 0.001);
    expect((await read(registry)).value('arc_circuit_breaker_state', { target: 'local-agent' })).toBeUndefined();
  });

  it('labels stay bounded: invalid ids "unknown", targets and methods past the cap and codes outside the table "other"', async () => {
    const registry = new Registry();
    const metrics = new AgentCallMetrics(registry);
    metrics.onCallEnd('not an id!', 'chat.start', -41004, 0.001);
    for (let i = 0; i < MAX_TARGETS + 50; i++) metrics.onCallEnd(`agent-${i}`, 'chat.start', undefined, 0.001);
    for (let i = 0; i < MAX_METHODS_PER_TARGET + 10; i++) metrics.onCallEnd('agent-0', `m${i}`, undefined, 0.001);
    metrics.onCallEnd('agent-0', 'weird method name with spaces', undefined, 0.001);
    metrics.onCallEnd('agent-1', 'chat.start', -49999, 0.001);
    metrics.onCallEnd('agent-1', 'chat.start', -49998, 0.001);
    const m = await read(registry);
    const calls = m.samples.filter((s) => s.name === 'arc_agent_calls_total');
    const targets = new Set(calls.map((s) => s.labels.target));
    expect(targets.size).toBe(MAX_TARGETS + 1); // the cap reached with "unknown" and 199 agents, then "other"
    expect(m.value('arc_agent_calls_total', { target: 'unknown', method: 'chat.start', outcome: '-41004' })).toBe(1);
    expect(m.value('arc_agent_calls_total', { target: 'other', method: 'chat.start', outcome: 'ok' })).toBe(51);
    const methodsOf0 = new Set(calls.filter((s) => s.labels.target === 'agent-0').map((s) => s.labels.method));
    expect(methodsOf0.size).toBe(MAX_METHODS_PER_TARGET + 1);
    expect(m.value('arc_agent_calls_total', { target: 'agent-0', method: 'other', outcome: 'ok' })).toBe(12);
    expect(m.value('arc_agent_calls_total', { target: 'agent-1', method: 'chat.start', outcome: 'other' })).toBe(2);
    expect(m.samples.filter((s) => s.name === 'arc_agent_call_duration_seconds_count')).toHaveLength(MAX_TARGETS + 1);
  });
});

describe('agent-call metrics on GET /metrics', () => {
  let server: ArcServer;
  let url: string;

  beforeAll(async () => {
    const gone = `http://127.0.0.1:${await freePort()}/arc`;
    server = createArcServer({
      serverId: 'call-metrics',
      metrics: true,
      agentCalls: { routes: { 'gone-agent': gone }, breaker: { failureThreshold: 2, resetTimeoutMs: 60_000 } },
    });
    server.addAgent(
      new ArcAgent('hr-agent')
        .on('chat.start', () => 'hello')
        .on('chat.message', async function* () {
          yield 'streamed';
        }),
    );
    server.addAgent(
      new ArcAgent('front').on('run', async (p, ctx) => {
        const { target, method } = p as { target: string; method: string };
        try {
          if (method === 'stream') {
            for await (const chunk of await ctx.agents.chat.startStream(target, 'hi')) void chunk;
          } else
            await ctx.agents.request(
              target,
              method,
              method === 'chat.start' ? { initialMessage: { role: 'user', parts: [{ type: 'TextPart', content: 'x' }] } } : {},
            );
          return 'ok';
        } catch (err) {
          return (err as AgentCallError).code;
        }
      }),
    );
    ({ url } = await server.listen(0, '127.0.0.1'));
  });

  afterAll(() => server.close({ graceMs: 1000 }));

  const run = async (target: string, method: string) =>
    (await postJson(url, envelope('run', { target, method }, { targetAgent: 'front' }))).json().result;

  it('counts calls in process and over HTTP by outcome, and shows the breaker opening', async () => {
    expect(await run('hr-agent', 'chat.start')).toBe('ok');
    expect(await run('hr-agent', 'chat.start')).toBe('ok');
    expect(await run('hr-agent', 'stream')).toBe('ok');
    expect(await run('hr-agent', 'no.such')).toBe(-32601);
    expect(await run('gone-agent', 'chat.start')).toBe(-41003);
    expect(await run('gone-agent', 'chat.start')).toBe(-41003); // opens it
    expect(await run('gone-agent', 'chat.start')).toBe(-41003); // refused by the breaker
    expect(await run('nobody', 'chat.start')).toBe(-41001);

    const res = await httpRequest(url, { method: 'GET', path: '/metrics' });
    const m = parsePrometheusText(res.text);
    const calls = (target: string, method: string, outcome: string) => m.value('arc_agent_calls_total', { target, method, outcome });
    expect(calls('hr-agent', 'chat.start', 'ok')).toBe(3);
    expect(calls('hr-agent', 'no.such', '-32601')).toBe(1);
    expect(calls('gone-agent', 'chat.start', '-41003')).toBe(3);
    expect(calls('nobody', 'chat.start', '-41001')).toBe(1);
    expect(m.value('arc_agent_call_duration_seconds_count', { target: 'hr-agent' })).toBe(4);
    expect(m.value('arc_agent_call_duration_seconds_count', { target: 'gone-agent' })).toBe(3);
    expect(m.value('arc_circuit_breaker_state', { target: 'gone-agent' })).toBe(2);
    expect(m.value('arc_circuit_breaker_state', { target: 'hr-agent' })).toBeUndefined();
  });
});
