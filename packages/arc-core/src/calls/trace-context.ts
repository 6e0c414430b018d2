/**
 * W3C Trace Context (`traceparent: 00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>`) and
 * the ARC traceId of agent calls: the incoming traceId is passed on; without one, the trace-id
 * of an incoming traceparent is used, else a new one (32 hex, so it doubles as the W3C trace-id).
 * Every call gets a child traceparent: the same trace-id, a new parent-id.
 */
import { randomHex } from '../util/random-hex';

export const TRACEPARENT_HEADER = 'traceparent';

export interface TraceParent {
  traceId: string;
  parentId: string;
  flags: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const HEX32 = /^[0-9a-f]{32}$/;

/** A valid traceparent header, or undefined (version ff, all-zero ids and malformed values are invalid). */
export function parseTraceparent(header: string | string[] | undefined): TraceParent | undefined {
  if (Array.isArray(header)) header = header[0];
  if (header === undefined || header.length > 512) return undefined;
  const m = TRACEPARENT.exec(header.trim().toLowerCase());
  if (m === null) return undefined;
  const [, version, traceId, parentId, flags, rest] = m as unknown as [string, string, string, string, string, string | undefined];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(parentId)) return undefined;
  return { traceId, parentId, flags };
}

export function newTraceId(): string {
  return randomHex(16);
}

export function newSpanId(): string {
  return randomHex(8);
}

/** A W3C trace-id for this traceId: itself when it already is one, else a new one. */
export function w3cTraceId(traceId: string | undefined): string {
  if (traceId !== undefined) {
    const lower = traceId.toLowerCase();
    if (HEX32.test(lower) && !/^0+$/.test(lower)) return lower;
  }
  return newTraceId();
}

/** A child traceparent: same trace, a new parent-id. */
export function childTraceparent(traceId: string, flags = '01'): string {
  return `00-${traceId}-${newSpanId()}-${flags}`;
}
