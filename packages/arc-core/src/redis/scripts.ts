/**
 * The Lua scripts of the Redis stores (chats, tasks), the task queue and the webhook outbox, one
 * place for all of them (STYLE.md 13). Each runs atomically on the keys it is given; KEYS and
 * ARGV are documented at its head. Run with EVALSHA, falling back to EVAL after NOSCRIPT (e.g.
 * when Redis restarted), see `runScript`.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

function lua(name: string, source: string): LuaScript {
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * Creates a chat unless its key exists.
 * KEYS[1] chat; ARGV[1] TTL in ms (0: none); ARGV[2..] field, value, … → 1 created, 0 exists.
 */
export const CREATE_CHAT = lua(
  'create-chat',
  `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
local ttl = tonumber(ARGV[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`,
);

/**
 * Reads a chat and, if it is not CLOSED, restarts its idle expiry.
 * KEYS[1] chat; ARGV[1] idle TTL in ms → {} (no such chat) | {field, value, …}
 */
export const TOUCH_CHAT = lua(
  'touch-chat',
  `
local out = redis.call('HGETALL', KEYS[1])
if #out == 0 then return out end
if redis.call('HGET', KEYS[1], 'status') ~= 'CLOSED' then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return out
`,
);

/**
 * Replaces the agent's state of an ACTIVE chat (its idle expiry is left as it is).
 * KEYS[1] chat; ARGV[1] state (JSON) → 'ok' | 'not-found' | 'closed'
 */
export const SAVE_CHAT_STATE = lua(
  'save-chat-state',
  `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'not-found' end
if status == 'CLOSED' then return 'closed' end
redis.call('HSET', KEYS[1], 'state', ARGV[1])
return 'ok'
`,
);

/**
 * Closes an ACTIVE chat; of concurrent closers exactly one gets 'ok'.
 * KEYS[1] chat; ARGV[1] closedAt; ARGV[2] reason (JSON); ARGV[3] TTL in ms
 * → {'not-found'} | {'already-closed'} | {'ok', field, value, …}
 */
export const CLOSE_CHAT = lua(
  'close-chat',
  `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'not-found'} end
if status == 'CLOSED' then return {'already-closed'} end
redis.call('HSET', KEYS[1], 'status', 'CLOSED', 'closedAt', ARGV[1], 'updatedAt', ARGV[1], 'reason', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local out = redis.call('HGETALL', KEYS[1])
table.insert(out, 1, 'ok')
return out
`,
);

/**
 * Creates a task unless its key exists.
 * KEYS[1] task; ARGV[1] TTL in ms; ARGV[2] record (JSON); ARGV[3] version; ARGV[4] status
 * → 1 created, 0 exists.
 */
export const CREATE_TASK = lua(
  'create-task',
  `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'json', ARGV[2], 'version', ARGV[3], 'status', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`,
);

/**
 * Replaces a task if its version is still the one the writer read (compare-and-set), and
 * restarts its expiry.
 * KEYS[1] task; ARGV[1] expected version; ARGV[2] new version; ARGV[3] record (JSON);
 * ARGV[4] status; ARGV[5] TTL in ms → 1 written, 0 version changed meanwhile, -1 no such task.
 */
export const UPDATE_TASK = lua(
  'update-task',
  `
local version = redis.call('HGET', KEYS[1], 'version')
if not version then return -1 end
if version ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'json', ARGV[3], 'version', ARGV[2], 'status', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`,
);

/**
 * Counts one more run queued for a task and restarts the counter's expiry (BullMQTaskQueue).
 * KEYS[1] task-runs counter; ARGV[1] TTL in ms → the run's number (1, 2, …)
 */
export const NEXT_TASK_RUN = lua(
  'next-task-run',
  `
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return n
`,
);

/*
 * The webhook outbox (RedisOutbox): a LIST per subscription whose elements are
 * '<deliveryId> <delivery JSON>', so that a script can tell the head's id without decoding JSON,
 * and a SET of the subscriptions whose LIST is not empty. Each script keeps the two in step.
 */

/**
 * Appends a delivery to its subscription's list.
 * KEYS[1] list; KEYS[2] pending set; ARGV[1] element; ARGV[2] list TTL in ms; ARGV[3] subscriptionId
 * → the list's length (1: the delivery is the head and needs a job)
 */
export const PUSH_DELIVERY = lua(
  'push-delivery',
  `
local n = redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return n
`,
);

/**
 * Removes the head if it is still the given delivery (of two workers finishing it, one wins); an
 * element without a space (not ours: unreadable) has the whole element as its id.
 * KEYS[1] list; KEYS[2] pending set; ARGV[1] deliveryId; ARGV[2] list TTL in ms; ARGV[3] subscriptionId
 * → 1 removed, 0 the head is another delivery, -1 the list is empty or gone
 */
export const POP_DELIVERY = lua(
  'pop-delivery',
  `
local head = redis.call('LINDEX', KEYS[1], 0)
if not head then
  redis.call('SREM', KEYS[2], ARGV[3])
  return -1
end
local id = ARGV[1] .. ' '
if head ~= ARGV[1] and string.sub(head, 1, #id) ~= id then return 0 end
redis.call('LPOP', KEYS[1])
if redis.call('LLEN', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[2], ARGV[3])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
`,
);

/**
 * The id of a subscription's head delivery; forgets the subscription if its list is empty or
 * expired.
 * KEYS[1] list; KEYS[2] pending set; ARGV[1] subscriptionId → the head's deliveryId | false (nil)
 */
export const HEAD_DELIVERY = lua(
  'head-delivery',
  `
local head = redis.call('LINDEX', KEYS[1], 0)
if not head then
  redis.call('SREM', KEYS[2], ARGV[1])
  return false
end
return string.sub(head, 1, (string.find(head, ' ', 1, true) or (#head + 1)) - 1)
`,
);

/**
 * Drops every delivery waiting for a subscription.
 * KEYS[1] list; KEYS[2] pending set; ARGV[1] subscriptionId → deliveries dropped
 */
export const DROP_DELIVERIES = lua(
  'drop-deliveries',
  `
local n = redis.call('LLEN', KEYS[1])
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
return n
`,
);

/** EVALSHA, and EVAL when Redis does not know the script (yet, or any more). */
export async function runScript(client: Redis, script: LuaScript, key: string, args: string[]): Promise<unknown> {
  try {
    return await client.evalsha(script.sha, 1, key, ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return client.eval(script.source, 1, key, ...args);
  }
}

/** runScript for a script of several keys. */
export async function runScriptOn(client: Redis, script: LuaScript, keys: string[], args: string[]): Promise<unknown> {
  try {
    return await client.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return client.eval(script.source, keys.length, ...keys, ...args);
  }
}
