/**
 * Where tasks live. The core's task engine (tasks/) is the only writer. Implementations:
 * MemoryTaskStore (the single server's embedded default) and RedisTaskStore (@arc/core/redis),
 * so that any replica answers for any task. One contract suite runs on both.
 *
 * A task is one record: its status and timestamps, messages, artifacts, metadata, the attempt
 * counter, and its webhook subscriptions. Every change goes through `update`, a read-modify-write
 * that is atomic per task (a compare-and-set on `version`, retried by the store on a conflict),
 * so two replicas cancelling and completing one task at once cannot both win.
 *
 * Tasks are namespaced by the agent that owns them: the same taskId at two agents is two tasks.
 *
 * Lifetime: every task expires `retentionSeconds` (default 7 days) after its last change; so a
 * terminal task is kept that long after it ended, and an abandoned one (say parked in
 * INPUT_REQUIRED) that long after anyone touched it. Nothing grows without bound.
 */
import type { ErrorDetails } from '../errors/arc-error';
import type { Artifact, Message, Subscription, TaskPriority, TaskStatus } from '../protocol/types';

/** Outcome of a webhook subscription's deliveries (visible in task.info, see docs/tasks.md). */
export interface DeliveryStats {
  /** Events delivered (2xx). */
  delivered: number;
  /** Events given up on after the last attempt. */
  failed: number;
  /** Attempts made in all, retries included. */
  attempts: number;
  /** HTTP status of the last attempt, or 0 when it got no answer. */
  lastStatus?: number;
  lastError?: string;
  lastAttemptAt?: string;
}

export interface StoredSubscription extends Subscription {
  deliveries: DeliveryStats;
}

export interface TaskError {
  code: number;
  message: string;
  details: ErrorDetails;
}

export interface TaskRecord {
  taskId: string;
  agentId: string;
  /** Who created the task (the envelope's requestAgent). */
  requestAgent: string;
  status: TaskStatus;
  priority: TaskPriority;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  completedAt?: string;
  failedAt?: string;
  canceledAt?: string;
  /** The reason given to task.cancel. */
  reason?: string;
  /** Why a FAILED task failed (the ArcError its handler threw, a timeout, …). */
  error?: TaskError;
  /** The last progress message the agent reported (ctx.progress). */
  statusMessage?: string;
  /** What the agent asked for when it moved to INPUT_REQUIRED, and when. */
  requiredInput?: string;
  pausedAt?: string;
  messages: Message[];
  artifacts: Artifact[];
  metadata?: Record<string, unknown>;
  /** Runs of the handler started so far (1 on the first run; a retry after a crash adds one). */
  attempt: number;
  /** The server (SERVER_ID) that started the latest run. */
  runner?: string;
  /** The traceId of the request that created the task, carried into its events and webhooks. */
  traceId?: string;
  subscriptions: StoredSubscription[];
  /** Bumped by every update; the store's compare-and-set works on it. */
  version: number;
}

/**
 * A change to a task: gets the current record (a copy the function may modify) and returns the
 * new record, or undefined to leave the task as it is. It may throw (an ArcError, typically an
 * illegal transition); the store then changes nothing and rejects with that error. It may run
 * more than once when another writer got there first, so it must not have side effects.
 */
export type TaskMutation = (current: TaskRecord) => TaskRecord | undefined;

export type UpdateOutcome = { found: false } | { found: true; changed: boolean; task: TaskRecord; previous: TaskRecord };

export interface TaskStore {
  /**
   * Stores a new task; resolves false (and changes nothing) when the id exists at that agent.
   * A store with a per-agent cap (the memory store) rejects with TaskStoreFullError when full.
   */
  create(task: TaskRecord): Promise<boolean>;
  get(agentId: string, taskId: string): Promise<TaskRecord | undefined>;
  /** Applies `mutate` atomically (see TaskMutation); `version` and `updatedAt` are the store's to set. */
  update(agentId: string, taskId: string, mutate: TaskMutation): Promise<UpdateOutcome>;
  /** Resolves when the store can serve; rejects when it cannot (readiness). */
  ping(): Promise<void>;
  /** Releases connections and timers. */
  dispose(): Promise<void>;
}

/** Terminal tasks (and untouched ones) are kept this long, then forgotten (TASK_RETENTION_SECONDS). */
export const TASK_RETENTION_SECONDS = 7 * 24 * 60 * 60;

/** Tasks one agent may have in the in-memory store, terminal ones included (MemoryTaskStore's maxTasksPerAgent). */
export const MAX_TASKS_PER_AGENT = 100_000;

/** A store refused a new task because an agent has as many tasks as it may keep. */
export class TaskStoreFullError extends Error {
  constructor(
    readonly agentId: string,
    readonly limit: number,
  ) {
    super(`agent ${agentId} has ${limit} tasks, the most this store keeps`);
    this.name = 'TaskStoreFullError';
  }
}

export const TERMINAL_STATUSES: ReadonlySet<TaskStatus> = new Set(['COMPLETED', 'FAILED', 'CANCELED']);
