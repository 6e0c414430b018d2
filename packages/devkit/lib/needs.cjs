'use strict';
/**
 * THE rule for a suite that needs a program or a server: when something is missing, the suite
 * is skipped, saying why (console.warn and jest's "skipped"), except in CI (`CI` set), where it
 * fails loudly instead, naming what CI must provide. A need is 'nginx', 'redis-server' (the
 * program), 'redis' (the machine's Redis answers, TEST_REDIS_URL), 'chromium' (a headless
 * browser for playwright-core, browser.cjs), or { name, problem() } for
 * anything else (problem() returns null when it is there, else why not).
 *
 *   const suite = suiteNeeding(['nginx', 'redis']);
 *   suite('scale-out behind nginx', () => { ... });
 */
const { findNginx, findRedisServer } = require('./binaries.cjs');
const { chromiumProblem } = require('./browser.cjs');
const { DEFAULT_REDIS_URL, redisProblem } = require('./redis.cjs');

/** The Redis the tests use: $REDIS_E2E_URL, else the machine's (redis://127.0.0.1:6379). */
const TEST_REDIS_URL = process.env.REDIS_E2E_URL || DEFAULT_REDIS_URL;

/** Whether this runs in CI: `CI` is set (and not "false" or "0"). */
function inCI() {
  const ci = process.env.CI;
  return Boolean(ci) && ci !== 'false' && ci !== '0';
}

const BUILT_IN = {
  nginx: () => (findNginx() ? null : 'nginx is not installed (apt-get install -y nginx, or NGINX_BIN=/path/to/nginx)'),
  'redis-server': () =>
    findRedisServer() ? null : 'redis-server is not installed (apt-get install -y redis-server, or REDIS_SERVER=/path/to/redis-server)',
  redis: () => redisProblem(TEST_REDIS_URL),
  chromium: chromiumProblem,
};

/** A need: Redis at `url` answers PING. */
const redisAt = (url) => ({ name: `redis at ${url}`, problem: () => redisProblem(url) });

// Checked once per process and need name (a Redis probe costs a child process).
const cache = new Map();
function problemOf(need) {
  const name = typeof need === 'string' ? need : need.name;
  const check = typeof need === 'string' ? BUILT_IN[need] : need.problem;
  if (typeof check !== 'function') {
    throw new TypeError(`unknown need ${JSON.stringify(need)}: one of ${Object.keys(BUILT_IN).join(', ')}, or { name, problem }`);
  }
  if (!cache.has(name)) cache.set(name, check() ?? null);
  return cache.get(name);
}

/** What is missing, one sentence per unmet need; [] when everything is there. */
function unmet(needs) {
  return needs.map(problemOf).filter((p) => p !== null);
}

function jestGlobals() {
  const { describe, it } = globalThis;
  if (typeof describe !== 'function') throw new Error('suiteNeeding/testNeeding run inside jest test files only');
  return { describe, it };
}

/**
 * `describe` when every need is met; otherwise a `describe` that skips the suite saying why,
 * or (in CI, unless `requiredInCi` is false) declares one failing test naming what is missing.
 */
function suiteNeeding(needs, { requiredInCi = true } = {}) {
  const problems = unmet(needs);
  const { describe, it } = jestGlobals();
  if (problems.length === 0) return describe;
  const why = problems.join('; ');
  if (requiredInCi && inCI()) {
    return (name) =>
      describe(name, () => {
        it(`needs: ${why}`, () => {
          throw new Error(`"${name}" cannot run in CI: ${why}`);
        });
      });
  }
  return (name, fn) => {
    console.warn(`SKIPPED "${name}": ${why}`);
    describe.skip(name, fn);
  };
}

/** The same rule for a single test: `it`, or a skipped one saying why, or (CI) a failing one. */
function testNeeding(needs, { requiredInCi = true } = {}) {
  const problems = unmet(needs);
  const { it } = jestGlobals();
  if (problems.length === 0) return it;
  const why = problems.join('; ');
  if (requiredInCi && inCI()) {
    return (name) =>
      it(name, () => {
        throw new Error(`"${name}" cannot run in CI: ${why}`);
      });
  }
  return (name, fn, timeout) => {
    console.warn(`SKIPPED "${name}": ${why}`);
    it.skip(name, fn, timeout);
  };
}

module.exports = { TEST_REDIS_URL, inCI, unmet, redisAt, suiteNeeding, testNeeding };
