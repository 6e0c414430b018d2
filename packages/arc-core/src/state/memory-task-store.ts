/**
 * In-process task store: the single server's embedded default.
 *
 * Each task is held as its JSON text, which is what RedisTaskStore holds too: both stores hand
 * out the same records (a property set to undefined is dropped by both, a value JSON cannot
 * carry fails in both), every record handed out is a fresh copy, and a record held costs its
 * text, not a graph of objects. `update` is synchronous between reading and writing, so it is
 * atomic without locks.
 *
 * Every task expires `retentionSeconds` after its last change (create or a changing update);
 * expired tasks are invisible at once and dropped by a sweep on an unref'd timer (it never keeps
 * the process alive). Tasks per agent are capped, so no client can grow the heap without bound.
 */
import { isoNow } from '../util/iso-now';
import {
  MAX_TASKS_PER_AGENT,
  TASK_RETENTION_SECONDS,
  TaskStoreFullError,
  type TaskMutation,
  type TaskRecord,
  type TaskStore,
  type UpdateOutcome,
} from './task-store';

export interface MemoryTaskStoreOptions {
  /** A task is forgotten this long after its last change (default TASK_RETENTION_SECONDS, 7 days). */
  retentionSeconds?: number;
  /** Tasks per agent, terminal ones included, before create rejects with TaskStoreFullError (default 100,000). */
  maxTasksPerAgent?: number;
  /** How often expired tasks are swept; defaults to a tenth of the retention, at most 10 minutes. */
  sweepIntervalMs?: number;
  /** The clock (epoch ms) for expiry and `updatedAt`; default Date.now. */
  now?: () => number;
}

interface Entry {
  /** The record as JSON. */
  json: string;
  /** Epoch ms after which the task is gone. */
  expiresAt: number;
}

interface AgentTasks {
  entries: Map<string, Entry>;
  /** When a full agent's tasks were last swept on demand (epoch ms). */
  sweptAt: number;
}

const ON_DEMAND_SWEEP_MS = 1000;

export class MemoryTaskStore implements TaskStore {
  /** agentId → tasks: no per-call key strings to build. */
  private readonly agents = new Map<string, AgentTasks>();
  private readonly retentionMs: number;
  private readonly maxTasks: number;
  private readonly now: () => number;
  private readonly isoNow: () => string;
  private readonly timer: NodeJS.Timeout;

  constructor(options: MemoryTaskStoreOptions = {}) {
    this.retentionMs = positive(options.retentionSeconds ?? TASK_RETENTION_SECONDS, 'retentionSeconds') * 1000;
    this.maxTasks = positive(options.maxTasksPerAgent ?? MAX_TASKS_PER_AGENT, 'maxTasksPerAgent');
    const now = options.now;
    this.now = now ?? Date.now;
    // updatedAt follows an injected clock, so that tests see one time line.
    this.isoNow = now ? () => new Date(now()).toISOString() : isoNow;
    const interval = options.sweepIntervalMs ?? Math.min(this.retentionMs / 10, 600_000);
    this.timer = setInterval(() => this.sweep(), Math.max(interval, 10));
    this.timer.unref();
  }

  async create(task: TaskRecord): Promise<boolean> {
    const json = JSON.stringify(task);
    let tasks = this.agents.get(task.agentId);
    if (!tasks) {
      tasks = { entries: new Map(), sweptAt: -Infinity };
      this.agents.set(task.agentId, tasks);
    }
    const now = this.now();
    const existing = tasks.entries.get(task.taskId);
    if (existing) {
      if (existing.expiresAt > now) return false;
      tasks.entries.delete(task.taskId);
    }
    if (tasks.entries.size >= this.maxTasks) {
      // Expired tasks are still counted until the next sweep: sweep before refusing, but at most
      // once a second, so that a full agent does not walk all its tasks for every refusal.
      if (now - tasks.sweptAt >= ON_DEMAND_SWEEP_MS) {
        tasks.sweptAt = now;
        sweepAgent(tasks, now);
      }
      if (tasks.entries.size >= this.maxTasks) throw new TaskStoreFullError(task.agentId, this.maxTasks);
    }
    tasks.entries.set(task.taskId, { json, expiresAt: now + this.retentionMs });
    return true;
  }

  async get(agentId: string, taskId: string): Promise<TaskRecord | undefined> {
    const entry = this.live(agentId, taskId);
    return entry ? (JSON.parse(entry.json) as TaskRecord) : undefined;
  }

  async update(agentId: string, taskId: string, mutate: TaskMutation): Promise<UpdateOutcome> {
    const entry = this.live(agentId, taskId);
    if (!entry) return { found: false };
    const previous = JSON.parse(entry.json) as TaskRecord;
    // mutate gets its own copy: whatever it does to it before returning undefined or throwing
    // leaves the stored task as it was (a throw rejects this call with that very error).
    const next = mutate(JSON.parse(entry.json) as TaskRecord);
    if (next === undefined) return { found: true, changed: false, task: JSON.parse(entry.json) as TaskRecord, previous };
    if (next.taskId !== taskId || next.agentId !== agentId)
      throw new Error('MemoryTaskStore update: a mutation must not change taskId or agentId');
    next.version = previous.version + 1;
    next.updatedAt = this.isoNow();
    const json = JSON.stringify(next);
    entry.json = json;
    entry.expiresAt = this.now() + this.retentionMs;
    return { found: true, changed: true, task: JSON.parse(json) as TaskRecord, previous };
  }

  async ping(): Promise<void> {
    /* always ready */
  }

  async dispose(): Promise<void> {
    clearInterval(this.timer);
  }

  /** Number of tasks held, expired ones included until the next sweep (for tests and metrics). */
  get size(): number {
    let n = 0;
    for (const tasks of this.agents.values()) n += tasks.entries.size;
    return n;
  }

  /** Tasks of an agent, expired ones included until the next sweep (for tests and metrics). */
  tasksOf(agentId: string): number {
    return this.agents.get(agentId)?.entries.size ?? 0;
  }

  /** Drops expired tasks. */
  sweep(): void {
    const now = this.now();
    for (const [agentId, tasks] of this.agents) {
      sweepAgent(tasks, now);
      if (tasks.entries.size === 0) this.agents.delete(agentId);
    }
  }

  private live(agentId: string, taskId: string): Entry | undefined {
    const tasks = this.agents.get(agentId);
    const entry = tasks?.entries.get(taskId);
    if (entry && entry.expiresAt <= this.now()) {
      tasks?.entries.delete(taskId);
      return undefined;
    }
    return entry;
  }
}

function sweepAgent(tasks: AgentTasks, now: number): void {
  for (const [taskId, entry] of tasks.entries) if (entry.expiresAt <= now) tasks.entries.delete(taskId);
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`MemoryTaskStore: ${name} must be a positive number`);
  return value;
}
