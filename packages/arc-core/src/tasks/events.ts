/**
 * Task lifecycle events (ARC-PROTOCOL.md §5) and their `data` (§6): every event carries
 * `status` and a human-readable `message`, plus the optional keys that apply to it
 * (startedAt, completedAt, duration in ms, artifactCount, …). Built from the task as it is
 * after the change, so a webhook receiver sees the same thing task.info would.
 */
import type { Artifact, TaskEvent, TaskStatus } from '../protocol/types';
import type { TaskRecord } from '../state/task-store';

export interface TaskEventData {
  status: TaskStatus;
  message: string;
  [key: string]: unknown;
}

export interface TaskEventRecord {
  event: TaskEvent;
  agentId: string;
  taskId: string;
  /** ISO-8601, when the event happened. */
  timestamp: string;
  data: TaskEventData;
  traceId?: string;
}

/** Where the engine sends events (webhook delivery, metrics). Must not throw into the engine. */
export interface TaskEventSink {
  emit(task: TaskRecord, event: TaskEventRecord): void | Promise<void>;
}

export const noEvents: TaskEventSink = { emit: () => undefined };

/** Whether a subscription to `events` wants `event` (STATUS_CHANGE matches every event). */
export function subscribed(events: readonly TaskEvent[], event: TaskEvent): boolean {
  return events.includes(event) || events.includes('STATUS_CHANGE');
}

export interface EventDetails {
  previousStatus?: TaskStatus;
  /** NEW_MESSAGE: the text of the message. */
  messageContent?: string;
  /** NEW_ARTIFACT: the artifact added. */
  artifact?: Artifact;
  /** STATUS_CHANGE: the progress message the agent reported. */
  progress?: string;
  canceledBy?: string;
}

export function taskEvent(task: TaskRecord, event: TaskEvent, at: string, details: EventDetails = {}): TaskEventRecord {
  const data = eventData(task, event, at, details);
  const record: TaskEventRecord = { event, agentId: task.agentId, taskId: task.taskId, timestamp: at, data };
  if (task.traceId !== undefined) record.traceId = task.traceId;
  return record;
}

function eventData(task: TaskRecord, event: TaskEvent, at: string, d: EventDetails): TaskEventData {
  const status = task.status;
  const prev = d.previousStatus === undefined ? {} : { previousStatus: d.previousStatus };
  switch (event) {
    case 'TASK_CREATED':
      return { status, message: 'Task created', priority: task.priority, assignedAgent: task.agentId, createdAt: task.createdAt };
    case 'TASK_STARTED':
      return { status, message: 'Task started', startedAt: task.startedAt ?? at, attempt: task.attempt, ...prev };
    case 'TASK_PAUSED':
      return { status, message: task.requiredInput ?? 'Input required', pausedAt: at, requiredInput: task.requiredInput ?? '', ...prev };
    case 'TASK_RESUMED':
      return { status, message: 'Task resumed', resumedAt: at, ...since('pauseDuration', task.pausedAt, at), ...prev };
    case 'TASK_COMPLETED':
      return {
        status,
        message: 'Task completed',
        completedAt: task.completedAt ?? at,
        ...since('duration', task.startedAt ?? task.createdAt, at),
        artifactCount: task.artifacts.length,
        messageCount: task.messages.length,
      };
    case 'TASK_FAILED':
      return {
        status,
        message: task.error?.message ?? 'Task failed',
        failedAt: task.failedAt ?? at,
        ...since('duration', task.startedAt ?? task.createdAt, at),
        ...(task.error ? { error: { code: task.error.code, message: task.error.message } } : {}),
      };
    case 'TASK_CANCELED':
      return {
        status,
        message: task.reason ? `Task canceled: ${task.reason}` : 'Task canceled',
        canceledAt: task.canceledAt ?? at,
        ...(task.reason === undefined ? {} : { reason: task.reason }),
        ...(d.canceledBy === undefined ? {} : { canceledBy: d.canceledBy }),
        ...prev,
      };
    case 'NEW_MESSAGE':
      return { status, message: 'New message', messageContent: d.messageContent ?? '', messageCount: task.messages.length };
    case 'NEW_ARTIFACT':
      return { status, message: 'New artifact', artifact: d.artifact, artifactCount: task.artifacts.length };
    case 'STATUS_CHANGE':
      return { status, message: d.progress ?? `Task is ${status}`, changedAt: at, ...prev };
    default:
      return { status, message: event };
  }
}

function since(key: string, from: string | undefined, to: string): Record<string, number> {
  if (from === undefined) return {};
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) ? { [key]: Math.max(0, ms) } : {};
}
