/**
 * The task lifecycle the core runs for every agent that handles tasks (ARC-PROTOCOL.md §5-§6,
 * DECISIONS.md 11), as the chat lifecycle does for chats: the agent only does the work.
 *
 *   task.create     stores the task (SUBMITTED), queues a run, answers at once
 *   task.info       the task, messages and artifacts as asked (task.get is the same)
 *   task.send       adds a message; resumes a task waiting in INPUT_REQUIRED (a new run)
 *   task.cancel     CANCELED, and the running handler's signal aborts, wherever it runs
 *   task.subscribe  a webhook subscription on the task (callback URL checked against SSRF)
 *
 * Runs are executed by TaskRunner (task-runner.ts) from the queue, on any replica.
 */
import { ArcError } from '../errors/arc-error';
import { ArcErrorCode } from '../errors/codes';
import type { Logger } from '../logging/logger';
import { normalizeMessage } from '../protocol/parts';
import type {
  Message,
  Subscription,
  SubscriptionResult,
  SuccessResult,
  Task,
  TaskCancelParams,
  TaskCreateParams,
  TaskEvent,
  TaskInfoParams,
  TaskPriority,
  TaskResult,
  TaskSendParams,
  TaskSubscribeParams,
} from '../protocol/types';
import { TERMINAL_STATUSES, type StoredSubscription, type TaskRecord } from '../state/task-store';
import { isoNow } from '../util/iso-now';
import { newSubscriptionId, newTaskId } from './ids';
import type { TaskQueue } from './task-queue';
import type { TaskRecords } from './task-records';
import { assertTransition, terminalError } from './transitions';

export const TASK_PRIORITIES: readonly TaskPriority[] = ['LOW', 'NORMAL', 'HIGH', 'URGENT'];
export const DEFAULT_SUBSCRIBED_EVENTS: readonly TaskEvent[] = ['TASK_COMPLETED', 'TASK_FAILED'];
/** Webhook subscriptions one task may have. */
export const MAX_SUBSCRIPTIONS_PER_TASK = 20;

/** Who asks: the envelope's requestAgent and traceId. */
export interface TaskCaller {
  requestAgent: string;
  traceId: string | undefined;
}

export interface TaskEngineDeps {
  records: TaskRecords;
  queue: TaskQueue;
  logger: Logger;
  /** Refuses a callback URL the server must not call (SSRF guard); -32602 naming the reason. */
  checkCallbackUrl: (url: string) => Promise<void>;
}

export class TaskEngine {
  constructor(private readonly deps: TaskEngineDeps) {}

  async create(agentId: string, params: TaskCreateParams, caller: TaskCaller): Promise<TaskResult> {
    const priority = params.priority ?? 'NORMAL';
    if (!TASK_PRIORITIES.includes(priority)) {
      throw new ArcError(
        ArcErrorCode.InvalidPriority,
        `Invalid priority "${String(priority).slice(0, 32)}": one of ${TASK_PRIORITIES.join(', ')}`,
        {
          field: 'params.priority',
          allowed: TASK_PRIORITIES,
        },
      );
    }
    const now = isoNow();
    const task: TaskRecord = {
      taskId: newTaskId(),
      agentId,
      requestAgent: caller.requestAgent,
      status: 'SUBMITTED',
      priority,
      createdAt: now,
      updatedAt: now,
      messages: [params.initialMessage],
      artifacts: [],
      attempt: 0,
      subscriptions: [],
      version: 0,
    };
    if (params.metadata !== undefined) task.metadata = params.metadata;
    if (caller.traceId !== undefined) task.traceId = caller.traceId;
    const { records } = this.deps;
    if (!(await records.create(task))) throw new ArcError(ArcErrorCode.InternalError, 'Task id collision; retry', {});
    records.emit(task, 'TASK_CREATED');
    await this.enqueueOrFail(task);
    return { type: 'task', task: { taskId: task.taskId, status: 'SUBMITTED', createdAt: task.createdAt, priority } };
  }

  async info(agentId: string, params: TaskInfoParams): Promise<TaskResult> {
    const task = await this.deps.records.get(agentId, params.taskId);
    return { type: 'task', task: wireTask(task, params.includeMessages !== false, params.includeArtifacts !== false) };
  }

  /** DECISIONS.md 11: adds the message; on INPUT_REQUIRED resumes the task (→ WORKING, a new run). */
  async send(agentId: string, params: TaskSendParams): Promise<SuccessResult> {
    const message = normalizeMessage(params.message) as Message;
    const { records } = this.deps;
    const { task, previous } = await records.update(agentId, params.taskId, (t) => {
      if (TERMINAL_STATUSES.has(t.status)) throw terminalError(t.taskId, t.status);
      t.messages.push(message);
      if (t.status === 'INPUT_REQUIRED') {
        assertTransition(t.taskId, t.status, 'WORKING');
        t.status = 'WORKING';
        delete t.requiredInput;
        // The run that asked for input ended cleanly: the resumed run is a first attempt again.
        t.attempt = 0;
      }
      return t;
    });
    records.emit(task, 'NEW_MESSAGE', { messageContent: text(message) });
    if (previous.status === 'INPUT_REQUIRED') {
      records.emit(task, 'TASK_RESUMED', { previousStatus: 'INPUT_REQUIRED' });
      await this.enqueueOrFail(task);
    }
    return { success: true, message: 'Message sent to task successfully' };
  }

