/**
 * Every Redis key this package writes is built here (STYLE.md 13).
 *
 *   <keyPrefix>chat:<agentId>:<chatId>      one chat, a Redis HASH; keyPrefix defaults to 'arc:'
 *   <keyPrefix>task:<agentId>:<taskId>      one task, a Redis HASH (RedisTaskStore)
 *   <keyPrefix>task-runs:<agentId>:<taskId> runs queued for a task, a counter (BullMQTaskQueue)
 *   <keyPrefix>webhook:<subscriptionId>     deliveries waiting for a subscription, a LIST (RedisOutbox)
 *   <keyPrefix>webhook-pending              subscriptions whose LIST is not empty, a SET (RedisOutbox)
 *   <keyPrefix>bull:<queue>:…               BullMQ's own keys: queues tasks.<agentId> and webhooks
 *   <keyPrefix>task-abort                   a pub/sub channel, not a key (task.cancel → the running replica)
 *   <keyPrefix>rl:agent:<agentId>           requests to an agent in the current window, a counter (RedisRateCounterStore)
 *   <keyPrefix>rl:caller:<agentId>:<caller> one caller's requests to an agent in the current window, a counter
 *
 *   e.g. arc:chat:finance-agent:chat-0123456789abcdef
 *        arc:task:finance-agent:task-0123456789abcdef
 *
 * Ids are written as they are, except that '%' becomes '%25' and ':' becomes '%3A', so the key
 * is unambiguous even for agent ids that contain ':' (agent 'a:b' with chat 'c' and agent 'a'
 * with chat 'b:c' are two keys).
 */
export function chatKey(keyPrefix: string, agentId: string, chatId: string): string {
  return `${keyPrefix}chat:${escapeKeyPart(agentId)}:${escapeKeyPart(chatId)}`;
}

/** One task of an agent (see redis-task-store.ts for its fields); ids escaped as for chatKey. */
export function taskKey(keyPrefix: string, agentId: string, taskId: string): string {
  return `${keyPrefix}task:${escapeKeyPart(agentId)}:${escapeKeyPart(taskId)}`;
}

/** How many runs of a task were queued: the n of its BullMQ job ids (BullMQTaskQueue). */
export function taskRunsKey(keyPrefix: string, agentId: string, taskId: string): string {
  return `${keyPrefix}task-runs:${escapeKeyPart(agentId)}:${escapeKeyPart(taskId)}`;
}

/** The channel on which task.cancel reaches whichever replica runs the task. */
export function taskAbortChannel(keyPrefix: string): string {
  return `${keyPrefix}task-abort`;
}

/** The deliveries waiting for one webhook subscription, oldest first (RedisOutbox). */
export function webhookListKey(keyPrefix: string, subscriptionId: string): string {
  return `${keyPrefix}webhook:${escapeKeyPart(subscriptionId)}`;
}

/** The subscriptions that have deliveries waiting: what RedisOutbox's sweep walks. */
export function webhookPendingKey(keyPrefix: string): string {
  return `${keyPrefix}webhook-pending`;
}

/** BullMQ's `prefix` option: its keys are `<keyPrefix>bull:<queue>:…`. */
export function bullPrefix(keyPrefix: string): string {
  return `${keyPrefix}bull`;
}

/** The BullMQ queue of one agent's task runs (BullMQ refuses ':' in queue names). */
export function taskQueueName(agentId: string): string {
  return `tasks.${escapeKeyPart(agentId)}`;
}

/** The BullMQ job of the n-th run queued for a task (BullMQ refuses ':' and integers as job ids). */
export function taskJobId(taskId: string, n: number): string {
  return `${escapeKeyPart(taskId)}.${n}`;
}

/** The BullMQ job that attempts one webhook delivery while it heads its subscription's list. */
export function deliveryJobId(deliveryId: string): string {
  return `d.${escapeKeyPart(deliveryId)}`;
}

/**
 * A rate-limit counter (RedisRateCounterStore): an agent's (scope 'agent'), or one caller's at an
 * agent (scope 'caller'). The caller comes last, so it is written as it is.
 */
export function rateLimitKey(keyPrefix: string, scope: string, agentId: string, caller?: string): string {
  const agent = `${keyPrefix}rl:${scope}:${escapeKeyPart(agentId)}`;
  return caller === undefined ? agent : `${agent}:${caller}`;
}

function escapeKeyPart(part: string): string {
  return part.replace(/[%:]/g, (c) => (c === '%' ? '%25' : '%3A'));
}
