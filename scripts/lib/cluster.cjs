/**
 * The local cluster, without Docker: every service as Node processes (finance with several
 * replicas) on ports the OS picks, and a real nginx in front, configured from
 * nginx/arc.conf.template with everything it writes under a temporary directory.
 *
 * ONE implementation for `npm run cluster` (scripts/cluster.mjs) and the e2e tests
 * (tests/e2e/cluster.test.ts, tests/e2e/gateway-retry.test.ts). CommonJS, so that both plain
 * Node and jest load it as it is; types in cluster.d.cts.
 *
 *   const cluster = await startCluster({ replicas: { finance: 2 }, port: 8080 });
 *   // cluster.url = http://127.0.0.1:8080 ; POST /arc/finance, /arc/hr, /arc/support
 *   await cluster.stop();
 */
'use strict';
const { spawn } = require('node:child_process');
const { accessSync, constants, mkdtempSync, rmSync } = require('node:fs');
const { createServer } = require('node:net');
const { tmpdir } = require('node:os');
const { delimiter, join } = require('node:path');
const { writeStandalone } = require('../../nginx/render.cjs');

const ROOT = join(__dirname, '..', '..');

/** The services of this repository: route name -> entry point and agent ids. */
const SERVICES = Object.freeze({
  finance: { entry: 'services/finance/dist/index.js', agents: ['finance-agent'] },
  hr: { entry: 'services/hr/dist/index.js', agents: ['hr-agent'] },
  support: { entry: 'services/support/dist/index.js', agents: ['support-agent'] },
});

