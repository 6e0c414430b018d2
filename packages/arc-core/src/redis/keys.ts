/**
 * Every Redis key this package writes is built here (STYLE.md 13).
 *
 *   <keyPrefix>chat:<agentId>:<chatId>      one chat, a Redis HASH; keyPrefix defaults to 'arc:'
 *   <keyPrefix>task:<agentId>:<taskId>      one task, a Redis HASH (RedisTaskStore)
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

function escapeKeyPart(part: string): string {
  return part.replace(/[%:]/g, (c) => (c === '%' ? '%25' : '%3A'));
}
