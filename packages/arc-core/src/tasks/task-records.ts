/**
 * The engine's access to the task store: reads and atomic updates that turn a missing task into
 * -42001, a store outage into -41002 / 503 (never a crash), and a task grown past its size limit
 * into -32602; and the emission of lifecycle events after a change is stored.
 */
import { ArcError } from '../errors/arc-error';
import { ArcErrorCode } from '../errors/codes';
import type { Logger } from '../logging/logger';
import type { TaskEvent, TaskStatus } from '../protocol/types';
import { TaskStoreFullError, type TaskMutation, type TaskRecord, type TaskStore, type UpdateOutcome } from '../state/task-store';
import { isoNow } from '../util/iso-now';
import { taskEvent, type EventDetails, type TaskEventSink } from './events';

export function taskNotFound(taskId: string): ArcError {
  return new ArcError(ArcErrorCode.TaskNotFound, `Task not found: ${taskId}`, { taskId, task_id: taskId });
}

/**
 * Told of every status a task enters, once the change is stored (metrics/task-metrics.ts):
 * SUBMITTED when it is created, then each change of status. Every status change goes through
 * TaskRecords (engine and runner alike), so this is the one place they are seen. Must only add
 * to numbers: it runs on the request path.
 */
export interface TaskStatusObserver {
  onTaskStatus(agentId: string, status: TaskStatus): void;
}

export class TaskRecords {
  /** Set by TaskService.observe (metrics). */
  observer: TaskStatusObserver | undefined = undefined;

  constructor(
    readonly store: TaskStore,
    private readonly events: TaskEventSink,
    private readonly logger: Logger,
    /** Largest task record, as JSON bytes (messages, artifacts and metadata together). */
    private readonly maxTaskBytes: number,
  ) {}

  async create(task: TaskRecord): Promise<boolean> {
    this.checkSize(task);
    const created = await this.guard(this.store.create(task), 'create');
    if (created) this.observer?.onTaskStatus(task.agentId, task.status);
    return created;
  }

  async get(agentId: string, taskId: string): Promise<TaskRecord> {
    const task = await this.guard(this.store.get(agentId, taskId), 'get');
    if (!task) throw taskNotFound(taskId);
    return task;
  }

  /** An atomic change; -42001 when the task does not exist. */
  async update(agentId: string, taskId: string, mutate: TaskMutation): Promise<Extract<UpdateOutcome, { found: true }>> {
    const outcome = await this.guard(
      this.store.update(agentId, taskId, (current) => {
        const next = mutate(current);
        if (next) this.checkSize(next);
        return next;
      }),
      'update',
    );
    if (!outcome.found) throw taskNotFound(taskId);
    if (outcome.changed && outcome.task.status !== outcome.previous.status) this.observer?.onTaskStatus(agentId, outcome.task.status);
    return outcome;
  }

  /** Sends an event to the sink; a failing sink is logged, never thrown into the engine. */
  emit(task: TaskRecord, event: TaskEvent, details?: EventDetails): void {
    const record = taskEvent(task, event, isoNow(), details);
    try {
      const out = this.events.emit(task, record);
      if (out) out.catch((err: unknown) => this.sinkFailed(task, event, err));
    } catch (err) {
      this.sinkFailed(task, event, err);
    }
  }

  private sinkFailed(task: TaskRecord, event: TaskEvent, err: unknown): void {
    this.logger.error('task event not delivered to its sink', {
      taskId: task.taskId,
      agent: task.agentId,
      event,
      err: err instanceof Error ? err.message : String(err),
    });
  }

  private checkSize(task: TaskRecord): void {
    const bytes = Buffer.byteLength(JSON.stringify(task));
    if (bytes > this.maxTaskBytes) {
      throw new ArcError(
        ArcErrorCode.InvalidParams,
        `Task ${task.taskId} would hold ${bytes} bytes; at most ${this.maxTaskBytes} are kept per task (messages, artifacts and metadata)`,
        { taskId: task.taskId, limitBytes: this.maxTaskBytes },
      );
    }
  }

  private guard<T>(op: Promise<T>, what: string): Promise<T> {
    return op.catch((err: unknown) => {
      if (err instanceof ArcError) throw err;
      if (err instanceof TaskStoreFullError) {
        throw new ArcError(
          ArcErrorCode.AgentCapacityExceeded,
          `Agent ${err.agentId} holds too many tasks (${err.limit}); retry later`,
          { agentId: err.agentId, limit: err.limit },
          { retryAfter: 10 },
        );
      }
      this.logger.error('task store unavailable', { op: what, err: err instanceof Error ? err.message : String(err) });
      throw new ArcError(
        ArcErrorCode.AgentNotAvailable,
        'Agent temporarily unavailable: task state cannot be reached; retry shortly',
        {},
        {
          retryAfter: 1,
        },
      );
    });
  }
}
