/**
 * Agent calls traced end to end (needs the agent-call-service.ts patch): `ctx.agents` gives each
 * call a CLIENT span under the request's SERVER span, and the callee's SERVER span (in process,
 * or in another server over HTTP) is the client span's child, all in one trace.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { createArcServer } from '../../src/express';
import { ArcAgent } from '../../src/router/agent';
import { postJson } from '../support/http';
import { envelope, userMessage } from '../support/util';
import { INCOMING, closedAfterEach, memoryTracing } from './memory-tracing';

const listening = closedAfterEach();

const ask = (url: string, target: string) =>
  postJson(url, envelope('chat.start', { initialMessage: userMessage('hi') }, { targetAgent: target, traceId: 'arc-calls-1' }), {
    'Content-Type': 'application/json',
    traceparent: INCOMING.header,
  });

describe('agent call spans', () => {
  it('a request without traceId or traceparent takes its span trace-id as its traceId: logs and trace share one id', async () => {
    const tracing = memoryTracing();
    let seenByCallee: string | undefined;
    const server = createArcServer({ serverId: 'one', tracing: tracing.provider })
      .addAgent(
        new ArcAgent('hr-agent').on('chat.start', (_p, ctx) => {
          seenByCallee = ctx.traceId;
          return 'Hello from HR';
        }),
      )
      .addAgent(
        new ArcAgent('supervisor').on('chat.start', async (_p, ctx) => (await ctx.agents.chat.start('hr-agent', 'hi')).chat.message!),
      );
    const res = await postJson(
      await listening(server),
      envelope('chat.start', { initialMessage: userMessage('hi') }, { targetAgent: 'supervisor' }),
    );
    expect(res.json().error).toBeNull();
    expect(res.json()).not.toHaveProperty('traceId'); // echoed only when the request carried one
    const root = tracing.span('supervisor/chat.start');
    expect(root.parentSpanContext).toBeUndefined();
    expect(seenByCallee).toBe(root.spanContext().traceId);
    for (const s of tracing.spans()) expect(s.spanContext().traceId).toBe(root.spanContext().traceId);
  });

  it('in process: server → client → callee server, one trace', async () => {
    const tracing = memoryTracing();
    const server = createArcServer({ serverId: 'one', tracing: tracing.provider })
      .addAgent(new ArcAgent('hr-agent').on('chat.start', () => 'Hello from HR'))
      .addAgent(
        new ArcAgent('supervisor').on('chat.start', async (_p, ctx) => {
          const res = await ctx.agents.chat.start('hr-agent', 'hi');
          await ctx.agents.chat.start('nobody', 'hi').catch(() => undefined); // refused before sending: no span
          await ctx.agents.request('hr-agent', 'no.such.method').catch(() => undefined);
          return res.chat.message!;
        }),
      );
    const res = await ask(await listening(server), 'supervisor');
    expect(res.json().error).toBeNull();
    const spans = tracing.spans();
    const root = spans.find((s) => s.name === 'supervisor/chat.start')!;
    const clients = spans.filter((s) => s.kind === SpanKind.CLIENT);
    expect(clients.map((s) => s.name)).toEqual(['hr-agent/chat.start', 'hr-agent/no.such.method']);
    const [ok, failed] = clients;
    const callee = spans.find((s) => s.kind === SpanKind.SERVER && s.name === 'hr-agent/chat.start')!;
    for (const s of spans) expect(s.spanContext().traceId).toBe(INCOMING.traceId);
    expect(root.parentSpanContext?.spanId).toBe(INCOMING.spanId);
    expect(ok!.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect(callee.parentSpanContext?.spanId).toBe(ok!.spanContext().spanId);
    expect(ok!.attributes).toMatchObject({
      'arc.request_agent': 'supervisor',
      'arc.target_agent': 'hr-agent',
      'arc.trace_id': 'arc-calls-1',
    });
    expect(failed!.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed!.attributes['arc.error_code']).toBe(-32601);
  });

  it('over HTTP: the callee server (its own tracer) gets the client span as parent', async () => {
    const calleeTracing = memoryTracing();
    const callee = createArcServer({ serverId: 'hr', tracing: calleeTracing.provider }).addAgent(
      new ArcAgent('hr-agent').on('chat.start', () => 'Hello from HR'),
    );
    const calleeUrl = await listening(callee);
    const tracing = memoryTracing();
    const caller = createArcServer({
      serverId: 'sup',
      tracing: tracing.provider,
      agentCalls: { routes: { 'hr-agent': `${calleeUrl}/arc` } },
    }).addAgent(
      new ArcAgent('supervisor').on('chat.start', async (_p, ctx) => (await ctx.agents.chat.start('hr-agent', 'hi')).chat.message!),
    );
    const res = await ask(await listening(caller), 'supervisor');
    expect(res.json().error).toBeNull();
    const client = tracing.spans().find((s) => s.kind === SpanKind.CLIENT)!;
    const server = calleeTracing.span('hr-agent/chat.start');
    expect(server.spanContext().traceId).toBe(INCOMING.traceId);
    expect(server.parentSpanContext?.spanId).toBe(client.spanContext().spanId);
    expect(server.attributes['arc.request_agent']).toBe('supervisor');
  });
});
