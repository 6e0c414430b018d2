/**
 * The Redis side of the benchmark: check that Redis answers before starting the Redis
 * variants, and delete every key the run wrote (all under one prefix unique to the run,
 * `arcbench:<run id>:`) at the end, on errors and on Ctrl-C too.
 * ioredis is a dependency of @arc/core; it is resolved from there.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(fileURLToPath(new URL('../../packages/arc-core/package.json', import.meta.url)));
const { Redis } = require('ioredis');

function client(url) {
  return new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    retryStrategy: () => null,
  });
}

/** Resolves true when PING answers within 2 s. */
export async function redisAvailable(url) {
  const r = client(url);
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/** Deletes every key that starts with `prefix`; resolves the number deleted. */
export async function deleteKeys(url, prefix) {
  if (!/^arcbench:[A-Za-z0-9._-]+:$/.test(prefix)) throw new Error(`refusing to delete keys under ${prefix}`);
  const r = client(url);
  r.on('error', () => {});
  let deleted = 0;
  try {
    await r.connect();
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) deleted += await r.unlink(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    r.disconnect();
  }
}