  async cancel(agentId: string, params: TaskCancelParams, caller: TaskCaller): Promise<TaskResult> {
    const now = isoNow();
    const { records } = this.deps;
    const { task, previous } = await records.update(agentId, params.taskId, (t) => {
      assertTransition(t.taskId, t.status, 'CANCELED');
      t.status = 'CANCELED';
      t.canceledAt = now;
      if (params.reason !== undefined && params.reason !== null) t.reason = params.reason;
      return t;
    });
    records.emit(task, 'TASK_CANCELED', { previousStatus: previous.status, canceledBy: caller.requestAgent });
    // The handler may be running on another replica: the queue tells it. A failure here only
    // means the run notices later (at its next report, or its time limit); the task is CANCELED.
    await this.deps.queue.abort(agentId, task.taskId).catch((err: unknown) =>
      this.deps.logger.warn('could not signal the cancel to the running handler', {
        taskId: task.taskId,
        err: err instanceof Error ? err.message : String(err),
      }),
    );
    // The SDK's shape (captures/task_cancel.txt): no createdAt here.
    const out = { taskId: task.taskId, status: 'CANCELED', canceledAt: now } as Task;
    if (task.reason !== undefined) out.reason = task.reason;
    return { type: 'task', task: out };
  }

  async subscribe(agentId: string, params: TaskSubscribeParams): Promise<SubscriptionResult> {
    const events = params.events && params.events.length > 0 ? [...new Set(params.events)] : [...DEFAULT_SUBSCRIBED_EVENTS];
    await this.deps.records.get(agentId, params.taskId); // -42001 before the URL is looked at
    await this.deps.checkCallbackUrl(params.callbackUrl);
    const subscription: StoredSubscription = {
      subscriptionId: newSubscriptionId(),
      taskId: params.taskId,
      callbackUrl: params.callbackUrl,
      events,
      createdAt: isoNow(),
      active: true,
      deliveries: { delivered: 0, failed: 0, attempts: 0 },
    };
    await this.deps.records.update(agentId, params.taskId, (t) => {
      if (t.subscriptions.length >= MAX_SUBSCRIPTIONS_PER_TASK) {
        throw new ArcError(
          ArcErrorCode.InvalidParams,
          `Task ${t.taskId} has ${MAX_SUBSCRIPTIONS_PER_TASK} subscriptions, the most it may have`,
          {
            field: 'params.callbackUrl',
            limit: MAX_SUBSCRIPTIONS_PER_TASK,
          },
        );
      }
      t.subscriptions.push(subscription);
      return t;
    });
    return { type: 'subscription', subscription: wireSubscription(subscription) };
  }

  /** Queues a run; when the queue cannot take it the task fails at once (-41002) and the caller hears why. */
  private async enqueueOrFail(task: TaskRecord): Promise<void> {
    try {
      await this.deps.queue.enqueue({ agentId: task.agentId, taskId: task.taskId, priority: task.priority });
    } catch (err) {
      this.deps.logger.error('task queue unavailable', { taskId: task.taskId, err: err instanceof Error ? err.message : String(err) });
      const error = new ArcError(
        ArcErrorCode.AgentNotAvailable,
        'Agent temporarily unavailable: the task could not be queued; retry shortly',
        {
          taskId: task.taskId,
        },
        { retryAfter: 1 },
      );
      const failedAt = isoNow();
      const failed = await this.deps.records
        .update(task.agentId, task.taskId, (t) => {
          if (TERMINAL_STATUSES.has(t.status)) return undefined;
          t.status = 'FAILED';
          t.failedAt = failedAt;
          t.error = error.toJSON();
          return t;
        })
        .catch(() => undefined);
      if (failed?.changed) this.deps.records.emit(failed.task, 'TASK_FAILED', { previousStatus: failed.previous.status });
      throw error;
    }
  }
}

/** The Task of task.info (ARC-PROTOCOL.md §5), plus `error` for a FAILED task, `requiredInput`,
 * `statusMessage` and `subscriptions` with their delivery outcomes (docs/tasks.md). */
export function wireTask(t: TaskRecord, includeMessages: boolean, includeArtifacts: boolean): Task & Record<string, unknown> {
  const out: Task & Record<string, unknown> = { taskId: t.taskId, status: t.status, createdAt: t.createdAt, updatedAt: t.updatedAt };
  if (t.completedAt !== undefined) out.completedAt = t.completedAt;
  if (t.canceledAt !== undefined) out.canceledAt = t.canceledAt;
  if (t.reason !== undefined) out.reason = t.reason;
  out.priority = t.priority;
  out.assignedAgent = t.agentId;
  if (includeMessages) out.messages = t.messages;
  if (includeArtifacts) out.artifacts = t.artifacts;
  if (t.metadata !== undefined) out.metadata = t.metadata;
  if (t.startedAt !== undefined) out.startedAt = t.startedAt;
  if (t.failedAt !== undefined) out.failedAt = t.failedAt;
  if (t.error !== undefined) out.error = t.error;
  if (t.requiredInput !== undefined) out.requiredInput = t.requiredInput;
  if (t.statusMessage !== undefined) out.statusMessage = t.statusMessage;
  if (t.attempt > 0) out.attempt = t.attempt;
  if (t.runner !== undefined) out.runner = t.runner;
  if (t.subscriptions.length > 0) out.subscriptions = t.subscriptions.map((s) => ({ ...wireSubscription(s), deliveries: s.deliveries }));
  return out;
}

function wireSubscription(s: StoredSubscription): Subscription {
  return {
    subscriptionId: s.subscriptionId,
    taskId: s.taskId,
    callbackUrl: s.callbackUrl,
    events: s.events,
    createdAt: s.createdAt,
    active: s.active,
  };
}

function text(message: Message): string {
  return message.parts.map((p) => (p.type === 'TextPart' ? p.content : '')).join('');
}
