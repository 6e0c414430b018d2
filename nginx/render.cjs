#!/usr/bin/env node
/**
 * Renders the ARC gateway configuration from nginx/arc.conf.template and a description of the
 * upstreams, for every deployment:
 *
 *   docker-compose   node nginx/render.cjs --compose --out /etc/nginx/conf.d/default.conf
 *                    (the description is built from services/manifest.json by composeDescription();
 *                    done inside docker/nginx.Dockerfile, so no rendered copy is kept in the repo)
 *                    node nginx/render.cjs --image-main nginx.conf --out nginx.conf
 *                    (the nginx image's own main context, with the WORKER limits below)
 *   local cluster    scripts/lib/cluster.cjs calls writeStandalone() with the replicas it started
 *   any              node nginx/render.cjs desc.json --standalone /tmp/gw   (nginx.conf + arc.conf)
 * On the command line, GATEWAY_REQ_LIMIT="off" or "<n>r/s [burst=<m>]" sets reqLimitPerIp.
 *
 * A description:
 *   {
 *     "listen": "80",                                  // nginx `listen` argument
 *     "accessLog": "/var/log/nginx/access.log",        // or "off"
 *     "serverId": "nginx",                             // responseAgent of nginx's own errors
 *     "connLimitPerIp": 256,                           // requests in flight per client address
 *     "reqLimitPerIp": { "rate": "1000r/s", "burst": 2000 }, // requests per client address, or false
 *     "services": {                                    // route name -> replicas
 *       "finance": { "servers": ["finance:8001"], "agents": ["finance-agent"] }
 *     }
 *   }
 * `agents` are extra route names (the agent ids) for the same upstream, and each gets
 * `GET /agent-info/<agent id>` (that service's GET /agent-info); `GET /agent-info` lists them all
 * with their endpoints. An optional `"inspector": "supervisor"` names the service whose web
 * inspector (INSPECTOR=on) the gateway serves at /inspector/ (docs/inspector.md); without it,
 * /inspector is the gateway's 404.
 */
'use strict';
const { mkdirSync, readFileSync, writeFileSync, chmodSync } = require('node:fs');
const { join, resolve } = require('node:path');

const TEMPLATE_DIR = __dirname;
/** THE list of services (id, agents, default port, replicas); the compose description comes from it. */
const MANIFEST = join(__dirname, '..', 'services', 'manifest.json');
/**
 * Passive health and keepalive, the same for every upstream. keepaliveTimeout: how long nginx
 * keeps an idle connection to a replica. It must stay below the services' SHUTDOWN_GRACE_MS
 * (10 s in compose, 3 s in the tests): a draining replica waits for its open connections to
 * close, so nginx closing its idle ones ends the drain cleanly before the grace deadline, where
 * the replica would otherwise cut them while nginx might be writing a request on one.
 */
const UPSTREAM = Object.freeze({ maxFails: 2, failTimeout: '5s', keepalive: 32, keepaliveTimeout: '2s', zoneSize: '64k' });

/**
 * Defaults of a description.
 * connLimitPerIp: requests in flight per client address (nginx's limit_conn; 429 -44007 beyond
 * it). 256 is far above what one well-behaved client keeps open (a handful of pooled
 * connections) and still a small share of a worker's connections (WORKER).
 * reqLimitPerIp: requests per client address (nginx's limit_req; 429 -44007 beyond it), a coarse
 * ceiling against floods in front of the services' own per-caller limits (RATE_LIMIT_CALLER): a
 * rate ("<n>r/s" or "<n>r/m") and a burst served at once beyond it. 1000 a second with 2000 at
 * once: a client that sends at most 2001 requests, however fast, or at most 1000 a second, however
 * long, is never refused (each e2e suite through the gateway does one or the other: a few hundred
 * requests at once, or a paced load of a few hundred a second), while a flood of thousands a
 * second from one address is refused at the gateway once its 2000 at once are used up. `false`
 * leaves it out: the benchmark profile (one address, c=64, ten thousand a second and more).
 * Behind a NAT or a proxy, everyone shares one address: raise both there.
 */
const SITE_DEFAULTS = Object.freeze({ connLimitPerIp: 256, reqLimitPerIp: Object.freeze({ rate: '1000r/s', burst: 2000 }) });

/**
 * The main context's limits. connections: per worker, clients and replicas together (nginx's
 * default is 512, the nginx image's 1024). rlimitNofile: the workers' file-descriptor limit,
 * over 2 x connections (a connection may also hold a temporary file for its body) plus logs
 * and listeners.
 */
