/**
 * @arc/core/redis — the Redis chat store, a separate entry point so that the protocol core
 * never loads ioredis:
 *
 *   import { RedisChatStore } from '@arc/core/redis';
 *   const server = createArcServer({ serverId, chatStore: new RedisChatStore({ url: process.env.REDIS_URL }) });
 */
export { RedisChatStore, redisClientOptions, type RedisChatStoreOptions } from './redis-chat-store';
export { chatKey, taskKey } from './keys';
export { RedisTaskStore, type RedisTaskStoreOptions } from './redis-task-store';
