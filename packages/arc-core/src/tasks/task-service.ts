/**
 * The task machinery of one server: the store, the queue, the engine that answers task.*
 * requests and the runner that executes runs, wired together. The router owns one; agents'
 * task handlers are registered with it when the agent is mounted. Defaults are in-process
 * (MemoryTaskStore, MemoryTaskQueue); a deployment with Redis passes the shared ones.
 */
import type { Logger } from '../logging/logger';
import { MemoryTaskStore } from '../state/memory-task-store';
import type { TaskStore } from '../state/task-store';
import { noEvents, type TaskEventSink } from './events';
import { MemoryTaskQueue } from './memory-task-queue';
import type { TaskHandler } from './task-context';
import { TaskEngine } from './task-engine';
import type { TaskQueue } from './task-queue';
import { TaskRecords, type TaskStatusObserver } from './task-records';
import { TaskRunner } from './task-runner';
import { WebhookDispatcher, type WebhookObserver } from '../webhooks/dispatcher';
import { MemoryOutbox } from '../webhooks/memory-outbox';
import { DEFAULT_RETRY_POLICY, type Outbox, type RetryPolicy } from '../webhooks/outbox';
import { DEFAULT_WEBHOOK_POLICY, callbackChecker, type HostResolver, type WebhookNetworkPolicy } from '../webhooks/ssrf';

export interface WebhookOptions {
  /** Where deliveries wait (default: in this process). */
  outbox?: Outbox;
  /** WEBHOOK_SECRET: signs deliveries (both schemes). */
  secret?: string;
  /** Which callback addresses may be called (WEBHOOK_ALLOWED_HOSTS, WEBHOOK_ALLOW_PRIVATE_NETWORKS). */
  policy?: Partial<WebhookNetworkPolicy>;
  /** Per attempt (WEBHOOK_TIMEOUT_MS, default 10 s). */
  timeoutMs?: number;
  /** Retry schedule of the default outbox (WEBHOOK_RETRY_BASE_MS, WEBHOOK_RETRY_WINDOW_SECONDS). */
  retry?: Partial<RetryPolicy>;
  /** Tests inject a resolver. */
  resolve?: HostResolver;
}

export interface TaskOptions {
  store?: TaskStore;
  queue?: TaskQueue;
  /** Webhook delivery of the lifecycle events. */
  webhooks?: WebhookOptions;
  /** Also told of every event (metrics, tests); after the webhooks. */
  events?: TaskEventSink;
  /** Runs of one agent at once, for the default in-process queue (TASK_CONCURRENCY, default 4). */
  concurrency?: number;
  /** Time one run may take before the task fails with -42005 (TASK_TIMEOUT_MS, default 10 min). */
  timeoutMs?: number;
  /** Runs one task may start in all (TASK_MAX_ATTEMPTS, default 3). */
  maxAttempts?: number;
  /** Largest task record in JSON bytes (TASK_MAX_BYTES, default 1 MiB). */
  maxTaskBytes?: number;
  /** Names this server in the tasks it runs (`runner` in task.info); the router passes its serverId. */
  workerId?: string;
  /** The SSRF guard for task.subscribe's callbackUrl (default: the webhook policy's); rejects with -32602. */
  checkCallbackUrl?: (url: string) => Promise<void>;
}

/** Told of task status changes and webhook outcomes (metrics/task-metrics.ts). */
export type TaskObserver = TaskStatusObserver & WebhookObserver;

export const TASK_DEFAULTS = Object.freeze({ concurrency: 4, timeoutMs: 600_000, maxAttempts: 3, maxTaskBytes: 1024 * 1024 });

export class TaskService {
  readonly store: TaskStore;
  readonly queue: TaskQueue;
  readonly engine: TaskEngine;
  readonly webhooks: WebhookDispatcher;
  private readonly handlers = new Map<string, TaskHandler>();
  private started = false;
  private readonly runner: TaskRunner;
  private readonly records: TaskRecords;

  constructor(options: TaskOptions, logger: Logger) {
    this.store = options.store ?? new MemoryTaskStore();
    this.queue = options.queue ?? new MemoryTaskQueue({ concurrency: options.concurrency ?? TASK_DEFAULTS.concurrency });
    const w = options.webhooks ?? {};
    const policy: WebhookNetworkPolicy = { ...DEFAULT_WEBHOOK_POLICY, ...w.policy };
    this.webhooks = new WebhookDispatcher({
      outbox: w.outbox ?? new MemoryOutbox({ ...DEFAULT_RETRY_POLICY, ...w.retry }),
      store: this.store,
      logger,
      secret: w.secret,
      policy,
      timeoutMs: w.timeoutMs,
      resolve: w.resolve,
    });
    const extra = options.events ?? noEvents;
    const events: TaskEventSink = {
      emit: async (task, e) => {
        await this.webhooks.emit(task, e);
        await extra.emit(task, e);
      },
    };
    this.records = new TaskRecords(this.store, events, logger, options.maxTaskBytes ?? TASK_DEFAULTS.maxTaskBytes);
    const records = this.records;
    this.engine = new TaskEngine({
      records,
      queue: this.queue,
      logger,
      checkCallbackUrl: options.checkCallbackUrl ?? callbackChecker(policy, w.resolve),
    });
    this.runner = new TaskRunner({
      records,
      logger,
      handlerOf: (agentId) => this.handlers.get(agentId),
      timeoutMs: options.timeoutMs ?? TASK_DEFAULTS.timeoutMs,
      maxAttempts: options.maxAttempts ?? TASK_DEFAULTS.maxAttempts,
      workerId: options.workerId ?? 'arc-server',
    });
  }

  /** Sets the one observer of task status changes and webhook outcomes (metrics). */
  observe(observer: TaskObserver): void {
    this.records.observer = observer;
    this.webhooks.observer = observer;
  }

  /** Registers an agent's handler; the queue starts with the first one. */
  register(agentId: string, handler: TaskHandler): void {
    this.handlers.set(agentId, handler);
    this.queue.serve?.(agentId);
    if (!this.started) {
      this.started = true;
      this.queue.start(this.runner.process);
      this.webhooks.start();
    }
  }

  get handlesTasks(): boolean {
    return this.handlers.size > 0;
  }

  /** Readiness of the task store and the queue. */
  async ping(): Promise<void> {
    await this.store.ping().catch((err: unknown) => {
      throw new Error(`task store: ${err instanceof Error ? err.message : String(err)}`);
    });
    await this.queue.ping().catch((err: unknown) => {
      throw new Error(`task queue: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  /** Stops taking runs (running ones are aborted, to run again elsewhere) and releases the store. */
  async close(): Promise<void> {
    await this.queue.close();
    await this.webhooks.close();
    await this.store.dispose();
  }
}
