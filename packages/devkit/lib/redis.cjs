'use strict';
/**
 * Redis for tests, scripts and the benchmark: is it there (async, or synchronously for a test
 * file deciding at load time whether its suite runs), a key prefix of a run's own and the
 * deletion of everything under it, and a private redis-server (nothing kept on disk) that a
 * test may stop, pause or kill without touching the machine's Redis.
 *
 * ioredis is @arc/core's dependency; it is loaded from there, only when a client is needed.
 */
const { spawnSync } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { createRequire } = require('node:module');
const { join } = require('node:path');
const { findRedisServer } = require('./binaries.cjs');
const { freePort } = require('./ports.cjs');
const { startProcess } = require('./processes.cjs');
const { ROOT } = require('./root.cjs');

/** The Redis this machine runs (the tests' and `npm run cluster`'s default). */
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

let ioredis;
function loadIoredis() {
  ioredis ??= createRequire(join(ROOT, 'packages', 'arc-core', 'package.json'))('ioredis');
  return ioredis;
}

/** An ioredis client that fails fast instead of reconnecting or queueing (probes, cleanup); connect() it. */
function shortLivedClient(url = DEFAULT_REDIS_URL, timeoutMs = 2000) {
  const { Redis } = loadIoredis();
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => undefined); // each command rejects with the reason
  return client;
}

/**
 * Closes a client politely when it is connected (QUIT: Redis closes at once), else drops it.
 * A bare disconnect() leaves a 2 s ioredis timer behind, which keeps a test process alive.
 */
async function closeClient(client) {
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      /* fall through */
    }
  }
  client.disconnect();
}

/** `url` with its password hidden, for messages. */
const redactUrl = (url) => url.replace(/\/\/[^@/]*@/, '//***@');

/** null when Redis at `url` answers PING within `timeoutMs`, else why not. */
async function redisProblemAsync(url = DEFAULT_REDIS_URL, timeoutMs = 2000) {
  const client = shortLivedClient(url, timeoutMs);
  let lastError;
  client.on('error', (err) => (lastError = err));
  try {
    await client.connect();
    const pong = await client.ping();
    return pong === 'PONG' ? null : `Redis at ${redactUrl(url)} answered PING with ${pong}`;
  } catch (err) {
    return `Redis at ${redactUrl(url)} does not answer PING (${(lastError ?? err).message})`;
  } finally {
    await closeClient(client);
  }
}

/**
 * redisProblemAsync, synchronously (in a child node process): jest declares suites
 * synchronously, so a test file decides at load time whether its suite runs.
 */
function redisProblem(url = DEFAULT_REDIS_URL, timeoutMs = 2000) {
  const script = `require(${JSON.stringify(__filename)}).redisProblemAsync(process.argv[1], Number(process.argv[2]))
    .then((p) => { process.stdout.write(p ?? ''); process.exit(p ? 1 : 0); }, (e) => { process.stdout.write(String(e)); process.exit(1); });`;
  const r = spawnSync(process.execPath, ['-e', script, url, String(timeoutMs)], { encoding: 'utf8', timeout: timeoutMs + 5000 });
  if (r.status === 0) return null;
  return r.stdout.trim() || `Redis at ${redactUrl(url)}: the probe failed (${r.error?.message || r.stderr.trim() || `exit ${r.status}`})`;
}

/** A key prefix no other run uses, e.g. `arc-e2e-3f9a1c2b:`. */
function testKeyPrefix(tag = 'arc-e2e') {
  return `${tag}-${randomBytes(4).toString('hex')}:`;
}

const escapeGlob = (text) => text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

/** Every key under `prefix` (SCAN, so Redis is never blocked), with a connected ioredis client. */
async function keysUnder(client, prefix) {
  const keys = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/** Deletes (UNLINK) every key under `prefix`; resolves how many there were. Refuses an empty prefix. */
async function deleteKeysUnder(prefix, url = DEFAULT_REDIS_URL) {
  if (typeof prefix !== 'string' || prefix.length < 2) throw new Error(`refusing to delete keys under ${JSON.stringify(prefix)}`);
  const client = shortLivedClient(url);
  try {
    await client.connect();
    const keys = await keysUnder(client, prefix);
    for (let i = 0; i < keys.length; i += 500) await client.unlink(...keys.slice(i, i + 500));
    return keys.length;
  } finally {
    await closeClient(client);
  }
}

/**
 * A private redis-server on 127.0.0.1:`port` (0: a free one), nothing saved (`--save ''
 * --appendonly no`); resolves once it accepts connections. stop() defaults to SIGKILL: a test
 * usually wants it gone at once. `binary` defaults to findRedisServer().
 */
async function startRedisServer({ binary = findRedisServer(), port = 0, host = '127.0.0.1', timeoutMs = 10_000 } = {}) {
  if (!binary) throw new Error('redis-server is not installed (apt-get install -y redis-server, or set REDIS_SERVER)');
  const p = port || (await freePort(host));
  const proc = await startProcess({
    name: `redis-server:${p}`,
    command: binary,
    args: ['--port', String(p), '--bind', host, '--save', '', '--appendonly', 'no'],
    readyOutput: 'Ready to accept connections',
    timeoutMs,
    keepOutput: 16_384,
  });
  const stop = proc.stop;
  return Object.assign(proc, {
    port: p,
    url: `redis://${host}:${p}`,
    stop: (sig = 'SIGKILL', graceMs = 5_000) => stop(sig, graceMs),
  });
}

module.exports = {
  DEFAULT_REDIS_URL,
  shortLivedClient,
  redactUrl,
  redisProblemAsync,
  redisProblem,
  testKeyPrefix,
  keysUnder,
  deleteKeysUnder,
  startRedisServer,
};
