/**
 * What the task methods answer, as precisely as the client can type it: the protocol's params
 * (protocol/types.ts) and the results of ARC-PROTOCOL.md §6 — task.create and task.cancel
 * answer a partial task (the SDK's shapes), task.info the whole one with what this server adds
 * (docs/tasks.md): why it failed, what it waits for, the last progress message, the attempt,
 * and the webhook subscriptions with their delivery outcomes. An SDK server leaves those out.
 */
import type {
  Subscription,
  SubscriptionResult,
  SuccessResult,
  Task,
  TaskCancelParams,
  TaskCreateParams,
  TaskInfoParams,
  TaskNotificationParams,
  TaskPriority,
  TaskSendParams,
  TaskStatus,
  TaskSubscribeParams,
} from '../protocol/types';
import type { DeliveryStats, TaskError } from '../state/task-store';

/** The task as task.info returns it. */
export interface TaskInfo extends Task {
  startedAt?: string;
  failedAt?: string;
  /** Why a FAILED task failed: the ARC error of its handler, -42005 for a run past its time limit, … */
  error?: TaskError;
  /** What the agent asked for while the task is INPUT_REQUIRED (answer with task.send). */
  requiredInput?: string;
  /** The agent's last progress message. */
  statusMessage?: string;
  /** Runs of the agent's handler so far (more than 1 after a crash or a retried error). */
  attempt?: number;
  /** The server id of the replica that started the latest run. */
  runner?: string;
  subscriptions?: Array<Subscription & { deliveries: DeliveryStats }>;
}

/** task.create's answer: the new task, SUBMITTED. */
export interface CreatedTask {
  taskId: string;
  status: TaskStatus;
  createdAt: string;
  priority?: TaskPriority;
}

/** task.cancel's answer (no createdAt, as the SDK answers). */
export interface CanceledTask {
  taskId: string;
  status: 'CANCELED';
  canceledAt: string;
  reason?: string;
}

export interface TaskCreateResult {
  type: 'task';
  task: CreatedTask;
}
export interface TaskInfoResult {
  type: 'task';
  task: TaskInfo;
}
export interface TaskCancelResult {
  type: 'task';
  task: CanceledTask;
}

/** Method → params and result of the task methods, as the client types them. */
export interface TaskMethods {
  'task.create': { params: TaskCreateParams; result: TaskCreateResult };
  'task.info': { params: TaskInfoParams; result: TaskInfoResult };
  'task.send': { params: TaskSendParams; result: SuccessResult };
  'task.cancel': { params: TaskCancelParams; result: TaskCancelResult };
  'task.subscribe': { params: TaskSubscribeParams; result: SubscriptionResult };
  'task.notification': { params: TaskNotificationParams; result: SuccessResult };
}
