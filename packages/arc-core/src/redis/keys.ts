/**
 * Every Redis key this package writes is built here (STYLE.md 13).
 *
 *   <keyPrefix>chat:<agentId>:<chatId>      one chat, a Redis HASH; keyPrefix defaults to 'arc:'
 *
 *   e.g. arc:chat:finance-agent:chat-0123456789abcdef
 *
 * agentId and chatId are written as they are, except that '%' becomes '%25' and ':' becomes
 * '%3A', so the key is unambiguous even for agent ids that contain ':' (agent 'a:b' with chat
 * 'c' and agent 'a' with chat 'b:c' are two keys).
 */
export function chatKey(keyPrefix: string, agentId: string, chatId: string): string {
  return `${keyPrefix}chat:${escapeKeyPart(agentId)}:${escapeKeyPart(chatId)}`;
}

function escapeKeyPart(part: string): string {
  return part.replace(/[%:]/g, (c) => (c === '%' ? '%25' : '%3A'));
}
