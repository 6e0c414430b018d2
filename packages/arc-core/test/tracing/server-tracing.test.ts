/**
 * ArcServer's `tracing` option over HTTP (port 0): a TracerProvider or a `{ tracer, shutdown }`,
 * the traceparent header reaching the span, flush / shutdown on close; no hook without it.
 */
import { SpanKind } from '@opentelemetry/api';
import { createArcServer } from '../../src/express';
import { ArcAgent } from '../../src/router/agent';
import { postJson } from '../support/http';
import { envelope, userMessage } from '../support/util';
import { INCOMING, closedAfterEach, memoryTracing } from './memory-tracing';

const agent = () => new ArcAgent('finance-agent').on('chat.start', () => 'Welcome');
const chatStart = () => envelope('chat.start', { initialMessage: userMessage('hi') }, { targetAgent: 'finance-agent', traceId: 'arc-42' });

const listening = closedAfterEach();

describe('ArcServer tracing option', () => {
  it('with a TracerProvider: a server span per POST /arc, child of its traceparent header; the provider is flushed on close, not shut down', async () => {
    const tracing = memoryTracing();
    const forceFlush = jest.spyOn(tracing.provider, 'forceFlush');
    const shutdown = jest.spyOn(tracing.provider, 'shutdown');
    const server = createArcServer({ serverId: 'traced', tracing: tracing.provider }).addAgent(agent());
    const url = await listening(server);
    const res = await postJson(url, chatStart(), { 'Content-Type': 'application/json', traceparent: INCOMING.header });
    expect(res.json().error).toBeNull();

    const span = tracing.span('finance-agent/chat.start');
    expect(span.kind).toBe(SpanKind.SERVER);
    expect(span.spanContext().traceId).toBe(INCOMING.traceId);
    expect(span.parentSpanContext?.spanId).toBe(INCOMING.spanId);
    expect(span.attributes['arc.trace_id']).toBe('arc-42');
    expect(span.instrumentationScope.name).toBe('@arc/core');
    expect(span.instrumentationScope.version).toMatch(/^\d+\.\d+\.\d+/);

    await server.close({ graceMs: 0 });
    listening.forget(server);
    expect(forceFlush).toHaveBeenCalledTimes(1);
    expect(shutdown).not.toHaveBeenCalled();
  });

  it('with { tracer, shutdown }: the tracer is used and shutdown runs once the server has closed', async () => {
    const tracing = memoryTracing();
    const order: string[] = [];
    const server = createArcServer({
      serverId: 'traced',
      tracing: {
        tracer: tracing.tracer,
        shutdown: async () => {
          order.push(`shutdown:${server.httpServer?.listening === false ? 'closed' : 'open'}`);
        },
      },
    }).addAgent(agent());
    const url = await listening(server);
    await postJson(url, chatStart());
    expect(tracing.spans().map((s) => s.name)).toEqual(['finance-agent/chat.start']);
    await server.close({ graceMs: 0 });
    listening.forget(server);
    expect(order).toEqual(['shutdown:closed']);
  });

  it('a request refused for its token (auth on) still has its span', async () => {
    const tracing = memoryTracing();
    const server = createArcServer({
      serverId: 'traced',
      tracing: tracing.provider,
      auth: { secret: 'x'.repeat(32) },
      rateLimits: { caller: '100/1s' },
    }).addAgent(agent());
    const url = await listening(server);
    const res = await postJson(url, chatStart());
    expect(res.json().error.code).toBe(-44001);
    const span = tracing.span('arc');
    expect(span.attributes['arc.error_code']).toBe(-44001);
  });

  it('without the option (and without metrics) no hook is installed: the pipeline is the untraced one', async () => {
    const server = createArcServer({ serverId: 'plain' }).addAgent(agent());
    expect(server.router.hooks).toMatchObject({ onRequest: null, preHandler: null, onSend: null, onError: null, onResponse: null });
    await server.close({ graceMs: 0 });
  });
});