/** A TCP port that was free a moment ago (the OS picked it). */
function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** The nginx binary: $NGINX_BIN (if executable), else `nginx` on PATH or in the sbin directories; null if none. */
function findNginx() {
  const executable = (file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (process.env.NGINX_BIN) return executable(process.env.NGINX_BIN) ? process.env.NGINX_BIN : null;
  const dirs = [...(process.env.PATH || '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  const dir = dirs.find((d) => d && executable(join(d, 'nginx')));
  return dir ? join(dir, 'nginx') : null;
}

// Children still running; killed if this process exits without stopping them.
const live = new Set();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Spawns a program and waits until `healthUrl` answers 200. Its output is kept (the last
 * ~100 kB) and shown in the error when it fails to start.
 */
async function startProcess({ name, command, args, env = {}, healthUrl, timeoutMs = 20_000, onOutput }) {
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  const keep = (buf) => {
    const text = buf.toString();
    out += text;
    if (out.length > 200_000) out = out.slice(-100_000);
    if (onOutput) onOutput(name, text);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      live.delete(child);
      out += `\n${err.message}`;
      resolve({ code: null, signal: null, error: err });
    });
  });
  const isRunning = () => child.exitCode === null && child.signalCode === null && live.has(child);
  const proc = {
    name,
    child,
    pid: child.pid,
    output: () => out,
    exited,
    isRunning,
    /** Sends `signal` and waits for the exit; SIGKILL after `graceMs`. */
    async stop(signal = 'SIGTERM', graceMs = 5_000) {
      if (isRunning()) child.kill(signal);
      const timer = setTimeout(() => isRunning() && child.kill('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isRunning()) {
      const { code, signal } = await exited;
      throw new Error(`${name} exited (code ${code}, signal ${signal}) before it was healthy:\n${out}`);
    }
    try {
      // Connection: close — a kept-alive connection from here would hold up the drain of a
      // service stopped later (it waits for its open connections, up to SHUTDOWN_GRACE_MS).
      const res = await fetch(healthUrl, { headers: { Connection: 'close' }, signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return proc;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      await proc.stop('SIGKILL');
      throw new Error(`${name} was not healthy at ${healthUrl} within ${timeoutMs} ms:\n${out}`);
    }
    await sleep(100);
  }
}

/** One replica of a service (see SERVICES) on `port` (0: a free one). */
async function startReplica(service, index, { host = '127.0.0.1', port = 0, logLevel = 'warn', env = {}, onOutput } = {}) {
  const spec = SERVICES[service];
  if (!spec) throw new Error(`unknown service ${service}; one of ${Object.keys(SERVICES).join(', ')}`);
  const p = port || (await freePort(host));
  const name = `${service}-${index}`;
  const proc = await startProcess({
    name,
    command: process.execPath,
    args: [join(ROOT, spec.entry)],
    env: { PORT: String(p), HOST: host, SERVER_ID: `${service}-server-${index}`, LOG_LEVEL: logLevel, ...env },
    healthUrl: `http://${host}:${p}/health`,
    onOutput,
  });
  return Object.assign(proc, { service, index, port: p, address: `${host}:${p}`, url: `http://${host}:${p}` });
}

/**
 * nginx in front of `services` ({ route: { servers: ['host:port', ...], agents?: [...] } }), on
 * `host:port` (port 0: a free one), its files under `dir` (default: a new temporary directory,
 * removed by stop()).
 */
async function startGateway({ services, host = '127.0.0.1', port = 0, dir, onOutput, workerProcesses = 1 }) {
  const nginx = findNginx();
  if (!nginx) throw new Error('nginx is not installed (apt-get install -y nginx, or set NGINX_BIN)');
  const p = port || (await freePort(host));
  const ownDir = !dir;
  const prefix = dir || mkdtempSync(join(tmpdir(), 'arc-gateway-'));
  const { conf, args } = writeStandalone(prefix, { listen: `${host}:${p}`, services }, { workerProcesses });
  let proc;
  try {
    proc = await startProcess({ name: 'nginx', command: nginx, args, healthUrl: `http://${host}:${p}/health`, onOutput });
  } catch (err) {
    if (ownDir) rmSync(prefix, { recursive: true, force: true });
    throw err;
  }
  const stop = proc.stop;
  return Object.assign(proc, {
    port: p,
    url: `http://${host}:${p}`,
    dir: prefix,
    conf,
    /** nginx stops on SIGQUIT (graceful) or SIGTERM (fast); the temporary directory goes too. */
    async stop(signal = 'SIGTERM', graceMs = 5_000) {
      const result = await stop(signal, graceMs);
      if (ownDir) rmSync(prefix, { recursive: true, force: true });
      return result;
    },
  });
}

/**
 * The whole cluster: `replicas` per service (default finance 2, hr 1, support 1), then nginx.
 * Stops whatever it started if any part fails to come up.
 */
async function startCluster({ replicas = {}, host = '127.0.0.1', port = 0, logLevel = 'warn', env = {}, onOutput, dir } = {}) {
  const counts = { finance: 2, hr: 1, support: 1, ...replicas };
  const started = [];
  try {
    const jobs = [];
    for (const [service, n] of Object.entries(counts)) {
      if (!SERVICES[service]) throw new Error(`unknown service ${service}`);
      if (!Number.isInteger(n) || n < 1) throw new Error(`replicas of ${service} must be a positive integer, got ${n}`);
      for (let i = 1; i <= n; i++) {
        jobs.push(startReplica(service, i, { host, logLevel, env, onOutput }).then((r) => (started.push(r), r)));
      }
    }
    const settled = await Promise.allSettled(jobs);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    const all = settled.map((s) => s.value);
    const services = {};
    for (const service of Object.keys(counts)) {
      services[service] = {
        servers: all.filter((r) => r.service === service).map((r) => r.address),
        agents: SERVICES[service].agents,
      };
    }
    const gateway = await startGateway({ services, host, port, dir, onOutput });
    started.push(gateway);
    return {
      url: gateway.url,
      gateway,
      replicas: all,
      /** The replicas of one service. */
      of: (service) => all.filter((r) => r.service === service),
      /** Stops nginx first (no new requests), then the services (SIGTERM, graceful). */
      async stop() {
        await gateway.stop();
        await Promise.all(all.map((r) => r.stop('SIGTERM')));
      },
    };
  } catch (err) {
    await Promise.all(started.map((p) => p.stop('SIGKILL')));
    throw err;
  }
}

module.exports = { ROOT, SERVICES, freePort, findNginx, startProcess, startReplica, startGateway, startCluster };
