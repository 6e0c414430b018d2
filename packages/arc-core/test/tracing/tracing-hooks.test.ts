/**
 * The tracing hooks on a router (tracing/tracing-hooks.ts): one SERVER span per request, named and
 * attributed per the RPC conventions, child of an incoming traceparent, ERROR for ARC errors,
 * ended when a stream ends; and no hook at all when tracing is off.
 */
import { SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { AlwaysOffSampler } from '@opentelemetry/sdk-trace-base';
import { ArcError } from '../../src/errors/arc-error';
import { ArcErrorCode } from '../../src/errors/codes';
import { ArcAgent } from '../../src/router/agent';
import { ArcRouter } from '../../src/router/router';
import type { RequestState } from '../../src/router/request-state';
import { installTracing } from '../../src/tracing/tracing-hooks';
import { requestTrace } from '../../src/tracing/request-trace';
import { deferred, envelope, jsonReply, streamEvents, userMessage } from '../support/util';
import { INCOMING, memoryTracing, parseTraceparentHeader, type MemoryTracing } from './memory-tracing';

const routers: ArcRouter[] = [];
afterAll(async () => {
  for (const r of routers) await r.close();
});

function tracedRouter(tracing: MemoryTracing = memoryTracing()): { router: ArcRouter; tracing: MemoryTracing } {
  const router = new ArcRouter({ serverId: 'trace-server' });
  router.addAgent(
    new ArcAgent('agent-a')
      .on('chat.start', () => 'hi')
      .on('chat.message', async function* () {
        yield 'one';
        yield 'two';
      })
      .on('fail', () => {
        throw new ArcError(ArcErrorCode.PermissionDenied, 'not you');
      })
      .on('boom', () => {
        throw new Error('a bug');
      }),
  );
  installTracing(router, tracing.tracer);
  routers.push(router);
  return { router, tracing };
}

const start = (extra: Record<string, unknown> = {}) => envelope('chat.start', { initialMessage: userMessage('hello') }, extra);

describe('server spans', () => {
  it('one SERVER span per request: name <agent>/<method>, RPC and ARC attributes, status unset', async () => {
    const { router, tracing } = tracedRouter();
    const r = await jsonReply(router.handle(start({ id: 'req-7', traceId: 'arc-trace-1' })));
    expect(r.body.error).toBeNull();
    expect(tracing.spans()).toHaveLength(1);
    const span = tracing.span('agent-a/chat.start');
    expect(span.kind).toBe(SpanKind.SERVER);
    expect(span.attributes).toEqual({
      'rpc.system': 'arc',
      'rpc.service': 'agent-a',
      'rpc.method': 'chat.start',
      'arc.target_agent': 'agent-a',
      'arc.request_agent': 'tester',
      'arc.request_id': 'req-7',
      'arc.trace_id': 'arc-trace-1',
      'arc.transport': 'json',
    });
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.parentSpanContext).toBeUndefined(); // no traceparent: a root span
    expect(span.ended).toBe(true);
    expect(span.duration[0] * 1e9 + span.duration[1]).toBeGreaterThan(0);
  });

  it('is a child of the incoming traceparent: same trace id, parent span id = the incoming one, tracestate kept', async () => {
    const { router, tracing } = tracedRouter();
    await router.handle(start(), { headers: { traceparent: INCOMING.header, tracestate: 'vendor=abc' } });
    const span = tracing.span('agent-a/chat.start');
    expect(span.spanContext().traceId).toBe(INCOMING.traceId);
    expect(span.spanContext().spanId).not.toBe(INCOMING.spanId);
    expect(span.parentSpanContext).toMatchObject({ traceId: INCOMING.traceId, spanId: INCOMING.spanId, isRemote: true });
    expect(span.spanContext().traceState?.get('vendor')).toBe('abc');
  });

  it('an invalid traceparent is ignored: a new root span', async () => {
    const { router, tracing } = tracedRouter();
    await router.handle(start(), { headers: { traceparent: `00-${'0'.repeat(32)}-${INCOMING.spanId}-01` } });
    const span = tracing.span('agent-a/chat.start');
    expect(span.parentSpanContext).toBeUndefined();
    expect(span.spanContext().traceId).not.toBe('0'.repeat(32));
  });

  it('an ARC error sets arc.error_code, error.type and status ERROR', async () => {
    const { router, tracing } = tracedRouter();
    const r = await jsonReply(router.handle(envelope('fail', {})));
    expect(r.body.error.code).toBe(ArcErrorCode.PermissionDenied);
    const span = tracing.span('agent-a/fail');
    expect(span.attributes).toMatchObject({
      'arc.error_code': ArcErrorCode.PermissionDenied,
      'error.type': String(ArcErrorCode.PermissionDenied),
    });
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'Permission denied' });

    await router.handle(envelope('boom', {}));
    expect(tracing.span('agent-a/boom').attributes['arc.error_code']).toBe(ArcErrorCode.InternalError);
    await router.handle(envelope('chat.message', { chatId: 'no-such-chat', message: userMessage('x') }));
    expect(tracing.span('agent-a/chat.message').status.code).toBe(SpanStatusCode.ERROR);
  });

  it('a request never routed gets a span named `arc`, with what its body said, bounded', async () => {
    const { router, tracing } = tracedRouter();
    await router.handle(start({ targetAgent: 'agent-x', traceId: 'arc-trace-2' }));
    await router.handleBody('{not json', { headers: { traceparent: INCOMING.header } });
    await router.handle(start({ targetAgent: 'y'.repeat(5000), id: 17 }));
    const [unknownAgent, unparsable, huge] = tracing.spans();
    expect(tracing.spans().map((s) => s.name)).toEqual(['arc', 'arc', 'arc']);
    expect(huge!.attributes['arc.request_id']).toBe('17');
    expect(unknownAgent!.attributes).toEqual({
      'rpc.system': 'arc',
      'arc.target_agent': 'agent-x',
      'arc.request_agent': 'tester',
      'arc.request_id': 'req-1',
      'arc.trace_id': 'arc-trace-2',
      'arc.transport': 'json',
      'arc.error_code': ArcErrorCode.AgentNotFound,
      'error.type': String(ArcErrorCode.AgentNotFound),
    });
    expect(unparsable!.attributes['arc.error_code']).toBe(ArcErrorCode.ParseError);
    expect(unparsable!.spanContext().traceId).toBe(INCOMING.traceId);
    expect(unparsable!.kind).toBe(SpanKind.SERVER);
    expect(String(huge!.attributes['arc.target_agent']).length).toBeLessThan(300);
  });

  it('a request refused by an earlier hook (auth) is traced too', async () => {
    const { router, tracing } = tracedRouter();
    router.addHook('onRequest', () => {
      throw new ArcError(ArcErrorCode.Authentication, 'no token');
    });
    await router.handle(start());
    const span = tracing.span('arc');
    expect(span.attributes['arc.error_code']).toBe(ArcErrorCode.Authentication);
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
  });

  it("a stream's span ends when the stream ends, not when the reply is handed over", async () => {
    const { router, tracing } = tracedRouter();
    const reply = await router.handle(envelope('chat.start', { initialMessage: userMessage('hi'), stream: true, chatId: 'c1' }));
    expect(reply.kind).toBe('stream');
    expect(tracing.spans()).toHaveLength(0); // open while the stream runs
    const events = await streamEvents(Promise.resolve(reply));
    expect(events.length).toBeGreaterThan(0);
    const span = tracing.span('agent-a/chat.start');
    expect(span.attributes['arc.transport']).toBe('stream');
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('a stream the caller left ends its span as stream-aborted', async () => {
    const { router, tracing } = tracedRouter();
    const reply = await router.handle(envelope('chat.start', { initialMessage: userMessage('hi'), stream: true, chatId: 'c2' }));
    if (reply.kind !== 'stream') throw new Error('expected a stream');
    expect(tracing.spans()).toHaveLength(0);
    reply.cancel();
    reply.cancel();
    const span = tracing.span('agent-a/chat.start');
    expect(span.attributes['arc.transport']).toBe('stream-aborted');
  });

  it('a reply cut by an onSend hook is reported twice by the router, but its span ends once', async () => {
    const tracing = memoryTracing();
    let ends = 0;
    // Counts end() calls: the SDK would ignore a second one, another implementation might not.
    const tracer: Tracer = {
      startSpan(name, options, context) {
        const span = tracing.tracer.startSpan(name, options, context);
        const end = span.end.bind(span);
        span.end = (time) => {
          ends++;
          end(time);
        };
        return span;
      },
      startActiveSpan: tracing.tracer.startActiveSpan.bind(tracing.tracer),
    };
    const { router } = tracedRouter({ ...tracing, tracer });
    const outcomes: string[] = [];
    router.addHook('onResponse', (_r, o) => outcomes.push(o.transport));
    router.addHook('onSend', (_r, reply) => {
      if (reply.kind === 'stream') throw new ArcError(ArcErrorCode.InternalError, 'cannot send');
    });
    await router.handle(envelope('chat.start', { initialMessage: userMessage('hi'), stream: true, chatId: 'c3' }));
    expect(outcomes).toEqual(['stream-aborted', 'json']);
    expect(ends).toBe(1);
    expect(tracing.span('agent-a/chat.start').attributes['arc.transport']).toBe('stream-aborted');
  });
});

