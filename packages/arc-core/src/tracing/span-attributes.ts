/**
 * What ARC spans are called and carry (OpenTelemetry RPC conventions, semconv 1.37 attribute
 * set: `rpc.system`, `rpc.service`, `rpc.method`, span name `$service/$method`):
 *
 *   name                 `<target agent>/<method>`, e.g. `finance-agent/chat.start`; `arc` for a
 *                        request that was never routed (bad envelope, unknown agent or method,
 *                        refused before routing), so names stay few whatever clients send
 *   rpc.system           "arc"
 *   rpc.service          the target agent's id
 *   rpc.method           the ARC method (canonical: aliases resolved)
 *   arc.request_agent    the calling agent (`requestAgent`)
 *   arc.target_agent     the called agent (`targetAgent`)
 *   arc.trace_id         the ARC traceId of the envelope (what logs carry as `traceId`)
 *   arc.request_id       the envelope's `id` (server spans)
 *   arc.transport        json, stream, or stream-aborted (server spans)
 *   arc.error_code       the ARC error code of an error answer; the span's status is then ERROR
 *   error.type           the same code as a string (the general OpenTelemetry attribute)
 */
export const ARC_RPC_SYSTEM = 'arc';

export const ATTR_RPC_SYSTEM = 'rpc.system';
export const ATTR_RPC_SERVICE = 'rpc.service';
export const ATTR_RPC_METHOD = 'rpc.method';
export const ATTR_ERROR_TYPE = 'error.type';
export const ATTR_ARC_REQUEST_AGENT = 'arc.request_agent';
export const ATTR_ARC_TARGET_AGENT = 'arc.target_agent';
export const ATTR_ARC_TRACE_ID = 'arc.trace_id';
export const ATTR_ARC_REQUEST_ID = 'arc.request_id';
export const ATTR_ARC_TRANSPORT = 'arc.transport';
export const ATTR_ARC_ERROR_CODE = 'arc.error_code';

/** The span name of a call of `method` on `agentId`. */
export function spanName(agentId: string, method: string): string {
  return `${agentId}/${method}`;
}

/** The instrumentation scope of ARC spans. */
export const ARC_TRACER_NAME = '@arc/core';
