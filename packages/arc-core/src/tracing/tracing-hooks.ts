/**
 * Tracing as router hooks (router/hooks.ts): a SERVER span per request, child of the caller's
 * W3C `traceparent` when it sent one, named and attributed as span-attributes.ts says.
 *
 *   preHandler  a routed request: its span starts (at the request's arrival, `startedAt`) with
 *               its name and attributes known, so samplers see them; it is kept on the request
 *               (request-trace.ts) for the client spans of its agent calls.
 *   onResponse  the exchange is over (a JSON reply, a stream's end, a stream cut): the outcome
 *               is recorded and the span ends. A request refused before preHandler (bad body,
 *               unknown agent, no token) gets its span here, started at its arrival too.
 *
 * Only @opentelemetry/api: the tracer is handed in (otel-setup.ts builds one from the SDK, or the
 * application passes its own), so nothing here loads an SDK. With tracing off these hooks are
 * not installed and the pipeline runs as without them.
 */
import { ROOT_CONTEXT, SpanKind, createTraceState, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { parseTraceparent } from '../calls/trace-context';
import { addressOf } from '../protocol/envelope';
import { clip } from '../protocol/limits';
import type { ResponseOutcome } from '../router/hooks';
import type { RequestMeta, RequestState } from '../router/request-state';
import type { ArcRouter } from '../router/router';
import { markError, startCallSpan, type CallParent } from './call-span';
import { requestTrace, setRequestTrace, type CallSpan, type RequestTrace } from './request-trace';
import {
  ARC_RPC_SYSTEM,
  ATTR_ARC_REQUEST_AGENT,
  ATTR_ARC_REQUEST_ID,
  ATTR_ARC_TARGET_AGENT,
  ATTR_ARC_TRACE_ID,
  ATTR_ARC_TRANSPORT,
  ATTR_RPC_METHOD,
  ATTR_RPC_SERVICE,
  ATTR_RPC_SYSTEM,
  spanName,
} from './span-attributes';

/** Adds the tracing hooks to a router (once per router). */
export function installTracing(router: Pick<ArcRouter, 'addHook'>, tracer: Tracer): void {
  const hooks = new TracingHooks(tracer);
  router.addHook('preHandler', hooks.preHandler);
  router.addHook('onResponse', hooks.onResponse);
}

class TracingHooks {
  constructor(private readonly tracer: Tracer) {}

  readonly preHandler = (request: RequestState): void => {
    this.start(request);
  };

  readonly onResponse = (request: RequestState, outcome: ResponseOutcome): void => {
    const found = requestTrace(request);
    const server = found instanceof ServerTrace ? found : this.start(request);
    server.finish(outcome);
  };

  private start(request: RequestState): ServerTrace {
    let name: string;
    const attributes: Attributes = { [ATTR_RPC_SYSTEM]: ARC_RPC_SYSTEM };
    if (request.agentId !== '') {
      name = spanName(request.agentId, request.method);
      attributes[ATTR_RPC_SERVICE] = request.agentId;
      attributes[ATTR_RPC_METHOD] = request.method;
      attributes[ATTR_ARC_TARGET_AGENT] = request.agentId;
      attributes[ATTR_ARC_REQUEST_AGENT] = request.requestAgent;
      attributes[ATTR_ARC_REQUEST_ID] = String(request.requestId);
    } else {
      // Never routed: whatever the body said, bounded (as the access log does); the name stays `arc`.
      name = ARC_RPC_SYSTEM;
      const said = addressOf(request.body);
      setClipped(attributes, ATTR_ARC_TARGET_AGENT, said.targetAgent);
      setClipped(attributes, ATTR_ARC_REQUEST_AGENT, said.requestAgent);
      setClipped(attributes, ATTR_ARC_REQUEST_ID, said.id);
      setClipped(attributes, ATTR_ARC_TRACE_ID, said.traceId);
    }
    const span = this.tracer.startSpan(
      name,
      { kind: SpanKind.SERVER, attributes, startTime: request.startedAt },
      parentContext(request.meta.headers),
    );
    const server = new ServerTrace(this.tracer, span, request);
    setRequestTrace(request, server);
    return server;
  }
}

/** One request's server span; the parent of its agent calls' client spans. */
class ServerTrace implements RequestTrace, CallParent {
  private ended = false;

  constructor(
    private readonly tracer: Tracer,
    readonly span: Span,
    private readonly request: RequestState,
  ) {}

  get agentId(): string {
    return this.request.agentId;
  }

  get spanTraceId(): string {
    return this.span.spanContext().traceId;
  }

  /** Read at each call: a request without a traceId gets one when its handler first calls an agent. */
  get traceId(): string | undefined {
    return this.request.traceId;
  }

  startCallSpan(target: string, method: string): CallSpan {
    return startCallSpan(this.tracer, this, target, method);
  }

  /** Ends the span with the exchange's outcome; once (a reply cut after onSend may be reported twice). */
  finish(outcome: ResponseOutcome): void {
    if (this.ended) return;
    this.ended = true;
    const span = this.span;
    if (this.request.traceId !== undefined) span.setAttribute(ATTR_ARC_TRACE_ID, this.request.traceId);
    span.setAttribute(ATTR_ARC_TRANSPORT, outcome.transport);
    if (outcome.code !== undefined) markError(span, outcome.code);
    // performance.now(), like startedAt: the span's duration is the one the access log reports.
    span.end(performance.now());
  }
}

/** The caller's span as a remote parent, from `traceparent` (and `tracestate`); none: a root span. */
function parentContext(headers: RequestMeta['headers']): Context {
  const parent = parseTraceparent(headers?.traceparent);
  if (parent === undefined) return ROOT_CONTEXT;
  const state = headers?.tracestate;
  const traceState = Array.isArray(state) ? state.join(',') : state;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: parent.traceId,
    spanId: parent.parentId,
    traceFlags: parseInt(parent.flags, 16),
    isRemote: true,
    ...(traceState !== undefined && traceState !== '' ? { traceState: createTraceState(traceState) } : {}),
  });
}

/** A string attribute from whatever a client sent (a number id too, as routed requests record it), clipped. */
function setClipped(attributes: Attributes, key: string, value: unknown): void {
  const clipped = clip(value);
  if (typeof clipped === 'string' || typeof clipped === 'number') attributes[key] = String(clipped);
}
