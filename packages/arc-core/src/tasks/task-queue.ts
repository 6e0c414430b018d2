/**
 * How task runs reach a worker. One run = one call of the agent's task handler: a new task, a
 * task resumed by task.send, or a retry after a crash. Implementations: MemoryTaskQueue (in
 * this process, the single server's default) and BullMQTaskQueue (@arc/core/redis: shared by
 * every replica, a run of a replica that dies is taken up by another).
 *
 * The engine decides what a run did (completed, failed, paused, canceled) and writes it to the
 * task store itself; the processor rejects only when the run must be tried again (an unexpected
 * error with attempts left, or this worker shutting down), and the queue then retries it later,
 * on any worker.
 */
import type { TaskPriority } from '../protocol/types';

export interface TaskRun {
  agentId: string;
  taskId: string;
  priority: TaskPriority;
}

/** Why a run's signal aborted. */
export type AbortReason = 'canceled' | 'timeout' | 'shutdown';

export type TaskProcessor = (run: TaskRun, signal: AbortSignal) => Promise<void>;

export interface TaskQueue {
  /**
   * Declares that this process runs the tasks of `agentId` (called for each agent with a task
   * handler, before `start`): a shared queue takes only those agents' runs here.
   */
  serve?(agentId: string): void;
  /** Starts handing runs to `processor` (at most `concurrency` at once per agent). */
  start(processor: TaskProcessor): void;
  /** Queues a run; resolves once it is stored (durably, for a shared queue). */
  enqueue(run: TaskRun): Promise<void>;
  /** Aborts the run of this task wherever it is running (with reason 'canceled'). */
  abort(agentId: string, taskId: string): Promise<void>;
  /** Resolves when the queue can take runs; rejects when it cannot (readiness). */
  ping(): Promise<void>;
  /** Stops taking runs; running ones are aborted with 'shutdown' (they run again elsewhere). */
  close(): Promise<void>;
}

/** Queue order: URGENT first, then HIGH, NORMAL, LOW; first in, first out within one. */
export const PRIORITY_RANK: Readonly<Record<TaskPriority, number>> = { URGENT: 0, HIGH: 1, NORMAL: 2, LOW: 3 };

/** The abort reason a signal carries (AbortController#abort(reason)). */
export function abortReason(signal: AbortSignal): AbortReason | undefined {
  const r: unknown = signal.reason;
  return r === 'canceled' || r === 'timeout' || r === 'shutdown' ? r : undefined;
}
