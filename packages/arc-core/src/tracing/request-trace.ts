/**
 * A traced request's span, kept on its RequestState (in `locals`, under a Symbol: no field on the
 * hot path, invisible to handlers' own keys) by the tracing hooks, and read by agent calls to
 * start a client span under it. No runtime import: the calls core can import this file without
 * loading OpenTelemetry.
 */

/** One call to another agent, traced: send `traceparent` with it, then `end` it once. */
export interface CallSpan {
  /** The client span's own W3C traceparent: the callee's server span becomes its child. */
  readonly traceparent: string;
  /** 'ok' for a result, else the ARC error code the call failed with. Idempotent. */
  end(outcome: 'ok' | number): void;
}

/** The server span of one request, as agent calls see it. */
export interface RequestTrace {
  /**
   * The W3C trace-id of the request's server span: a request that came without a traceId or a
   * traceparent takes it as its ARC traceId, so log lines and the exported trace share one id.
   */
  readonly spanTraceId: string;
  /** A client span, child of this request's server span, for a call of `method` on `target`. */
  startCallSpan(target: string, method: string): CallSpan;
}

/** Anything with locals: a RequestState, or the HandlerContext a handler gets. */
export interface HasLocals {
  readonly locals: Record<string, unknown>;
}

const TRACE = Symbol('arc.requestTrace');

/** The request's trace, or undefined when tracing is off (or the request was not traced). */
export function requestTrace(request: HasLocals): RequestTrace | undefined {
  return (request.locals as Record<symbol, RequestTrace | undefined>)[TRACE];
}

export function setRequestTrace(request: HasLocals, trace: RequestTrace): void {
  (request.locals as Record<symbol, RequestTrace>)[TRACE] = trace;
}
