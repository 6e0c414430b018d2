/**
 * @arc/core/redis — the Redis-backed state, a separate entry point so that the protocol core
 * never loads ioredis or bullmq: chat and task stores, the BullMQ task queue, the webhook outbox,
 * rate-limit counters shared by replicas.
 *
 *   import { RedisChatStore } from '@arc/core/redis';
 *   const server = createArcServer({ serverId, chatStore: new RedisChatStore({ url: process.env.REDIS_URL }) });
 */
export { RedisChatStore, redisClientOptions, type RedisChatStoreOptions } from './redis-chat-store';
export { chatKey, taskKey } from './keys';
export { RedisTaskStore, type RedisTaskStoreOptions } from './redis-task-store';
export { BullMQTaskQueue, type BullMQTaskQueueOptions } from './bullmq-task-queue';
export { RedisOutbox, type RedisOutboxOptions } from './redis-outbox';
export { RedisRateCounterStore, type RedisRateCounterStoreOptions } from './redis-rate-limiter';
