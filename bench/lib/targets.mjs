/**
 * What the benchmark runs against, and how it starts and stops it.
 *
 * Targets (each is started once per store, "memory" or "redis", that a chat or task cell needs):
 *   single            services/single-server (all three agents), POST /arc, direct
 *   finance           services/finance, POST /arc, direct
 *   nginx-finance     one finance process behind nginx, POST /arc/finance
 *   nginx-finance-x2  two finance processes behind nginx (round robin), POST /arc/finance
 * A variant target (`single+auth`, `nginx-finance-x2+ratelimit`: plan.mjs) is its base target
 * started with the variant's settings (`extraEnv`, from variants.mjs). An agent variant
 * (`single+supervisor`) is no deployment of its own but a view of its base's (agentVariant): the
 * single server has the supervisor mounted; a gateway target started `{ supervisor: true }` has a
 * supervisor replica behind the same nginx, calling finance through it (ARC_GATEWAY_URL).
 * Baselines (no store): node-http and express (bench/baselines/), POST /arc.
 *
 * Processes are started with @arc/devkit's startProcess (the same as the tests and the cluster),
 * polling GET /health every 10 ms so that the start-up time - spawn until the first 200 - is
 * measured; nginx is rendered by nginx/render.cjs (writeStandalone), the configuration of `npm
 * run cluster` but in the benchmark profile: no per-address request rate (`limit_req`, which
 * would refuse most of one address's tens of thousands of requests a second). Server output (LOG_LEVEL=info: one JSON line per request) goes to a pipe that is
 * drained and thrown away (the byte count and the last 8 kB are kept), never to the terminal.
 * devkit remembers every process started, so killAll() can end them on any exit path.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, findNginx, freePort, killAll, manifest, startProcess } from '@arc/devkit';
import { splitTarget, variantTarget } from './plan.mjs';
import { childPids } from './proc-stats.mjs';

export { ROOT, killAll };
const require = createRequire(import.meta.url);
const { writeStandalone } = require('../../nginx/render.cjs');

const HOST = '127.0.0.1';
const FINANCE = manifest.service('finance');
const SUPERVISOR = manifest.service('supervisor');

export const TARGETS = {
  single: { label: 'single-server direct', entry: manifest.singleServer.entry, replicas: 0 },
  finance: { label: 'finance direct', entry: FINANCE.entry, replicas: 0 },
  'nginx-finance': { label: 'finance via nginx', entry: FINANCE.entry, replicas: 1 },
  'nginx-finance-x2': { label: 'finance x2 via nginx', entry: FINANCE.entry, replicas: 2 },
};

export const BASELINES = {
  'node-http': { label: 'baseline node:http', entry: 'bench/baselines/node-http.mjs' },
  express: { label: 'baseline express 5', entry: 'bench/baselines/express.mjs' },
};

/** What a variant adds to its base target's label. */
const VARIANT_LABELS = {
  auth: 'bearer token',
  ratelimit: 'rate limits',
  'metrics-off': 'METRICS_ENABLED=false',
  supervisor: 'chat.start to supervisor',
};

/** A target's spec, a variant's (`base+variant`) being its base target's with the variant named. */
export function targetSpec(name) {
  const { base, variant } = splitTarget(name);
  const spec = TARGETS[base];
  if (!spec || (variant !== null && !VARIANT_LABELS[variant])) throw new Error(`unknown target ${name}`);
  return variant === null ? { ...spec, base, variant } : { ...spec, base, variant, label: `${spec.label}, ${VARIANT_LABELS[variant]}` };
}

/** Whether nginx can be run here (the gateway targets need it). */
export const nginxInstalled = () => findNginx() !== null;

/**
 * Settings of the environment the bench runs in that would change what a plain target measures
 * (a developer's exported AUTH_JWT_SECRET, a rate limit, CORS, METRICS_ENABLED=false, an OTLP
 * endpoint, routes for agent calls): never passed on to a server; a variant sets its own. So a
 * plain target has /metrics on (the default) and no tracing.
 */
const unsetSettings = () => [
  'REDIS_URL',
  'REDIS_KEY_PREFIX',
  'ARC_GATEWAY_URL',
  ...Object.keys(process.env).filter((k) => /^(AUTH_|RATE_LIMIT_|CORS_|METRICS_|OTEL_|AGENT_|SUPERVISOR_)/.test(k)),
];

/**
 * Starts `node <entry>` with `env` (and none of unsetSettings() from this environment) on a free
 * port other than `avoidPort` and waits for GET /health = 200.
 * Resolves { name, pid, port, url, startupMs, logBytes(), tail(), stop() }.
 */
