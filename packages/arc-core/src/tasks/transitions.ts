/**
 * The task lifecycle's one transition table (ARC-PROTOCOL.md §5):
 *
 *   SUBMITTED ──► WORKING ──► COMPLETED | FAILED | CANCELED
 *        │          ▲  │
 *        │          │  ▼
 *        │       INPUT_REQUIRED ──► CANCELED | FAILED
 *        └──────► CANCELED | FAILED
 *
 * Every move outside the table is a clear ArcError: out of COMPLETED or FAILED -42002, out of
 * CANCELED -42003, any other illegal move -42006.
 */
import { ArcError } from '../errors/arc-error';
import { ArcErrorCode } from '../errors/codes';
import type { TaskStatus } from '../protocol/types';

const NEXT: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  SUBMITTED: ['WORKING', 'CANCELED', 'FAILED'],
  WORKING: ['INPUT_REQUIRED', 'COMPLETED', 'FAILED', 'CANCELED'],
  INPUT_REQUIRED: ['WORKING', 'CANCELED', 'FAILED'],
  COMPLETED: [],
  FAILED: [],
  CANCELED: [],
};

export const TASK_STATUSES: readonly TaskStatus[] = Object.keys(NEXT) as TaskStatus[];

export function isTerminal(status: TaskStatus): boolean {
  return NEXT[status].length === 0;
}

export function canTransition(from: TaskStatus, to: TaskStatus): boolean {
  return NEXT[from].includes(to);
}

/** Throws the ArcError for an illegal move; returns quietly for a legal one. */
export function assertTransition(taskId: string, from: TaskStatus, to: TaskStatus): void {
  if (canTransition(from, to)) return;
  throw transitionError(taskId, from, to);
}

/** The error for a request that needs a live task but found one in `status` (terminal). */
export function terminalError(taskId: string, status: TaskStatus): ArcError {
  if (status === 'CANCELED') {
    return new ArcError(ArcErrorCode.TaskAlreadyCanceled, `Task ${taskId} was canceled`, { taskId, task_id: taskId, status });
  }
  const done = status === 'COMPLETED' ? 'completed' : 'failed';
  return new ArcError(ArcErrorCode.TaskAlreadyCompleted, `Task ${taskId} has already ${done}`, { taskId, task_id: taskId, status });
}

function transitionError(taskId: string, from: TaskStatus, to: TaskStatus): ArcError {
  if (isTerminal(from)) return terminalError(taskId, from);
  return new ArcError(ArcErrorCode.InvalidTaskStatusTransition, `Task ${taskId} cannot go from ${from} to ${to}`, {
    taskId,
    task_id: taskId,
    from,
    to,
  });
}
