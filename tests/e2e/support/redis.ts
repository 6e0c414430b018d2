/**
 * Redis for the end-to-end tests: whether the machine's Redis answers, a key prefix of this
 * run's own (so parallel runs and the real `arc:` keys never mix) and its cleanup, and a private
 * redis-server the test may kill. A thin layer over @arc/devkit, keeping the API the e2e tests use.
 */
import {
  TEST_REDIS_URL,
  deleteKeysUnder as deleteUnder,
  redisProblem as probe,
  shortLivedClient as client,
  startRedisServer as startPrivate,
} from '@arc/devkit';
import type { RedisServer as DevkitRedisServer } from '@arc/devkit';
import type { Redis } from 'ioredis';

export { findRedisServer, keysUnder, testKeyPrefix } from '@arc/devkit';

/** The machine's Redis (REDIS_E2E_URL to use another). */
export const REDIS_URL = TEST_REDIS_URL;

/** A client that fails fast instead of reconnecting forever (for probes and cleanup); connect() it. */
export function shortLivedClient(url = REDIS_URL): Redis {
  return client(url);
}

/** null when Redis at `url` answers PING, else why not. Synchronous: a test file can decide at load time. */
export function redisProblem(url = REDIS_URL): string | null {
  return probe(url);
}

/** Deletes every key under `prefix`; resolves how many there were. */
export function deleteKeysUnder(prefix: string, url = REDIS_URL): Promise<number> {
  return deleteUnder(prefix, url);
}

export type RedisServer = DevkitRedisServer;

/** A private redis-server on `port` (0: a free one), nothing kept on disk; resolves once it accepts connections. */
export function startRedisServer(binary: string, port = 0): Promise<RedisServer> {
  return startPrivate({ binary, port });
}
