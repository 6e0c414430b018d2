/**
 * Where a service keeps its state, from its validated configuration: in this process (the
 * default), or with REDIS_URL in Redis, shared by every replica (chats, tasks, the task queue and
 * the webhook outbox). The one place run-service decides it.
 */
import { allowedWebhookHosts, type ServiceConfig } from '../config/config';
import type { Logger } from '../logging/logger';
import { MemoryRateCounterStore } from '../limits/memory-rate-counter';
import type { RateCounterStore } from '../limits/rate-counter';
import { RedisChatStore } from '../redis/redis-chat-store';
import { RedisRateCounterStore } from '../redis/redis-rate-limiter';
import { BullMQTaskQueue } from '../redis/bullmq-task-queue';
import { RedisOutbox } from '../redis/redis-outbox';
import { RedisTaskStore } from '../redis/redis-task-store';
import type { ChatStore } from '../state/chat-store';
import { MemoryChatStore } from '../state/memory-chat-store';
import { MemoryTaskStore } from '../state/memory-task-store';
import { MemoryTaskQueue } from '../tasks/memory-task-queue';
import type { TaskOptions } from '../tasks/task-service';

export interface Backends {
  chatStore: ChatStore;
  tasks: TaskOptions;
  /** Rate-limit counters: in this process, or with REDIS_URL in Redis, shared by the replicas (created only when a limit applies). */
  rateLimitStore: () => RateCounterStore;
  /** 'memory' or 'redis', for the start-up log. */
  kind: 'memory' | 'redis';
}

export function backendsFor(config: ServiceConfig, logger: Logger): Backends {
  const webhooks: TaskOptions['webhooks'] = {
    secret: config.WEBHOOK_SECRET,
    policy: { allowedHosts: allowedWebhookHosts(config), allowPrivateNetworks: config.WEBHOOK_ALLOW_PRIVATE_NETWORKS },
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    retry: { baseDelayMs: config.WEBHOOK_RETRY_BASE_MS, windowMs: config.WEBHOOK_RETRY_WINDOW_SECONDS * 1000 },
  };
  const limits = { timeoutMs: config.TASK_TIMEOUT_MS, maxAttempts: config.TASK_MAX_ATTEMPTS, maxTaskBytes: config.TASK_MAX_BYTES };
  if (!config.REDIS_URL) {
    return {
      kind: 'memory',
      rateLimitStore: () => new MemoryRateCounterStore(),
      chatStore: new MemoryChatStore({
        idleTtlSeconds: config.CHAT_IDLE_TTL_SECONDS,
        maxActivePerAgent: config.MAX_ACTIVE_CHATS_PER_AGENT,
      }),
      tasks: {
        ...limits,
        store: new MemoryTaskStore({ retentionSeconds: config.TASK_RETENTION_SECONDS, maxTasksPerAgent: config.MAX_TASKS_PER_AGENT }),
        queue: new MemoryTaskQueue({ concurrency: config.TASK_CONCURRENCY }),
        webhooks,
      },
    };
  }
  const redis = { url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX, commandTimeoutMs: config.REDIS_TIMEOUT_MS, logger };
  return {
    kind: 'redis',
    rateLimitStore: () => new RedisRateCounterStore(redis),
    chatStore: new RedisChatStore({ ...redis, idleTtlSeconds: config.CHAT_IDLE_TTL_SECONDS }),
    tasks: {
      ...limits,
      store: new RedisTaskStore({ ...redis, retentionSeconds: config.TASK_RETENTION_SECONDS }),
      queue: new BullMQTaskQueue({
        ...redis,
        concurrency: config.TASK_CONCURRENCY,
        retentionSeconds: config.TASK_RETENTION_SECONDS,
        lockDurationMs: config.TASK_LOCK_MS,
        stalledIntervalMs: config.TASK_LOCK_MS,
      }),
      webhooks: {
        ...webhooks,
        outbox: new RedisOutbox({
          ...redis,
          retry: { baseDelayMs: config.WEBHOOK_RETRY_BASE_MS, windowMs: config.WEBHOOK_RETRY_WINDOW_SECONDS * 1000 },
        }),
      },
    },
  };
}
