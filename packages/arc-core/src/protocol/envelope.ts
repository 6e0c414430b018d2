/**
 * Response envelopes exactly as ARC-PROTOCOL.md §3 describes them: the request id with its JSON
 * type, agents swapped, `traceId` echoed only when the request had it (errors carry the key, as
 * the SDK server's do, with `null` when there was none).
 */
import type { ArcError } from '../errors/arc-error';
import { echoable } from './limits';
import { ARC_VERSION, type ArcErrorResponse, type ArcSuccessResponse, type RequestId } from './types';

/** What could be read of a request, for addressing a reply (possibly to a broken request). */
export interface ReplyAddress {
  id: unknown;
  requestAgent: unknown;
  targetAgent: unknown;
  traceId: unknown;
  hasTraceId: boolean;
}

export const UNREADABLE: ReplyAddress = Object.freeze({
  id: null,
  requestAgent: undefined,
  targetAgent: undefined,
  traceId: undefined,
  hasTraceId: false,
});

/** Picks the addressing fields of a parsed body, whatever its shape. */
export function addressOf(body: unknown): ReplyAddress {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return UNREADABLE;
  const b = body as Record<string, unknown>;
  return { id: b.id, requestAgent: b.requestAgent, targetAgent: b.targetAgent, traceId: b.traceId, hasTraceId: 'traceId' in b };
}

export function successEnvelope<R>(
  id: RequestId,
  requestAgent: string,
  targetAgent: string,
  result: R,
  traceId: string | undefined,
  hasTraceId: boolean,
): ArcSuccessResponse<R> {
  const env: ArcSuccessResponse<R> = {
    arc: ARC_VERSION,
    id,
    responseAgent: targetAgent,
    targetAgent: requestAgent,
    result,
    error: null,
  };
  if (hasTraceId) env.traceId = traceId;
  return env;
}

/**
 * An error answer to whatever could be read of a request. Only strings short enough to be valid
 * envelope fields are echoed (DECISIONS.md 12): a 9 MiB `targetAgent` is not sent back.
 */
export function errorEnvelope(address: ReplyAddress, error: ArcError, serverId: string): ArcErrorResponse {
  const id = typeof address.id === 'number' ? address.id : (echoable(address.id) ?? null);
  return {
    arc: ARC_VERSION,
    id,
    responseAgent: echoable(address.targetAgent) ?? serverId,
    targetAgent: echoable(address.requestAgent) ?? 'unknown',
    traceId: echoable(address.traceId) ?? null,
    result: null,
    error: { code: error.code, message: error.message, details: error.details },
  };
}
