/**
 * The client span of one agent call (calls/agent-call-service.ts): a child of the calling
 * request's server span, named and attributed like server spans (span-attributes.ts), whose own
 * traceparent travels with the call so the callee's server span is its child.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type Span, type Tracer } from '@opentelemetry/api';
import { errorCodeInfo } from '../errors/codes';
import type { CallSpan } from './request-trace';
import {
  ARC_RPC_SYSTEM,
  ATTR_ARC_ERROR_CODE,
  ATTR_ARC_REQUEST_AGENT,
  ATTR_ARC_TARGET_AGENT,
  ATTR_ARC_TRACE_ID,
  ATTR_ERROR_TYPE,
  ATTR_RPC_METHOD,
  ATTR_RPC_SERVICE,
  ATTR_RPC_SYSTEM,
  spanName,
} from './span-attributes';

/** Who calls: the calling agent and the ARC traceId the call carries. */
export interface CallParent {
  readonly span: Span;
  readonly agentId: string;
  readonly traceId: string | undefined;
}

export function startCallSpan(tracer: Tracer, parent: CallParent, target: string, method: string): CallSpan {
  const span = tracer.startSpan(
    spanName(target, method),
    {
      kind: SpanKind.CLIENT,
      attributes: {
        [ATTR_RPC_SYSTEM]: ARC_RPC_SYSTEM,
        [ATTR_RPC_SERVICE]: target,
        [ATTR_RPC_METHOD]: method,
        [ATTR_ARC_REQUEST_AGENT]: parent.agentId,
        [ATTR_ARC_TARGET_AGENT]: target,
        ...(parent.traceId !== undefined ? { [ATTR_ARC_TRACE_ID]: parent.traceId } : {}),
      },
    },
    trace.setSpan(ROOT_CONTEXT, parent.span),
  );
  return new ClientSpan(span);
}

class ClientSpan implements CallSpan {
  readonly traceparent: string;
  private ended = false;

  constructor(private readonly span: Span) {
    this.traceparent = traceparentOf(span);
  }

  end(outcome: 'ok' | number): void {
    if (this.ended) return;
    this.ended = true;
    if (outcome !== 'ok') markError(this.span, outcome);
    this.span.end();
  }
}

/** `arc.error_code`, `error.type` and status ERROR (described by the code's message in the ARC table). */
export function markError(span: Span, code: number): void {
  span.setAttribute(ATTR_ARC_ERROR_CODE, code);
  span.setAttribute(ATTR_ERROR_TYPE, String(code));
  span.setStatus({ code: SpanStatusCode.ERROR, message: errorCodeInfo(code)?.message ?? `ARC error ${code}` });
}

/** The W3C traceparent naming this span as the parent (version 00; sampled flag only). */
export function traceparentOf(span: Span): string {
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-${(traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED ? '01' : '00'}`;
}
