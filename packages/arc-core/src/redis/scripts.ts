/**
 * The Lua scripts of the Redis stores (chats, tasks), one place for all of them (STYLE.md 13). Each runs
 * atomically on one key; KEYS and ARGV are documented at its head. Run with EVALSHA, falling
 * back to EVAL after NOSCRIPT (e.g. when Redis restarted), see `runScript`.
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

/** EVALSHA, and EVAL when Redis does not know the script (yet, or any more). */
export async function runScript(client: Redis, script: LuaScript, key: string, args: string[]): Promise<unknown> {
  try {
    return await client.evalsha(script.sha, 1, key, ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return client.eval(script.source, 1, key, ...args);
  }
}