const WORKER = Object.freeze({ connections: 4096, rlimitNofile: 10000 });

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const SERVER = /^(?:[A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}$/;

class RenderError extends Error {}

/** Fills {{name}} placeholders; every placeholder needs a value and every value a placeholder. */
function fill(template, values, what) {
  const used = new Set();
  const out = template.replace(/\{\{([a-z_]+)\}\}/g, (_, key) => {
    if (!(key in values)) throw new RenderError(`${what}: no value for {{${key}}}`);
    used.add(key);
    return String(values[key]);
  });
  const unused = Object.keys(values).filter((k) => !used.has(k));
  if (unused.length) throw new RenderError(`${what}: values without a placeholder: ${unused.join(', ')}`);
  return out;
}

function checkDescription(desc) {
  if (!desc || typeof desc !== 'object') throw new RenderError('description must be an object');
  const services = desc.services;
  if (!services || typeof services !== 'object' || Object.keys(services).length === 0) {
    throw new RenderError('description.services must name at least one service');
  }
  const routes = new Map();
  for (const [service, spec] of Object.entries(services)) {
    if (!NAME.test(service)) throw new RenderError(`service name ${JSON.stringify(service)} is not [A-Za-z0-9._-]`);
    const servers = spec && spec.servers;
    if (!Array.isArray(servers) || servers.length === 0) throw new RenderError(`service ${service} needs at least one server`);
    for (const s of servers) {
      if (typeof s !== 'string' || !SERVER.test(s))
        throw new RenderError(`service ${service}: server ${JSON.stringify(s)} is not host:port`);
    }
    // An agent may have its service's name (the supervisor service's agent is `supervisor`): one route.
    for (const route of [service, ...(spec.agents || []).filter((a) => a !== service)]) {
      if (typeof route !== 'string' || !NAME.test(route))
        throw new RenderError(`service ${service}: route ${JSON.stringify(route)} is not [A-Za-z0-9._-]`);
      if (routes.has(route)) throw new RenderError(`route /arc/${route} is given twice (${routes.get(route)}, ${service})`);
      routes.set(route, service);
    }
  }
  if (desc.inspector !== undefined && !Object.hasOwn(services, desc.inspector)) {
    throw new RenderError(
      `inspector ${JSON.stringify(desc.inspector)} is not a service of the description (${Object.keys(services).join(', ')})`,
    );
  }
  if (desc.listen === undefined || !/^[A-Za-z0-9.:[\]]+( [a-z_=0-9]+)*$/.test(String(desc.listen))) {
    throw new RenderError(`listen ${JSON.stringify(desc.listen)} is not an nginx listen address`);
  }
  const serverId = desc.serverId ?? 'nginx';
  if (!NAME.test(serverId)) throw new RenderError(`serverId ${JSON.stringify(serverId)} is not [A-Za-z0-9._-]`);
  reqLimit(desc);
  const limit = desc.connLimitPerIp ?? SITE_DEFAULTS.connLimitPerIp;
  // nginx keeps the count in 16 bits.
  if (!Number.isInteger(limit) || limit < 1 || limit > 65535) {
    throw new RenderError(`connLimitPerIp ${JSON.stringify(limit)} is not an integer from 1 to 65535`);
  }
  return routes;
}

const REQ_RATE = /^([1-9][0-9]{0,6})r\/([sm])$/;

/**
 * The description's reqLimitPerIp, checked: { rate, burst, limit, windowMs, retryAfter } (the
 * rate as `limit` requests per `windowMs`; retryAfter in whole seconds), or null when off.
 */
function reqLimit(desc) {
  const spec = desc.reqLimitPerIp === undefined ? SITE_DEFAULTS.reqLimitPerIp : desc.reqLimitPerIp;
  if (spec === false) return null;
  const shape = 'reqLimitPerIp must be false or { rate: "<n>r/s" | "<n>r/m", burst: 0 to 1000000 }';
  if (!spec || typeof spec !== 'object' || Object.keys(spec).some((k) => k !== 'rate' && k !== 'burst')) {
    throw new RenderError(`${shape}, got ${JSON.stringify(spec)}`);
  }
  const m = REQ_RATE.exec(typeof spec.rate === 'string' ? spec.rate : '');
  const burst = spec.burst ?? 0;
  if (!m || !Number.isInteger(burst) || burst < 0 || burst > 1000000) throw new RenderError(`${shape}, got ${JSON.stringify(spec)}`);
  const limit = Number(m[1]);
  const windowMs = m[2] === 's' ? 1000 : 60_000;
  // The time the rate takes to let one more request in, in whole seconds (at least 1).
  const retryAfter = Math.max(1, Math.ceil(windowMs / limit / 1000));
  return { rate: spec.rate, burst, limit, windowMs, retryAfter };
}

/**
 * reqLimitPerIp from its text form, as GATEWAY_REQ_LIMIT takes it: "off", or a rate with an
 * optional burst, "1000r/s burst=2000" (nginx's own words).
 */
function parseReqLimit(text) {
  const t = String(text).trim();
  if (t === 'off') return false;
  const m = /^([1-9][0-9]{0,6}r\/[sm])(?:\s+burst=([0-9]{1,7}))?$/.exec(t);
  if (!m) throw new RenderError(`GATEWAY_REQ_LIMIT must be "off" or "<n>r/s [burst=<m>]" (or r/m), got ${JSON.stringify(t)}`);
  const spec = m[2] === undefined ? { rate: m[1] } : { rate: m[1], burst: Number(m[2]) };
  reqLimit({ reqLimitPerIp: spec });
  return spec;
}

/**
 * `location = /agent-info/<agent id>` for every agent id of the description (each service's
 * `agents`): GET (and HEAD) go to that service's GET /agent-info, any other method gets nginx's
 * own 405 -32600. $arc_agent names the agent in @arc_unreachable / @arc_timeout.
 */
function agentInfoLocations(desc) {
  const serverId = desc.serverId ?? 'nginx';
  const notAllowed = JSON.stringify({
    arc: '1.0',
    id: null,
    responseAgent: serverId,
    targetAgent: 'unknown',
    traceId: null,
    result: null,
    error: {
      code: -32600,
      message: 'Invalid request: HTTP method not allowed; GET /agent-info/<agent>',
      details: { allow: ['GET', 'HEAD'] },
    },
  });
  const blocks = [];
  for (const [service, spec] of Object.entries(desc.services)) {
    for (const agent of spec.agents || []) {
      blocks.push(
        [
          `    location = /agent-info/${agent} {`,
          `        set $arc_agent ${agent};`,
          '        if ($request_method !~ "^(GET|HEAD)$") {',
          '            add_header Allow "GET, HEAD" always;',
          '            add_header X-Request-Id $arc_request_id always;',
          '            add_header X-Upstream-Addr $upstream_addr always;',
          `            return 405 '${notAllowed}';`,
          '        }',
          `        proxy_pass http://arc_${service}/agent-info;`,
          '    }',
        ].join('\n'),
      );
    }
  }
  return blocks.length > 0 ? blocks.join('\n\n') : '    # (none: the description names no agent ids)';
}

/**
 * The gateway's own GET /agent-info (compact JSON, inside a single-quoted nginx string: names
 * are [A-Za-z0-9._-], so it holds no quote and no `$`): every agent id of the description, in
 * the single server's shape, with the route that reaches it and where its own description is.
 */
function agentList(desc) {
  const registeredAgents = {};
  for (const [service, spec] of Object.entries(desc.services)) {
    for (const agent of spec.agents || []) {
      registeredAgents[agent] = { status: 'active', service, endpoint: `/arc/${service}`, agentInfo: `/agent-info/${agent}` };
    }
  }
  const serverId = desc.serverId ?? 'nginx';
  const text = JSON.stringify({
    server: serverId,
    description: `ARC gateway ${serverId}: POST /arc/<service>, the endpoint given for each agent`,
    status: 'active',
    endpoints: { arc: '/arc/<service>', agentInfo: '/agent-info/<agent>' },
    registeredAgents,
    totalAgents: Object.keys(registeredAgents).length,
  });
  if (/['$\\]/.test(text)) throw new RenderError(`the agent list cannot go in an nginx string as it is: ${text}`);
  return text;
}

/**
 * /inspector and /inspector/... to the service the description names as `inspector` (its
 * INSPECTOR=on): the files pass through as the service answers them (types, caching, CSP).
 */
function inspectorLocations(desc) {
  if (desc.inspector === undefined) return '    # (no web inspector: the description names no `inspector` service)';
  const service = desc.inspector;
  const block = (match) =>
    [`    location ${match} {`, `        set $arc_agent ${service};`, `        proxy_pass http://arc_${service};`, '    }'].join('\n');
  return [
    `    # The web inspector (docs/inspector.md), served by ${service} (INSPECTOR=on there).`,
    block('= /inspector'),
    '',
    block('/inspector/'),
  ].join('\n');
}

/** The http-level gateway configuration (upstreams, maps, server) for a description. */
function renderSite(desc) {
  const routes = checkDescription(desc);
  const upstreams = Object.entries(desc.services).map(([service, spec]) =>
    [
      `upstream arc_${service} {`,
      `    zone arc_${service} ${UPSTREAM.zoneSize};`,
      ...spec.servers.map((s) => `    server ${s} max_fails=${UPSTREAM.maxFails} fail_timeout=${UPSTREAM.failTimeout};`),
      `    keepalive ${UPSTREAM.keepalive};`,
      `    keepalive_timeout ${UPSTREAM.keepaliveTimeout};`,
      '}',
    ].join('\n'),
  );
  const services = Object.keys(desc.services);
  const req = reqLimit(desc);
  const template = readFileSync(join(TEMPLATE_DIR, 'arc.conf.template'), 'utf8');
  return fill(
    template,
    {
      upstreams: upstreams.join('\n\n'),
      agent_map: [...routes].map(([route, service]) => `    ${route} arc_${service};`).join('\n'),
      listen: desc.listen,
      access_log: desc.accessLog ?? '/var/log/nginx/access.log',
      server_id: desc.serverId ?? 'nginx',
      conn_limit_per_ip: desc.connLimitPerIp ?? SITE_DEFAULTS.connLimitPerIp,
      req_limit_zone: req
        ? `limit_req_zone $binary_remote_addr zone=arc_req_per_ip:10m rate=${req.rate};`
        : '# (off: the description sets reqLimitPerIp to false)',
      req_limit: req
        ? [
            `    limit_req zone=arc_req_per_ip${req.burst ? ` burst=${req.burst}` : ''} nodelay;`,
            '    limit_req_status 461;',
            '    limit_req_log_level warn;',
          ].join('\n')
        : '    # (off: the description sets reqLimitPerIp to false)',
      // Only in @arc_req_limit, which nothing reaches when the limit is off. The details follow
      // the services' -44007 (limit, windowMs, retryAfterMs), with nginx's burst and scope.
      req_retry_after: req ? req.retryAfter : 1,
      req_details: JSON.stringify(
        req
          ? { limit: req.limit, windowMs: req.windowMs, burst: req.burst, retryAfterMs: req.retryAfter * 1000, scope: 'requestsPerAddress' }
          : { scope: 'requestsPerAddress' },
      ),
      agent_info_locations: agentInfoLocations(desc),
      agent_list: agentList(desc),
      inspector_locations: inspectorLocations(desc),
      route_names: services.map((s) => `"${s}"`).join(','),
      route_list: services.join(', '),
    },
    'arc.conf.template',
  );
}

/** The main context for a standalone nginx that keeps all its files under `prefix`. */
function renderMain({ prefix, workerProcesses = 1, errorLogLevel = 'warn' }) {
  if (!prefix || /[\s;'"{}]/.test(prefix))
    throw new RenderError(`prefix ${JSON.stringify(prefix)} must be a path without spaces or quotes`);
  const template = readFileSync(join(TEMPLATE_DIR, 'main.conf.template'), 'utf8');
  return fill(
    template,
    {
      prefix,
      worker_processes: workerProcesses,
      error_log_level: errorLogLevel,
      worker_connections: WORKER.connections,
      worker_rlimit_nofile: WORKER.rlimitNofile,
    },
    'main.conf.template',
  );
}

/**
 * The nginx image's own /etc/nginx/nginx.conf with the WORKER limits instead of its
 * `worker_connections 1024` (the rest - user, worker_processes auto, logs to the container's
 * output, the conf.d include - stays the image's). Throws if the text does not look as expected.
 */
function imageMain(text) {
  const connections = /^(\s*worker_connections\s+)\d+;/m;
  if (!connections.test(text) || !/^events\s*\{/m.test(text) || /^\s*worker_rlimit_nofile\b/m.test(text)) {
    throw new RenderError(
      'the image main configuration has no `events { worker_connections N; }` to adjust (or already sets worker_rlimit_nofile)',
    );
  }
  return text
    .replace(connections, `$1${WORKER.connections};`)
    .replace(/^events\s*\{/m, `worker_rlimit_nofile ${WORKER.rlimitNofile};\n\n$&`);
}

/**
 * The docker-compose description, from services/manifest.json: each service is reached by its
 * compose service name (= its manifest id) on its default port; Docker's DNS gives one address
 * per replica. nginx listens on 80, logs to the image's access log (the container's output).
 */
function composeDescription(manifestFile = MANIFEST) {
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  const list = manifest && manifest.services;
  if (!Array.isArray(list) || list.length === 0) throw new RenderError(`${manifestFile}: "services" must be a non-empty list`);
  const services = {};
  for (const s of list) {
    if (!s || typeof s.id !== 'string' || !Number.isInteger(s.port)) {
      throw new RenderError(`${manifestFile}: every service needs a string "id" and an integer "port", got ${JSON.stringify(s)}`);
    }
    services[s.id] = { servers: [`${s.id}:${s.port}`], agents: s.agents ?? [] };
  }
  // The supervisor service runs with INSPECTOR=on in docker-compose.yml: its inspector is the gateway's.
  const inspector = Object.hasOwn(services, 'supervisor') ? { inspector: 'supervisor' } : {};
  const desc = { listen: '80', accessLog: '/var/log/nginx/access.log', serverId: 'nginx', services, ...inspector };
  checkDescription(desc);
  return desc;
}

/**
 * Writes a standalone configuration into `dir` (nginx.conf, arc.conf, tmp/) and returns the
 * nginx command line to run it in the foreground.
 */
function writeStandalone(dir, desc, options = {}) {
  const prefix = resolve(dir);
  mkdirSync(join(prefix, 'tmp'), { recursive: true });
  // As root, nginx's workers run as `nobody` and must reach the temp directories under prefix.
  chmodSync(prefix, 0o755);
  chmodSync(join(prefix, 'tmp'), 0o755);
  const site = renderSite({ accessLog: join(prefix, 'access.log'), ...desc });
  writeFileSync(join(prefix, 'arc.conf'), site);
  writeFileSync(join(prefix, 'nginx.conf'), renderMain({ prefix, ...options }));
  const conf = join(prefix, 'nginx.conf');
  return { prefix, conf, args: ['-p', prefix, '-c', conf, '-e', join(prefix, 'error.log'), '-g', 'daemon off;'] };
}

function readDescription(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

module.exports = {
  renderSite,
  renderMain,
  imageMain,
  writeStandalone,
  readDescription,
  composeDescription,
  parseReqLimit,
  RenderError,
  UPSTREAM,
  SITE_DEFAULTS,
  WORKER,
  MANIFEST,
};

if (require.main === module) {
  const args = process.argv.slice(2);
  const take = (flag) => {
    const i = args.indexOf(flag);
    if (i === -1) return undefined;
    const [, value] = args.splice(i, 2);
    if (!value) throw new RenderError(`${flag} needs a value`);
    return value;
  };
  try {
    const usage =
      'usage: render.cjs (<description.json> | --compose) [--out file | --standalone dir] | --image-main <nginx.conf> --out file';
    const out = take('--out');
    const standalone = take('--standalone');
    const mainIn = take('--image-main');
    const compose = args.indexOf('--compose');
    if (compose !== -1) args.splice(compose, 1);
    if (mainIn) {
      if (args.length || compose !== -1 || standalone || !out) throw new RenderError(usage);
      writeFileSync(out, imageMain(readFileSync(mainIn, 'utf8')));
    } else {
      if (args.length !== (compose === -1 ? 1 : 0)) throw new RenderError(usage);
      const desc = compose === -1 ? readDescription(args[0]) : composeDescription();
      // GATEWAY_REQ_LIMIT (e.g. "off", "5000r/s burst=10000") replaces the description's reqLimitPerIp.
      if (process.env.GATEWAY_REQ_LIMIT) desc.reqLimitPerIp = parseReqLimit(process.env.GATEWAY_REQ_LIMIT);
      if (standalone) {
        const { args: nginxArgs } = writeStandalone(standalone, desc);
        process.stdout.write(`nginx ${nginxArgs.map((a) => (/[\s;']/.test(a) ? `'${a}'` : a)).join(' ')}\n`);
      } else if (out) {
        writeFileSync(out, renderSite(desc));
      } else {
        process.stdout.write(renderSite(desc));
      }
    }
  } catch (err) {
    process.stderr.write(`render.cjs: ${err.message}\n`);
    process.exit(1);
  }
}
