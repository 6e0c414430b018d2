/**
 * The local cluster, without Docker: every service of services/manifest.json as Node processes
 * (finance with several replicas) on ports the OS picks, and a real nginx in front, configured
 * from nginx/arc.conf.template with everything it writes under a temporary directory.
 *
 * ONE implementation for `npm run cluster` (scripts/cluster.mjs), the e2e tests
 * (tests/e2e/cluster.test.ts, gateway-retry, scale-out, redis-outage) and the benchmark's
 * gateway targets. Processes, ports and binaries come from @arc/devkit. CommonJS, so that both
 * plain Node and jest load it as it is; types in cluster.d.cts.
 *
 *   const cluster = await startCluster({ replicas: { finance: 2 }, port: 8080 });
 *   // cluster.url = http://127.0.0.1:8080 ; POST /arc/finance, /arc/hr, /arc/support, /arc/supervisor
 *   await cluster.stop();
 *
 * The gateway's port is chosen before any replica starts, and every replica gets
 * ARC_GATEWAY_URL = the gateway's URL (unless `env` names another): its agent calls (the
 * supervisor's calls to the specialists, and its reads of GET /agent-info/<agent>) go through
 * nginx, as in docker-compose. A replica starts before nginx does; a call made before then fails.
 * The supervisor's replicas run with INSPECTOR=on (unless `env` says otherwise) and the gateway
 * serves their web inspector at /inspector/, as in docker-compose (docs/inspector.md).
 */
'use strict';
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { ROOT, findNginx, freePort, manifest, startProcess } = require('@arc/devkit');
const { writeStandalone } = require('../../nginx/render.cjs');

/** The services, by id (from services/manifest.json): entry point and agent ids. */
const SERVICES = Object.freeze(Object.fromEntries(manifest.services.map((s) => [s.id, s])));

/** The service whose web inspector the gateway serves (docker-compose.yml sets its INSPECTOR=on too). */
const INSPECTOR_SERVICE = 'supervisor';

/** One replica of a service (see SERVICES) on `port` (0: a free one). */
async function startReplica(service, index, { host = '127.0.0.1', port = 0, logLevel = 'warn', env = {}, onOutput } = {}) {
  const spec = manifest.service(service);
  const p = port || (await freePort(host));
  const proc = await startProcess({
    name: `${service}-${index}`,
    command: process.execPath,
    args: [join(ROOT, spec.entry)],
    env: { PORT: String(p), HOST: host, SERVER_ID: `${spec.serverId}-${index}`, LOG_LEVEL: logLevel, ...env },
    healthUrl: `http://${host}:${p}/health`,
    onOutput,
  });
  return Object.assign(proc, { service, index, port: p, address: `${host}:${p}`, url: `http://${host}:${p}` });
}

/**
 * nginx in front of `services` ({ route: { servers: ['host:port', ...], agents?: [...] } }), on
 * `host:port` (port 0: a free one), its files under `dir` (default: a new temporary directory,
 * removed by stop()). reqLimitPerIp: nginx/render.cjs's (default its SITE_DEFAULTS; false: none,
 * as the benchmark wants). inspector: the service whose /inspector/ the gateway serves (render.cjs).
 */
async function startGateway({ services, host = '127.0.0.1', port = 0, dir, onOutput, workerProcesses = 1, reqLimitPerIp, inspector }) {
  const nginx = findNginx();
  if (!nginx) throw new Error('nginx is not installed (apt-get install -y nginx, or set NGINX_BIN)');
  const p = port || (await freePort(host));
  const ownDir = !dir;
  const prefix = dir || mkdtempSync(join(tmpdir(), 'arc-gateway-'));
  const { conf, args } = writeStandalone(prefix, { listen: `${host}:${p}`, services, reqLimitPerIp, inspector }, { workerProcesses });
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
 * The whole cluster: `replicas` per service (default: the manifest's `replicas.cluster`; a service
 * left out of `replicas` gets its default), then nginx on `port` (0: a free one, chosen first).
 * Stops whatever it started if any part fails to come up.
 */
async function startCluster({ replicas = {}, host = '127.0.0.1', port = 0, logLevel = 'warn', env = {}, onOutput, dir } = {}) {
  const counts = { ...manifest.replicas('cluster'), ...replicas };
  const started = [];
  try {
    // The gateway's address first: the replicas are told where it is (ARC_GATEWAY_URL).
    const gatewayPort = port || (await freePort(host));
    const replicaEnv = { ARC_GATEWAY_URL: `http://${host}:${gatewayPort}`, ...env };
    const plan = [];
    for (const [service, n] of Object.entries(counts)) {
      manifest.service(service); // throws for an unknown one
      if (!Number.isInteger(n) || n < 1) throw new Error(`replicas of ${service} must be a positive integer, got ${n}`);
      for (let i = 1; i <= n; i++) {
        // Not the gateway's port: nothing listens on it yet, so the OS could hand it out again.
        let p = await freePort(host);
        while (p === gatewayPort) p = await freePort(host);
        plan.push({ service, i, port: p });
      }
    }
    const jobs = plan.map(({ service, i, port: p }) => {
      // The supervisor serves the web inspector behind the gateway, as in docker-compose.
      const serviceEnv = service === INSPECTOR_SERVICE ? { INSPECTOR: 'on', ...replicaEnv } : replicaEnv;
      return startReplica(service, i, { host, port: p, logLevel, env: serviceEnv, onOutput }).then((r) => (started.push(r), r));
    });
    const settled = await Promise.allSettled(jobs);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    const all = settled.map((s) => s.value);
    const services = {};
    for (const service of Object.keys(counts)) {
      services[service] = {
        servers: all.filter((r) => r.service === service).map((r) => r.address),
        agents: [...manifest.service(service).agents],
      };
    }
    const inspector = INSPECTOR_SERVICE in services ? INSPECTOR_SERVICE : undefined;
    const gateway = await startGateway({ services, host, port: gatewayPort, dir, onOutput, inspector });
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

// freePort, findNginx and startProcess are @arc/devkit's, re-exported for existing callers.
module.exports = { ROOT, SERVICES, freePort, findNginx, startProcess, startReplica, startGateway, startCluster };
