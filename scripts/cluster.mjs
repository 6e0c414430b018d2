#!/usr/bin/env node
/**
 * `npm run cluster`: the distributed deployment on this machine, without Docker. Builds the
 * services if needed, starts finance (2 replicas by default), hr and support as processes on
 * free ports, and a real nginx in front of them, configured from nginx/arc.conf.template; stops
 * everything on Ctrl-C / SIGTERM.
 *
 *   CLUSTER_PORT      nginx port (default 8080)          CLUSTER_HOST   (default 127.0.0.1)
 *   FINANCE_REPLICAS  (default 2)   HR_REPLICAS (1)   SUPPORT_REPLICAS (1)
 *   LOG_LEVEL         of the services (default info)     --no-build     skip `turbo run build`
 *   --port N, --finance N, --hr N, --support N           the same as the variables
 *   REDIS_URL=<url> or --redis [url]   share chat state through Redis (--redis alone:
 *                     redis://127.0.0.1:6379); REDIS_KEY_PREFIX (default arc:). Without either,
 *                     each replica keeps its chats in memory and nothing else is needed.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import './ensure-installed.mjs';

const require = createRequire(import.meta.url);
const { ROOT, startCluster } = require('./lib/cluster.cjs');

const argv = process.argv.slice(2);
function option(flag, envName, fallback) {
  const i = argv.indexOf(flag);
  const raw = i >= 0 ? argv[i + 1] : process.env[envName];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`cluster: ${i >= 0 ? flag : envName}=${raw} is not a non-negative integer`);
    process.exit(2);
  }
  return n;
}

const port = option('--port', 'CLUSTER_PORT', 8080);
const host = process.env.CLUSTER_HOST || '127.0.0.1';
const replicas = {
  finance: option('--finance', 'FINANCE_REPLICAS', 2),
  hr: option('--hr', 'HR_REPLICAS', 1),
  support: option('--support', 'SUPPORT_REPLICAS', 1),
};
const logLevel = process.env.LOG_LEVEL || 'info';

// Shared chat state: off unless asked for (--redis [url], or REDIS_URL in the environment).
const redisFlag = argv.indexOf('--redis');
const redisUrl =
  redisFlag >= 0
    ? /^rediss?:\/\//.test(argv[redisFlag + 1] ?? '')
      ? argv[redisFlag + 1]
      : 'redis://127.0.0.1:6379'
    : process.env.REDIS_URL || undefined;
const redisPrefix = process.env.REDIS_KEY_PREFIX || 'arc:';
if (redisUrl) await checkRedis(redisUrl);
// Given explicitly, so the services get exactly this (REDIS_URL '' = the in-memory store).
const env = { REDIS_URL: redisUrl ?? '', REDIS_KEY_PREFIX: redisPrefix };

/** Exits with a clear message unless Redis at `url` answers PING within 3 s. */
async function checkRedis(url) {
  const { Redis } = require('ioredis');
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3000,
    commandTimeout: 3000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  let lastError;
  client.on('error', (err) => (lastError = err));
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    console.error(
      `cluster: Redis at ${url} does not answer (${(lastError ?? err).message}).\n` +
        'cluster: start one (e.g. redis-server --daemonize yes --save "" --appendonly no), or run without --redis / REDIS_URL.',
    );
    process.exit(1);
  } finally {
    client.disconnect();
  }
}

if (!argv.includes('--no-build')) {
  const turbo = join(ROOT, 'node_modules', '.bin', 'turbo');
  execFileSync(turbo, ['run', 'build', '--filter=@arc/finance', '--filter=@arc/hr', '--filter=@arc/support', '--output-logs=errors-only'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}

// Each line of a process's output, prefixed with its name.
const partial = new Map();
function onOutput(name, text) {
  const lines = ((partial.get(name) ?? '') + text).split('\n');
  partial.set(name, lines.pop());
  for (const line of lines) if (line) process.stdout.write(`[${name}] ${line}\n`);
}

let stopping = false;
const starting = startCluster({ replicas, host, port, logLevel, env, onOutput });
/** Stops whatever runs (also when a signal arrives while the cluster is still starting). */
async function stop(reason, code = 0) {
  if (stopping) return;
  stopping = true;
  console.log(`\ncluster: ${reason}; stopping`);
  const running = await starting.catch(() => undefined);
  if (running) await running.stop();
  console.log('cluster: stopped');
  process.exit(code);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));

let cluster;
try {
  cluster = await starting;
} catch (err) {
  if (stopping) await new Promise(() => {}); // stop() exits
  console.error(`cluster: could not start: ${err.message}`);
  if (/bind\(\) to .* failed|Address already in use/.test(err.message)) {
    console.error(`cluster: port ${port} is taken; choose another with CLUSTER_PORT=<port> npm run cluster`);
  }
  process.exit(1);
}
if (stopping) await new Promise(() => {}); // a signal arrived during the start: stop() exits

// Ctrl-C in a terminal signals the whole process group: nginx may exit before our own SIGINT
// handler runs, so an nginx exit only counts as a failure if no signal arrives just after it.
cluster.gateway.exited.then(({ code, signal }) => {
  setTimeout(() => void stop(`nginx exited (code ${code}, signal ${signal})`, 1), 200);
});
for (const r of cluster.replicas) {
  r.exited.then(({ code, signal }) => {
    if (!stopping)
      console.error(
        `cluster: ${r.name} (${r.address}) exited (code ${code}, signal ${signal}); nginx sends its requests to the other replicas`,
      );
  });
}

const rows = cluster.replicas.map((r) => `    ${r.name.padEnd(10)} ${r.url}  pid ${r.pid}`).join('\n');
console.log(`
ARC local cluster: nginx listening on ${cluster.url}  (config ${cluster.gateway.conf})
  routes:   POST ${cluster.url}/arc/finance   /arc/hr   /arc/support   (or /arc/<agent id>)
  health:   GET  ${cluster.url}/health        GET ${cluster.url}/health/<service>
  replicas:
${rows}
  chats:    ${
    redisUrl
      ? `in Redis at ${redisUrl.replace(/\/\/[^@/]*@/, '//***@')} (keys ${redisPrefix}chat:<agent>:<chat>): any replica serves any chat`
      : 'in memory, per replica: a finance follow-up that reaches another replica gets -43001 (--redis to share them)'
  }
  try:      ARC_BASE_URL=${cluster.url} npm run example:distributed
  Ctrl-C stops everything.
`);