describe('client spans of agent calls', () => {
  it('a call span is a CLIENT child of the server span; its traceparent names it, and the callee is its child', async () => {
    const tracing = memoryTracing();
    const { router } = tracedRouter(tracing);
    const called = deferred<{ traceparent: string }>();
    router.addAgent(
      new ArcAgent('agent-c').on('chat.start', async (_p, ctx) => {
        const trace = requestTrace(ctx)!;
        const call = trace.startCallSpan('agent-a', 'chat.start');
        // What agent-call-service does: send the span's traceparent with the call (here in process).
        const reply = await jsonReply(
          router.handle(envelope('chat.start', { initialMessage: userMessage('hi') }, { requestAgent: 'agent-c', id: 'inner' }), {
            headers: { traceparent: call.traceparent },
          }),
        );
        call.end(reply.body.error === null ? 'ok' : (reply.body.error.code as number));
        call.end('ok'); // idempotent
        called.resolve({ traceparent: call.traceparent });
        return 'done';
      }),
    );
    await router.handle(start({ targetAgent: 'agent-c', traceId: 'arc-trace-3' }), { headers: { traceparent: INCOMING.header } });
    const { traceparent } = await called.promise;

    const server = tracing.span('agent-c/chat.start');
    const client = tracing.spans().find((s) => s.kind === SpanKind.CLIENT)!;
    const callee = tracing.spans().find((s) => s.kind === SpanKind.SERVER && s.name === 'agent-a/chat.start')!;
    expect(tracing.spans()).toHaveLength(3);
    expect(client.name).toBe('agent-a/chat.start');
    expect(client.attributes).toEqual({
      'rpc.system': 'arc',
      'rpc.service': 'agent-a',
      'rpc.method': 'chat.start',
      'arc.request_agent': 'agent-c',
      'arc.target_agent': 'agent-a',
      'arc.trace_id': 'arc-trace-3',
    });
    expect(client.status.code).toBe(SpanStatusCode.UNSET);
    // One trace, from the caller's traceparent down to the callee.
    for (const s of [server, client, callee]) expect(s.spanContext().traceId).toBe(INCOMING.traceId);
    expect(client.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(parseTraceparentHeader(traceparent)).toEqual({ traceId: INCOMING.traceId, spanId: client.spanContext().spanId, flags: '01' });
    expect(callee.parentSpanContext?.spanId).toBe(client.spanContext().spanId);
  });

  it('a failed call ends its span with the error code and status ERROR', async () => {
    const tracing = memoryTracing();
    const { router } = tracedRouter(tracing);
    let state: RequestState | undefined;
    router.addHook('preHandler', (r) => {
      state = r;
    });
    await router.handle(start());
    const call = requestTrace(state!)!.startCallSpan('hr-agent', 'task.create');
    call.end(ArcErrorCode.AgentNotFound);
    const span = tracing.span('hr-agent/task.create');
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.attributes['arc.error_code']).toBe(ArcErrorCode.AgentNotFound);
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'Agent not found' });
  });

  it('sampled out: nothing is exported, yet each call still gets a valid traceparent of its own (flags 00)', async () => {
    const tracing = memoryTracing(new AlwaysOffSampler());
    const { router } = tracedRouter(tracing);
    let state: RequestState | undefined;
    router.addHook('preHandler', (r) => {
      state = r;
    });
    await router.handle(start(), { headers: { traceparent: `00-${INCOMING.traceId}-${INCOMING.spanId}-00` } });
    const a = parseTraceparentHeader(requestTrace(state!)!.startCallSpan('agent-b', 'chat.start').traceparent);
    const b = parseTraceparentHeader(requestTrace(state!)!.startCallSpan('agent-b', 'chat.start').traceparent);
    expect(a.traceId).toBe(INCOMING.traceId);
    expect(a.flags).toBe('00');
    expect(a.spanId).not.toBe(b.spanId);
    expect(tracing.spans()).toEqual([]);
  });
});

describe('tracing off', () => {
  it('installs no hook: every stage stays null, and a request has no trace', async () => {
    const router = new ArcRouter({ serverId: 'plain' });
    routers.push(router);
    let seen: unknown = 'unset';
    router.addAgent(
      new ArcAgent('agent-a').on('chat.start', (_p, ctx) => {
        seen = requestTrace(ctx);
        return 'hi';
      }),
    );
    expect(router.hooks).toMatchObject({ onRequest: null, preHandler: null, onSend: null, onError: null, onResponse: null });
    await router.handle(start());
    expect(seen).toBeUndefined();
  });

  it('installTracing adds exactly a preHandler and an onResponse hook', () => {
    const { router } = tracedRouter();
    expect(router.hooks.onRequest).toBeNull();
    expect(router.hooks.preHandler).toHaveLength(1);
    expect(router.hooks.onResponse).toHaveLength(1);
    expect(router.hooks.onSend).toBeNull();
    expect(router.hooks.onError).toBeNull();
  });
});
