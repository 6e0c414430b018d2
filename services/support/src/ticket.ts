/**
 * The ticket a support task opens. Its id comes from the task id (`TCK-` and the first 8 hex
 * digits of the task id's random part), so a run that is tried again after a crash opens the
 * same ticket, not a second one; everything else comes from the task itself.
 */
import { createHash } from 'node:crypto';
import { messageText, type TaskPriority, type TaskView } from '@arc/core';

export const MAX_SUBJECT_LENGTH = 120;

/** The ticket's DataPart. */
export interface Ticket {
  ticketId: string;
  subject: string;
  /** The agent that created the task. */
  requester: string;
  priority: TaskPriority;
  status: 'OPEN';
  openedAt: string;
}

export function ticketIdFor(taskId: string): string {
  // Task ids of the core are `task-<16 hex>`; any other id gets the digits of its hash.
  const hex = /^task-([0-9a-f]{8})/.exec(taskId)?.[1] ?? createHash('sha256').update(taskId).digest('hex').slice(0, 8);
  return `TCK-${hex}`;
}

/** The subject: the first non-empty line of the first user message, at most 120 characters. */
export function subjectOf(task: TaskView): string {
  const first = task.messages.find((m) => m.role === 'user');
  const line = messageText(first)
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '');
  if (line === undefined) return '(no subject)';
  return line.length <= MAX_SUBJECT_LENGTH ? line : `${line.slice(0, MAX_SUBJECT_LENGTH - 1)}…`;
}

export function openTicket(task: TaskView): Ticket {
  return {
    ticketId: ticketIdFor(task.taskId),
    subject: subjectOf(task),
    requester: task.requestAgent,
    priority: task.priority,
    status: 'OPEN',
    openedAt: task.createdAt,
  };
}
