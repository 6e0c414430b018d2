/**
 * The leave request of the HR agent's tasks: the dates a request gives (ISO `YYYY-MM-DD`, in any
 * user message), and what makes them acceptable: real calendar dates, the end not before the
 * start, at most 30 calendar days, both ends included.
 */
import { ArcError, ArcErrorCode, messageText, type Message } from '@arc/core';

export const MAX_LEAVE_DAYS = 30;

/** The leave request's DataPart. */
export interface LeaveRequest {
  employee?: string;
  start: string;
  end: string;
  /** Calendar days, both ends included. */
  days: number;
}

/** What the messages say so far: no date, one date (the start), or both. */
export type LeaveDates = { found: 0 } | { found: 1; start: string } | { found: 2; start: string; end: string };

const ISO_DATE = /\b\d{4}-\d{2}-\d{2}\b/g;
const EMPLOYEE_ID = /\bE-\d{1,9}\b/;
const MS_PER_DAY = 24 * 60 * 60 * 1000;

/**
 * The dates of the request. The most recent user message with two dates gives both (its first
 * two: "from 2026-12-21 to 2026-12-24"); otherwise the last two dates of all user messages in
 * order, so "from 2026-12-21" answered later by "until 2026-12-24" works too.
 */
export function leaveDates(messages: readonly Message[]): LeaveDates {
  const all: string[] = [];
  let latest: string[] = [];
  for (const m of messages) {
    if (m.role !== 'user') continue;
    const dates = messageText(m).match(ISO_DATE) ?? [];
    if (dates.length === 0) continue;
    all.push(...dates);
    latest = dates;
  }
  if (latest.length >= 2) return { found: 2, start: latest[0]!, end: latest[1]! };
  if (all.length >= 2) return { found: 2, start: all[all.length - 2]!, end: all[all.length - 1]! };
  if (all.length === 1) return { found: 1, start: all[0]! };
  return { found: 0 };
}

/** The employee: `metadata.employeeId` of the task, else an id like `E-77` in a user message. */
export function employeeOf(messages: readonly Message[], metadata: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const given = metadata?.employeeId;
  if (typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given)) return given;
  for (const m of messages) {
    if (m.role !== 'user') continue;
    const id = EMPLOYEE_ID.exec(messageText(m))?.[0];
    if (id) return id;
  }
  return undefined;
}

/**
 * The request for these dates, or an ArcError -42004 (TaskExecution) saying what is wrong. The
 * task was accepted and its params were valid (so not -32602, an answer about the request
 * itself): the dates are what the agent found wrong while doing the work, so the task fails
 * with the code for that, and task.info and the TASK_FAILED event carry the reason.
 */
export function leaveRequest(start: string, end: string, employee: string | undefined): LeaveRequest {
  const from = calendarDay(start, 'start');
  const to = calendarDay(end, 'end');
  if (to < from) {
    throw new ArcError(ArcErrorCode.TaskExecution, `The leave cannot end (${end}) before it starts (${start})`, {
      reason: 'END_BEFORE_START',
      start,
      end,
    });
  }
  const days = (to - from) / MS_PER_DAY + 1;
  if (days > MAX_LEAVE_DAYS) {
    throw new ArcError(
      ArcErrorCode.TaskExecution,
      `A leave request covers at most ${MAX_LEAVE_DAYS} days; ${start} to ${end} is ${days} days`,
      { reason: 'TOO_LONG', start, end, days, maxDays: MAX_LEAVE_DAYS },
    );
  }
  return { ...(employee !== undefined ? { employee } : {}), start, end, days };
}

/** Midnight UTC of an ISO date, which must exist (2026-02-30 does not). */
function calendarDay(iso: string, field: 'start' | 'end'): number {
  const [y, m, d] = iso.split('-').map(Number) as [number, number, number];
  const t = Date.UTC(y, m - 1, d);
  const back = new Date(t);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== m - 1 || back.getUTCDate() !== d) {
    throw new ArcError(ArcErrorCode.TaskExecution, `${iso} is not a calendar date`, { reason: 'INVALID_DATE', field, value: iso });
  }
  return t;
}
