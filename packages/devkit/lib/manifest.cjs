'use strict';
/**
 * services/manifest.json, THE list of this repository's services, read and checked once: the
 * local cluster, the benchmark, the static checks, jest's projects and the tests take their
 * service ids, agents, default ports and replica counts from here.
 */
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { ROOT } = require('./root.cjs');

const FILE = join(ROOT, 'services', 'manifest.json');
const ID = /^[a-z][a-z0-9-]{0,62}$/;

function fail(what) {
  throw new Error(`services/manifest.json: ${what}`);
}

function checkDeployable(entry, where, { replicas }) {
  if (!entry || typeof entry !== 'object') fail(`${where} must be an object`);
  if (typeof entry.id !== 'string' || !ID.test(entry.id)) fail(`${where}.id ${JSON.stringify(entry.id)} is not [a-z][a-z0-9-]*`);
  const at = `${where} (${entry.id})`;
  if (entry.dir !== `services/${entry.id}`) fail(`${at}.dir must be services/${entry.id}`);
  if (typeof entry.package !== 'string' || !entry.package.startsWith('@arc/')) fail(`${at}.package must be an @arc/ package name`);
  if (!Array.isArray(entry.agents) || entry.agents.length === 0 || !entry.agents.every((a) => typeof a === 'string' && ID.test(a))) {
    fail(`${at}.agents must be a non-empty list of agent ids`);
  }
  if (!Number.isInteger(entry.port) || entry.port < 1 || entry.port > 65535) fail(`${at}.port must be a TCP port`);
  if (typeof entry.serverId !== 'string' || entry.serverId === '') fail(`${at}.serverId must be a non-empty string`);
  if (replicas) {
    for (const where of ['cluster', 'compose']) {
      const n = entry.replicas?.[where];
      if (!Number.isInteger(n) || n < 1) fail(`${at}.replicas.${where} must be a positive integer, got ${JSON.stringify(n)}`);
    }
  }
  return Object.freeze({
    ...entry,
    agents: Object.freeze([...entry.agents]),
    ...(replicas ? { replicas: Object.freeze({ ...entry.replicas }) } : {}),
    /** The built entry point, relative to the repository root. */
    entry: `${entry.dir}/dist/index.js`,
  });
}

function loadManifest(file = FILE) {
  let raw;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    fail(`cannot be read: ${err.message}`);
  }
  if (!Array.isArray(raw.services) || raw.services.length === 0) fail('services must be a non-empty list');
  const services = raw.services.map((s, i) => checkDeployable(s, `services[${i}]`, { replicas: true }));
  const singleServer = checkDeployable(raw.singleServer, 'singleServer', { replicas: false });
  const seen = new Map();
  for (const s of [...services, singleServer]) {
    for (const [kind, value] of [
      ['id', s.id],
      ['port', s.port],
      ['serverId', s.serverId],
    ]) {
      const key = `${kind}:${value}`;
      if (seen.has(key)) fail(`${kind} ${value} is used by both ${seen.get(key)} and ${s.id}`);
      seen.set(key, s.id);
    }
  }
  const agentOwner = new Map();
  for (const s of services) {
    for (const a of s.agents) {
      if (agentOwner.has(a)) fail(`agent ${a} is in both ${agentOwner.get(a)} and ${s.id}`);
      agentOwner.set(a, s.id);
    }
  }
  const missingAgents = singleServer.agents.filter((a) => !agentOwner.has(a));
  const extraAgents = [...agentOwner.keys()].filter((a) => !singleServer.agents.includes(a));
  if (missingAgents.length || extraAgents.length) {
    fail(
      `singleServer.agents must be the services' agents (missing ${extraAgents.join(', ') || '-'}, unknown ${missingAgents.join(', ') || '-'})`,
    );
  }
  const byId = new Map(services.map((s) => [s.id, s]));
  return Object.freeze({
    file,
    /** The separately deployed services (finance, hr, support), in manifest order. */
    services: Object.freeze(services),
    /** The embedded deployment: every agent in one process. */
    singleServer,
    /** Every deployable: the services, then the single server. */
    all: Object.freeze([...services, singleServer]),
    /** The service ids, in manifest order. */
    ids: Object.freeze(services.map((s) => s.id)),
    /** One service by id; throws, naming the known ones, for an unknown id. */
    service(id) {
      const s = byId.get(id);
      if (!s) throw new Error(`unknown service ${JSON.stringify(id)}; one of ${[...byId.keys()].join(', ')}`);
      return s;
    },
    /** Default replicas per service for `where` ('cluster': npm run cluster, 'compose': docker-compose.yml). */
    replicas(where) {
      if (where !== 'cluster' && where !== 'compose') throw new TypeError(`replicas('cluster' | 'compose'), got ${where}`);
      return Object.fromEntries(services.map((s) => [s.id, s.replicas[where]]));
    },
  });
}

const manifest = loadManifest();

module.exports = { manifest, loadManifest };
