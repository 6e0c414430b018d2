/**
 * The one structured line logged per request ("arc request"), with the request's own fields
 * once it is validated, or a bounded prefix of whatever the body said when it is not (a 1 MiB
 * `id` or `targetAgent` adds at most a few hundred bytes to the log, never itself).
 */
import type { LogEntry } from '../logging/logger';
import { addressOf } from '../protocol/envelope';
import { clip } from '../protocol/limits';
import type { RequestState } from './request-state';

export function accessLogEntry(serverId: string, ctx: RequestState, status: number, code: number | undefined, transport: string): LogEntry {
  const req = ctx.request;
  let entry: LogEntry;
  if (req !== undefined) {
    entry = {
      level: code === undefined ? 'info' : 'warn',
      message: 'arc request',
      serverId,
      agent: req.targetAgent,
      method: req.method,
      id: req.id,
      traceId: ctx.traceId,
      durationMs: Math.round((performance.now() - ctx.startedAt) * 1000) / 1000,
      status,
      outcome: code === undefined ? 'result' : 'error',
    };
  } else {
    const a = addressOf(ctx.body);
    const body = ctx.body as Record<string, unknown> | undefined;
    entry = {
      level: code === undefined ? 'info' : 'warn',
      message: 'arc request',
      serverId,
      agent: clip(a.targetAgent),
      method: clip(body !== null && typeof body === 'object' ? body.method : undefined),
      id: clip(a.id),
      traceId: clip(a.traceId),
      durationMs: Math.round((performance.now() - ctx.startedAt) * 1000) / 1000,
      status,
      outcome: code === undefined ? 'result' : 'error',
    };
  }
  if (code !== undefined) entry.code = code;
  if (transport !== 'json') entry.transport = transport;
  return entry;
}
