#!/usr/bin/env node
/**
 * `npm run cluster`: the distributed deployment on this machine, without Docker. Builds the
 * services if needed, starts every service of services/manifest.json (finance 2 replicas, hr 1,
 * support 1, supervisor 1 by default) as processes on free ports, and a real nginx in front of
 * them, configured from nginx/arc.conf.template; stops everything on Ctrl-C / SIGTERM. Every
 * service gets ARC_GATEWAY_URL = the gateway's URL: the supervisor calls the specialists (and
 * reads their GET /agent-info/<agent>) through nginx.
 *
 *   CLUSTER_PORT      nginx port (default 8080)          CLUSTER_HOST   (default 127.0.0.1)
 *   FINANCE_REPLICAS  (default 2)   HR_REPLICAS (1)   SUPPORT_REPLICAS (1)   SUPERVISOR_REPLICAS (1)
 *   LOG_LEVEL         of the services (default info)     --no-build     skip `turbo run build`
 *   --port N, --finance N, --hr N, --support N, --supervisor N   the same as the variables
 *
 * Chat state (scripts/lib/cluster-store.cjs): nginx sends each request to any replica, so the
 * replicas share their chats through Redis, chosen like this:
 *   default              the Redis on 127.0.0.1:6379 if it answers; else a private redis-server
 *                        (free port, nothing saved, stopped with the cluster) if installed;
 *                        else in memory with ONE finance replica (and it says why)
 *   --redis [url] or REDIS_URL=<url>   that Redis (--redis alone: redis://127.0.0.1:6379)
 *   --memory             each replica keeps its own chats (warns with > 1 finance replica)
 *   REDIS_KEY_PREFIX     key prefix in Redis (default arc:)
 *
 *   --env-file <file>    KEY=VALUE lines given to every service (e.g. docker/security.env:
 *                        auth, rate limits, CORS), the same file docker compose takes; its values
 *                        win over this process's environment. PORT, HOST, SERVER_ID, REDIS_URL,
 *                        REDIS_KEY_PREFIX and ARC_GATEWAY_URL are the cluster's own choices, per
 *                        replica or from the options above: in the file they are ignored, with a
 *                        warning. The banner names the file's variables, never their values.
 *                        (Node itself stops with "node: <file>: not found", exit 9, when the file
 *                        is missing: it reads a script's --env-file argument too, nodejs/node#54232.)
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import './ensure-installed.mjs';

// Loaded once ensure-installed has run (a static import would be resolved before it, and fail
// on a fresh clone, where `npm run cluster` may be the first command).
const { DEFAULT_REDIS_URL, ROOT, manifest, redisProblemAsync } = await import('@arc/devkit');
const { DEFAULT_KEY_PREFIX, openStore, planStore, probeDefaults } = await import('./lib/cluster-store.cjs');
const { startCluster } = await import('./lib/cluster.cjs');

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
const defaults = manifest.replicas('cluster');
const replicas = Object.fromEntries(manifest.ids.map((id) => [id, option(`--${id}`, `${id.toUpperCase()}_REPLICAS`, defaults[id])]));
const logLevel = process.env.LOG_LEVEL || 'info';
// Variables for every service from an env file (docker compose takes the same with --env-file).
const envFileFlag = argv.findIndex((a) => a === '--env-file' || a.startsWith('--env-file='));
const envFile =
  envFileFlag < 0 ? undefined : argv[envFileFlag].startsWith('--env-file=') ? argv[envFileFlag].slice(11) : argv[envFileFlag + 1];
/** Set by the cluster itself for each replica, or by its store choice: not taken from the file. */
const CLUSTER_VARIABLES = ['PORT', 'HOST', 'SERVER_ID', 'REDIS_URL', 'REDIS_KEY_PREFIX', 'ARC_GATEWAY_URL'];
let fileEnv = {};
if (envFileFlag >= 0) {
  if (!envFile) {
    console.error('cluster: --env-file needs a file, e.g. --env-file docker/security.env');
    process.exit(2);
  }
  try {
    fileEnv = parseEnv(readFileSync(envFile, 'utf8'));
  } catch (err) {
    console.error(`cluster: --env-file ${envFile}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
    process.exit(2);
  }
  const ignored = CLUSTER_VARIABLES.filter((name) => name in fileEnv);
  for (const name of ignored) delete fileEnv[name];
  if (ignored.length > 0) {
    console.warn(`cluster: ${envFile} sets ${ignored.join(', ')}: ignored (the cluster sets them; see --port, --redis, --memory)`);
  }
}
const keyPrefix = process.env.REDIS_KEY_PREFIX || DEFAULT_KEY_PREFIX;

// Where the chats live: a flag beats the environment, which beats the default.
const redisFlag = argv.indexOf('--redis');
const memoryFlag = argv.includes('--memory');
const choice =
  redisFlag >= 0
    ? {
        memory: memoryFlag,
        redisUrl: /^rediss?:\/\//.test(argv[redisFlag + 1] ?? '') ? argv[redisFlag + 1] : DEFAULT_REDIS_URL,
        from: 'flag',
      }
    : memoryFlag
      ? { memory: true }
      : process.env.REDIS_URL
        ? { redisUrl: process.env.REDIS_URL, from: 'env' }
        : {};
let plan;
try {
  plan = planStore(choice, choice.memory || choice.redisUrl ? undefined : await probeDefaults(), replicas.finance);
} catch (err) {
  console.error(`cluster: ${err.message}`);
  process.exit(2);
}
if (plan.store === 'redis' && plan.from !== 'default') {
  // An explicit Redis must answer before anything starts.
  const problem = await redisProblemAsync(plan.url, 3000);
  if (problem) {
    console.error(
      `cluster: ${problem}.\n` +
        `cluster: start one (e.g. redis-server --daemonize yes --save "" --appendonly no), or run without ${plan.from === 'flag' ? '--redis' : 'REDIS_URL'}.`,
    );
    process.exit(1);
  }
}
if (plan.note) console.warn(`cluster: ${plan.note}`);
replicas.finance = plan.financeReplicas;

if (!argv.includes('--no-build')) {
  const turbo = join(ROOT, 'node_modules', '.bin', 'turbo');
  execFileSync(turbo, ['run', 'build', ...manifest.services.map((s) => `--filter=${s.package}`), '--output-logs=errors-only'], {
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
let store;
const starting = (async () => {
  store = await openStore(plan, { keyPrefix });
  return startCluster({ replicas, host, port, logLevel, env: { ...fileEnv, ...store.env }, onOutput });
})();
/** Stops whatever runs (also when a signal arrives while the cluster is still starting): nginx, the services, the store. */
async function stop(reason, code = 0) {
  if (stopping) return;
  stopping = true;
  console.log(`\ncluster: ${reason}; stopping`);
  const running = await starting.catch(() => undefined);
  if (running) await running.stop();
  if (store) await store.stop();
  console.log('cluster: stopped');
  process.exit(code);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));

let running;
try {
  running = await starting;
} catch (err) {
  if (stopping) await new Promise(() => {}); // stop() exits
  stopping = true;
  if (store) await store.stop();
  console.error(`cluster: could not start: ${err.message}`);
  if (/bind\(\) to .* failed|Address already in use/.test(err.message)) {
    console.error(`cluster: port ${port} is taken; choose another with CLUSTER_PORT=<port> npm run cluster`);
  }
  process.exit(1);
}
if (stopping) await new Promise(() => {}); // a signal arrived during the start: stop() exits

// The children run in process groups of their own (a terminal's Ctrl-C reaches only this
// process, which stops them in order), so an exit of one of them is news.
running.gateway.exited.then(({ code, signal }) => void stop(`nginx exited (code ${code}, signal ${signal})`, 1));
store.redis?.exited.then(({ code, signal }) => {
  if (!stopping) console.error(`cluster: the private redis-server exited (code ${code}, signal ${signal}); chat requests get -41002 now`);
});
for (const r of running.replicas) {
  r.exited.then(({ code, signal }) => {
    if (!stopping)
      console.error(
        `cluster: ${r.name} (${r.address}) exited (code ${code}, signal ${signal}); nginx sends its requests to the other replicas`,
      );
  });
}

const rows = running.replicas.map((r) => `    ${r.name.padEnd(12)} ${r.url}  pid ${r.pid}`).join('\n');
console.log(`
ARC local cluster: nginx listening on ${running.url}  (config ${running.gateway.conf})
  routes:   POST ${running.url}/arc/${manifest.ids.join('   /arc/')}   (or /arc/<agent id>)
  health:   GET  ${running.url}/health        GET ${running.url}/health/<service>
  agents:   GET  ${running.url}/agent-info/<agent id>
  replicas:
${rows}
  chats:    ${store.summary}${envFileFlag >= 0 ? `\n  settings: ${Object.keys(fileEnv).join(', ') || '(none)'} from ${envFile}` : ''}
  try:      ARC_BASE_URL=${running.url} npm run example:distributed
  Ctrl-C stops everything.
`);
