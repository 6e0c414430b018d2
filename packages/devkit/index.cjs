'use strict';
/**
 * @arc/devkit: the repository's own kit for tests, scripts and the benchmark (STYLE.md 15, one
 * helper per job). Plain CommonJS so that jest (ts-jest), `.mjs` scripts, `.cjs` files and the
 * benchmark load it as it is; types in index.d.cts.
 *
 *   ports       freePort(), openConnectionsTo(), noOpenConnectionsTo()
 *   binaries    findBinary(), findNginx(), findRedisServer()
 *   processes   startProcess(), killAll(), httpStatus(), processTree(), stillRunning()
 *   redis       redisProblem() (sync) / redisProblemAsync(), shortLivedClient(), testKeyPrefix(),
 *               keysUnder(), deleteKeysUnder(), startRedisServer()
 *   envelopes   arcRequest(), userText(), readAnswer(), post()
 *   needs       suiteNeeding(), testNeeding(), unmet(), inCI(): the rule for a missing server
 *   browser     launchChromium(), findChromium(), chromiumProblem(), testArtifactsDir()
 *   manifest    manifest (services/manifest.json, checked); nginx's compose description is nginx/render.cjs composeDescription()
 */
module.exports = {
  ...require('./lib/root.cjs'),
  ...require('./lib/ports.cjs'),
  ...require('./lib/binaries.cjs'),
  ...require('./lib/processes.cjs'),
  ...require('./lib/redis.cjs'),
  ...require('./lib/envelopes.cjs'),
  ...require('./lib/needs.cjs'),
  ...require('./lib/browser.cjs'),
  ...require('./lib/manifest.cjs'),
};
