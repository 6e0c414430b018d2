/**
 * The Redis side of the benchmark: check that Redis answers before starting the Redis
 * variants, and delete every key the run wrote (all under one prefix unique to the run,
 * `arcbench:<run id>:`) at the end, on errors and on Ctrl-C too. The probe and the deletion are
 * @arc/devkit's; this module only refuses to delete anything that is not a bench prefix.
 */
import { deleteKeysUnder, redisProblemAsync } from '@arc/devkit';

/** Resolves true when PING answers within 2 s. */
export async function redisAvailable(url) {
  return (await redisProblemAsync(url, 2000)) === null;
}

/** Deletes every key that starts with `prefix`; resolves the number deleted. */
export async function deleteKeys(url, prefix) {
  if (!/^arcbench:[A-Za-z0-9._-]+:$/.test(prefix)) throw new Error(`refusing to delete keys under ${prefix}`);
  return deleteKeysUnder(prefix, url);
}
