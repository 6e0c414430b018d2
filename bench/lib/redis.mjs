/**
 * The Redis side of the benchmark: check that Redis answers before starting the Redis
 * variants, find redis-server's process (its CPU is a cost of the Redis rows), and delete every
 * key the run wrote (all under one prefix unique to the run, `arcbench:<run id>:`) at the end,
 * on errors and on Ctrl-C too. The probe, the client and the deletion are @arc/devkit's; this
 * module only refuses to delete anything that is not a bench prefix.
 */
import { readFileSync } from 'node:fs';
import { deleteKeysUnder, redisProblemAsync, shortLivedClient } from '@arc/devkit';

/** Resolves true when PING answers within 2 s. */
export async function redisAvailable(url) {
  return (await redisProblemAsync(url, 2000)) === null;
}

/**
 * The pid of the redis-server at `url` (INFO's process_id), or null when it cannot be read
 * here: Redis in another container or pid namespace, where that pid is not a redis-server.
 */
export async function redisServerPid(url) {
  const client = shortLivedClient(url, 2000);
  try {
    await client.connect();
    const pid = Number(/^process_id:(\d+)/m.exec(await client.info('server'))?.[1]);
    const comm = Number.isInteger(pid) ? readFileSync(`/proc/${pid}/comm`, 'utf8').trim() : '';
    return comm.startsWith('redis-server') ? pid : null;
  } catch {
    return null;
  } finally {
    await client.quit().catch(() => client.disconnect());
  }
}

/** Deletes every key that starts with `prefix`; resolves the number deleted. */
export async function deleteKeys(url, prefix) {
  if (!/^arcbench:[A-Za-z0-9._-]+:$/.test(prefix)) throw new Error(`refusing to delete keys under ${prefix}`);
  return deleteKeysUnder(prefix, url);
}
