/**
 * The in-process task queue: the embedded default (no Redis). Runs wait in priority order per
 * agent, at most `concurrency` of one agent run at once, and a run whose processor rejects is
 * tried again after a backoff. Nothing survives the process: a restart of the single server
 * loses queued and running tasks (use REDIS_URL for durable tasks).
 */
import { PRIORITY_RANK, type TaskProcessor, type TaskQueue, type TaskRun } from './task-queue';

export interface MemoryTaskQueueOptions {
  /** Runs of one agent at once (default 4). */
  concurrency?: number;
  /** Delay before run n+1 after a rejected run n: base * 2^(n-1), with jitter (default 1000 ms). */
  retryDelayMs?: number;
  /** Longest retry delay (default 60 s). */
  maxRetryDelayMs?: number;
}

interface Waiting {
  run: TaskRun;
  seq: number;
  failures: number;
}

interface AgentLane {
  waiting: Waiting[];
  running: Map<string, AbortController>;
}

export class MemoryTaskQueue implements TaskQueue {
  private readonly lanes = new Map<string, AgentLane>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly concurrency: number;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private processor: TaskProcessor | undefined;
  private seq = 0;
  private closed = false;

  constructor(options: MemoryTaskQueueOptions = {}) {
    this.concurrency = options.concurrency ?? 4;
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 60_000;
  }

  start(processor: TaskProcessor): void {
    this.processor = processor;
    for (const agentId of this.lanes.keys()) this.pump(agentId);
  }

  async enqueue(run: TaskRun): Promise<void> {
    if (this.closed) throw new Error('task queue is closed');
    this.add({ run, seq: ++this.seq, failures: 0 });
  }

  async abort(agentId: string, taskId: string): Promise<void> {
    const lane = this.lanes.get(agentId);
    if (!lane) return;
    lane.waiting = lane.waiting.filter((w) => w.run.taskId !== taskId);
    lane.running.get(taskId)?.abort('canceled');
  }

  async ping(): Promise<void> {
    if (this.closed) throw new Error('task queue is closed');
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    for (const lane of this.lanes.values()) for (const c of lane.running.values()) c.abort('shutdown');
  }

  /** Runs waiting and running, per agent (for tests and metrics). */
  stats(agentId: string): { waiting: number; running: number } {
    const lane = this.lanes.get(agentId);
    return { waiting: lane?.waiting.length ?? 0, running: lane?.running.size ?? 0 };
  }

  private lane(agentId: string): AgentLane {
    let lane = this.lanes.get(agentId);
    if (!lane) {
      lane = { waiting: [], running: new Map() };
      this.lanes.set(agentId, lane);
    }
    return lane;
  }

  private add(w: Waiting): void {
    const lane = this.lane(w.run.agentId);
    // Insert in order (priority, then arrival); queues are short, a linear insert is enough.
    const rank = PRIORITY_RANK[w.run.priority];
    let i = lane.waiting.length;
    while (i > 0) {
      const prev = lane.waiting[i - 1]!;
      const prevRank = PRIORITY_RANK[prev.run.priority];
      if (prevRank < rank || (prevRank === rank && prev.seq < w.seq)) break;
      i--;
    }
    lane.waiting.splice(i, 0, w);
    this.pump(w.run.agentId);
  }

  private pump(agentId: string): void {
    const processor = this.processor;
    const lane = this.lanes.get(agentId);
    if (!processor || !lane || this.closed) return;
    while (lane.running.size < this.concurrency && lane.waiting.length > 0) {
      const w = lane.waiting.shift()!;
      // One run per task at a time: a second run of the same task waits for the first.
      if (lane.running.has(w.run.taskId)) {
        lane.waiting.push(w);
        if (lane.waiting.every((x) => lane.running.has(x.run.taskId))) break;
        continue;
      }
      const controller = new AbortController();
      lane.running.set(w.run.taskId, controller);
      processor(w.run, controller.signal)
        .then(
          () => undefined,
          () => this.retryLater(w),
        )
        .finally(() => {
          lane.running.delete(w.run.taskId);
          this.pump(agentId);
        });
    }
  }

  private retryLater(w: Waiting): void {
    if (this.closed) return;
    const failures = w.failures + 1;
    const base = Math.min(this.retryDelayMs * 2 ** (failures - 1), this.maxRetryDelayMs);
    const delay = base / 2 + Math.random() * (base / 2);
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.add({ ...w, failures });
    }, delay);
    timer.unref();
    this.retryTimers.add(timer);
  }
}
