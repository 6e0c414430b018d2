/**
 * What the benchmark runs against, and how it starts and stops it.
 *
 * Targets (each is started once per chat store, "memory" or "redis"):
 *   single            services/single-server (all three agents), POST /arc, direct
 *   finance           services/finance, POST /arc, direct
 *   nginx-finance     one finance process behind nginx, POST /arc/finance
 *   nginx-finance-x2  two finance processes behind nginx (round robin), POST /arc/finance
 * Baselines (no store): node-http and express (bench/baselines/), POST /arc.
 *
 * Node processes are spawned here (not with scripts/lib/cluster.cjs's startProcess) so that the
 * start-up time - spawn until the first 200 from GET /health - is measured with a 10 ms poll;
 * nginx is started with cluster.cjs's startGateway, the same configuration as `npm run cluster`.
 * Server output (LOG_LEVEL=info: one JSON line per request) goes to a pipe that is drained
 * here and thrown away (the byte count and the last 8 kB are kept), never to the terminal.
 * Every process started is remembered, so killAll() can end them on any exit path.
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { childPids } from './proc-stats.mjs';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(import.meta.url);
const cluster = require('../../scripts/lib/cluster.cjs');

const HOST = '127.0.0.1';

export const TARGETS = {
  single: { label: 'single-server direct', entry: 'services/single-server/dist/index.js', replicas: 0 },
  finance: { label: 'finance direct', entry: 'services/finance/dist/index.js', replicas: 0 },
  'nginx-finance': { label: 'finance via nginx', entry: 'services/finance/dist/index.js', replicas: 1 },
  'nginx-finance-x2': { label: 'finance x2 via nginx', entry: 'services/finance/dist/index.js', replicas: 2 },
};

export const BASELINES = {
  'node-http': { label: 'baseline node:http', entry: 'bench/baselines/node-http.mjs' },
  express: { label: 'baseline express 5', entry: 'bench/baselines/express.mjs' },
};

/** Whether nginx can be run here (the gateway targets need it). */
export const nginxInstalled = () => cluster.findNginx() !== null;

/** Every process started and not yet stopped: { pid, kill(signal) }. */
const live = new Set();

/** SIGKILLs everything still running (synchronous: fine in an exit handler). */
export function killAll() {
  for (const p of live) p.kill('SIGKILL');
  live.clear();
}

function healthOnce(url) {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: 500 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * Spawns `node <entry>` with `env` on a free port and waits for GET /health = 200.
 * Resolves { name, pid, port, url, startupMs, logBytes(), tail(), stop() }.
 */
async function spawnNode({ name, entry, env, timeoutMs = 20_000 }) {
  const port = await cluster.freePort(HOST);
  const base = { ...process.env };
  delete base.REDIS_URL;
  delete base.REDIS_KEY_PREFIX;
  const t0 = performance.now();
  const child = spawn(process.execPath, [entry], {
    cwd: ROOT,
    env: { ...base, PORT: String(port), HOST, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const handle = { pid: child.pid, kill: (sig) => child.exitCode === null && child.signalCode === null && child.kill(sig) };
  live.add(handle);
  let bytes = 0;
  let tail = '';
  const drain = (buf) => {
    bytes += buf.length;
    tail = (tail + buf.toString('utf8')).slice(-8192);
  };
  child.stdout.on('data', drain);
  child.stderr.on('data', drain);
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(handle);
      resolve({ code, signal });
    }),
  );
  let exitedEarly = null;
  exited.then((e) => (exitedEarly = e));

  const url = `http://${HOST}:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await healthOnce(`${url}/health`)) break;
    if (exitedEarly) throw new Error(`${name} exited (${JSON.stringify(exitedEarly)}) before it was healthy:\n${tail}`);
    if (Date.now() > deadline) {
      handle.kill('SIGKILL');
      throw new Error(`${name} was not healthy within ${timeoutMs} ms:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const startupMs = performance.now() - t0;
  return {
    name,
    role: 'node',
    pid: child.pid,
    port,
    url,
    startupMs,
    logBytes: () => bytes,
    tail: () => tail,
    async stop() {
      handle.kill('SIGTERM');
      const timer = setTimeout(() => handle.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** nginx (cluster.cjs startGateway) in front of finance `servers`; its workers are found in /proc. */
async function startNginx(name, servers) {
  const t0 = performance.now();
  const gw = await cluster.startGateway({ services: { finance: { servers, agents: ['finance-agent'] } }, host: HOST });
  const startupMs = performance.now() - t0;
  const handle = { pid: gw.pid, kill: (sig) => gw.isRunning() && gw.child.kill(sig) };
  live.add(handle);
  return {
    name,
    role: 'nginx',
    pid: gw.pid,
    workers: childPids(gw.pid),
    url: gw.url,
    startupMs,
    logBytes: () => 0,
    tail: () => gw.output().slice(-8192),
    async stop() {
      await gw.stop('SIGTERM');
      live.delete(handle);
    },
  };
}

/**
 * Starts one target with one store. `redis` = { url, keyPrefix } or null for the in-memory
 * store. Processes start one after another, so each start-up time is measured alone.
 * Resolves { id, target, store, label, url (the POST address), processes, pids(), stop() }.
 */
export async function startTarget(target, store, redis, runTag) {
  const spec = TARGETS[target];
  if (!spec) throw new Error(`unknown target ${target}`);
  const env = { LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info' };
  if (store === 'redis') Object.assign(env, { REDIS_URL: redis.url, REDIS_KEY_PREFIX: `${redis.keyPrefix}${target}:` });
  const processes = [];
  const stopAll = () =>
    Promise.all(
      processes
        .slice()
        .reverse()
        .map((p) => p.stop()),
    );
  try {
    let url;
    if (spec.replicas === 0) {
      const p = await spawnNode({ name: `${target}/${store}`, entry: spec.entry, env: { ...env, SERVER_ID: `bench-${target}-${runTag}` } });
      processes.push(p);
      url = `${p.url}/arc`;
    } else {
      for (let i = 1; i <= spec.replicas; i++) {
        processes.push(
          await spawnNode({
            name: `${target}/${store}#${i}`,
            entry: spec.entry,
            env: { ...env, SERVER_ID: `bench-${target}-${i}-${runTag}` },
          }),
        );
      }
      const gw = await startNginx(
        `${target}/${store}#nginx`,
        processes.map((p) => `${HOST}:${p.port}`),
      );
      processes.push(gw);
      url = `${gw.url}/arc/finance`;
    }
    return deployment({ id: `${target}/${store}`, target, store, label: spec.label, url, processes, stop: stopAll });
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Starts one baseline, answering with `replyBody` (a captured chat.start reply). */
export async function startBaseline(name, replyBody) {
  const spec = BASELINES[name];
  const p = await spawnNode({ name: `baseline/${name}`, entry: spec.entry, env: { BENCH_REPLY: replyBody } });
  return deployment({
    id: `baseline/${name}`,
    target: name,
    store: null,
    label: spec.label,
    url: `${p.url}/arc`,
    processes: [p],
    stop: () => p.stop(),
  });
}

function deployment({ processes, ...rest }) {
  return {
    ...rest,
    processes,
    /** Every pid whose CPU and memory count for this target (nginx master and workers too). */
    pids: () => processes.flatMap((p) => [p.pid, ...(p.workers || [])]),
    /** pid -> process name, for the report. */
    names: () => Object.fromEntries(processes.flatMap((p) => [[p.pid, p.name], ...(p.workers || []).map((w) => [w, `${p.name}-worker`])])),
  };
}