async function spawnNode({ name, entry, env, timeoutMs = 20_000, avoidPort }) {
  let port = await freePort(HOST);
  while (port === avoidPort) port = await freePort(HOST);
  const url = `http://${HOST}:${port}`;
  const proc = await startProcess({
    name,
    command: process.execPath,
    args: [entry],
    env: { PORT: String(port), HOST, ...env },
    unsetEnv: unsetSettings(),
    healthUrl: `${url}/health`,
    pollMs: 10,
    timeoutMs,
    keepOutput: 8192,
  });
  return {
    name,
    role: 'node',
    pid: proc.pid,
    port,
    url,
    startupMs: proc.startupMs,
    logBytes: () => proc.outputBytes(),
    tail: () => proc.output(),
    stop: () => proc.stop('SIGTERM', 5000),
  };
}

/**
 * nginx on `port` in front of `replicas` (service id -> 'host:port' list), as cluster.cjs's
 * startGateway starts it (one worker, its files in a temporary directory) but with the
 * benchmark profile of the site: reqLimitPerIp false. Throws if the rendered configuration
 * still has a limit_req. Its workers are found in /proc.
 */
async function startNginx(name, port, replicas) {
  const t0 = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'arc-bench-gateway-'));
  let proc;
  try {
    const services = Object.fromEntries(
      Object.entries(replicas).map(([id, servers]) => [id, { servers, agents: [...manifest.service(id).agents] }]),
    );
    const { args, prefix } = writeStandalone(dir, { listen: `${HOST}:${port}`, services, reqLimitPerIp: false }, { workerProcesses: 1 });
    if (/^\s*limit_req\s/m.test(readFileSync(join(prefix, 'arc.conf'), 'utf8'))) {
      throw new Error('the gateway configuration has a limit_req although the benchmark renders it with reqLimitPerIp: false');
    }
    proc = await startProcess({ name, command: findNginx(), args, healthUrl: `http://${HOST}:${port}/health`, pollMs: 10 });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const startupMs = performance.now() - t0;
  return {
    name,
    role: 'nginx',
    pid: proc.pid,
    workers: childPids(proc.pid),
    url: `http://${HOST}:${port}`,
    startupMs,
    logBytes: () => 0,
    tail: () => proc.output().slice(-8192),
    stop: async () => {
      await proc.stop('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * What every target is started with for the task rows (harmless to the chat rows: the task
 * settings only act when a task is created). `secret` is the run's WEBHOOK_SECRET, which the
 * bench's receiver verifies with; the receiver listens on 127.0.0.1, which the SSRF guard
 * refuses unless allowed. Tasks are kept (TASK_RETENTION_SECONDS) and a run creates a few
 * thousand: lift the per-agent cap of the in-memory store, as for chats.
 */
export function taskServerEnv(settings, secret) {
  return {
    TASK_WORK_MS: String(settings.workMs),
    TASK_CONCURRENCY: String(settings.concurrency),
    MAX_TASKS_PER_AGENT: '10000000',
    WEBHOOK_SECRET: secret,
    WEBHOOK_ALLOWED_HOSTS: HOST,
  };
}

/** The Redis key prefix of a target's servers: `<run prefix><target>:` (`+` is not allowed there: `single.auth`). */
export const targetKeyPrefix = (redis, target) => `${redis.keyPrefix}${target.replace('+', '.')}:`;

/**
 * Starts one target with one store. `redis` = { url, keyPrefix } or null for the in-memory
 * store; `extraEnv` is added to every server's environment (taskServerEnv, and a variant's
 * settings). With `supervisor`, a gateway target also gets one supervisor replica behind its
 * nginx, told the gateway's address (ARC_GATEWAY_URL, as `npm run cluster` does) and that the
 * gateway's finance agent is its one specialist (SUPERVISOR_AGENTS: else it would read hr's and
 * support's /agent-info through a gateway that has neither, every 5 s); it is measured only in
 * the supervisor row (agentVariant). The single server has the supervisor mounted already.
 * Processes start one after another, so each start-up time is measured alone.
 * Resolves { id, target, variant, store, label, url (the POST address), agentUrls, processes,
 * pids(), stop() }.
 */
export async function startTarget(target, store, redis, runTag, extraEnv = {}, { supervisor = false } = {}) {
  const spec = targetSpec(target);
  // chat.start runs create chats and never end them (a quick run makes ~100,000): lift the
  // in-memory store's cap on active chats, which would otherwise turn the rest into -41011.
  const env = { ...extraEnv, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info', MAX_ACTIVE_CHATS_PER_AGENT: '10000000' };
  if (store === 'redis') Object.assign(env, { REDIS_URL: redis.url, REDIS_KEY_PREFIX: targetKeyPrefix(redis, target) });
  const serverId = (...parts) => ['bench', target.replace('+', '-'), ...parts, runTag].join('-');
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
    const agentUrls = {};
    if (spec.replicas === 0) {
      const p = await spawnNode({ name: `${target}/${store}`, entry: spec.entry, env: { ...env, SERVER_ID: serverId() } });
      processes.push(p);
      url = `${p.url}/arc`;
      if (supervisor) agentUrls[SUPERVISOR.agents[0]] = url;
    } else {
      for (let i = 1; i <= spec.replicas; i++) {
        processes.push(await spawnNode({ name: `${target}/${store}#${i}`, entry: spec.entry, env: { ...env, SERVER_ID: serverId(i) } }));
      }
      // The gateway's port first: the supervisor replica is told where the gateway is.
      const gatewayPort = await freePort(HOST);
      const replicas = { [FINANCE.id]: processes.map((p) => `${HOST}:${p.port}`) };
      if (supervisor) {
        const s = await spawnNode({
          name: `${target}/${store}#supervisor`,
          entry: SUPERVISOR.entry,
          env: {
            ...env,
            SERVER_ID: serverId('supervisor'),
            ARC_GATEWAY_URL: `http://${HOST}:${gatewayPort}`,
            SUPERVISOR_AGENTS: FINANCE.agents.join(','),
            SUPERVISOR_FALLBACK_AGENT: FINANCE.agents[0],
          },
          avoidPort: gatewayPort,
        });
        processes.push(Object.assign(s, { onlyFor: 'supervisor' }));
        replicas[SUPERVISOR.id] = [`${HOST}:${s.port}`];
      }
      const gw = await startNginx(`${target}/${store}#nginx`, gatewayPort, replicas);
      processes.push(gw);
      url = `${gw.url}/arc/${FINANCE.id}`;
      if (supervisor) agentUrls[SUPERVISOR.agents[0]] = `${gw.url}/arc/${SUPERVISOR.id}`;
    }
    return deployment({
      id: `${target}/${store}`,
      target,
      variant: spec.variant,
      store,
      label: spec.label,
      url,
      agentUrls,
      processes,
      stop: stopAll,
    });
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * The row of an agent variant (`single+supervisor`) on the deployment `d` of its base target:
 * chat.start goes to `agent` at its own URL, every process of `d` is measured (the agent's own
 * replica too), and it stops nothing (`d` stops them all).
 */
export function agentVariant(d, variant, agent) {
  const target = variantTarget(d.target, variant);
  if (d.agentUrls[agent] === undefined) throw new Error(`${d.id} was not started to serve ${agent}`);
  return deployment({
    id: `${target}/${d.store}`,
    target,
    variant,
    agent,
    store: d.store,
    label: `${d.label}, ${VARIANT_LABELS[variant]}`,
    url: d.agentUrls[agent],
    agentUrls: d.agentUrls,
    processes: d.processes,
    shared: true,
    stop: async () => {},
  });
}

/** Starts one baseline, answering with `replyBody` (a captured chat.start reply). */
export async function startBaseline(name, replyBody) {
  const spec = BASELINES[name];
  const p = await spawnNode({ name: `baseline/${name}`, entry: spec.entry, env: { BENCH_REPLY: replyBody } });
  return deployment({
    id: `baseline/${name}`,
    target: name,
    variant: null,
    store: null,
    label: spec.label,
    url: `${p.url}/arc`,
    processes: [p],
    stop: () => p.stop(),
  });
}

function deployment({ processes, ...rest }) {
  // A process that serves only one variant's row (the supervisor replica) is not measured in the others.
  const measured = processes.filter((p) => p.onlyFor === undefined || p.onlyFor === rest.variant);
  return {
    ...rest,
    processes,
    /** Every pid whose CPU and memory count for this target (nginx master and workers too). */
    pids: () => measured.flatMap((p) => [p.pid, ...(p.workers || [])]),
    /** pid -> process name, for the report. */
    names: () => Object.fromEntries(measured.flatMap((p) => [[p.pid, p.name], ...(p.workers || []).map((w) => [w, `${p.name}-worker`])])),
  };
}
