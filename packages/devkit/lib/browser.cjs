'use strict';
/**
 * Headless Chromium for the browser tests (the web inspector's), driven by playwright-core with
 * the system's browser - Debian's `chromium` (apt-get install -y chromium), or $CHROMIUM_BIN -
 * never a browser playwright downloads. The need 'chromium' skips a suite, saying so, where it
 * is missing (and fails it in CI, as for nginx). Screenshots and other test artifacts go under
 * testArtifactsDir(): $ARC_TEST_ARTIFACTS, else test-artifacts/ at the repository root.
 *
 *   const browser = await launchChromium();
 *   const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
 *   ...
 *   await browser.close();
 */
const { mkdirSync, mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { findBinary, isExecutable } = require('./binaries.cjs');
const { ROOT } = require('./root.cjs');

/** Debian's launcher first: it sets the flags Debian's build expects. */
const CHROMIUM_PATHS = ['/usr/bin/chromium', '/usr/lib/chromium/chromium'];

/** Chromium: $CHROMIUM_BIN (null if not executable), else /usr/bin/chromium, else `chromium` on PATH; null if none. */
function findChromium() {
  if (process.env.CHROMIUM_BIN) return isExecutable(process.env.CHROMIUM_BIN) ? process.env.CHROMIUM_BIN : null;
  return CHROMIUM_PATHS.find(isExecutable) ?? findBinary('chromium');
}

/** Why Chromium cannot be launched, or null. */
function chromiumProblem() {
  if (findChromium() === null) {
    return process.env.CHROMIUM_BIN
      ? `CHROMIUM_BIN=${process.env.CHROMIUM_BIN} is not an executable`
      : 'chromium is not installed (apt-get install -y chromium, or CHROMIUM_BIN=/path/to/chromium)';
  }
  try {
    require.resolve('playwright-core');
  } catch {
    return 'playwright-core is not installed (npm ci)';
  }
  return null;
}

/**
 * Flags for a closed machine, root included: no sandbox (root cannot use it), no GPU, and no
 * background traffic (component updates, sync, field trials): without them Chromium stalls on a
 * network that answers nothing. Each launch gets a new, empty profile.
 */
const CHROMIUM_ARGS = Object.freeze([
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-features=Translate,MediaRouter,OptimizationHints',
]);

/**
 * A headless Chromium (a playwright-core Browser). Its profile lives in a new temporary
 * directory, removed on close(). Throws chromiumProblem()'s sentence when there is no browser.
 */
async function launchChromium({ timeoutMs = 30_000 } = {}) {
  const problem = chromiumProblem();
  if (problem !== null) throw new Error(problem);
  const { chromium } = require('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'arc-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: findChromium(),
      headless: true,
      args: [...CHROMIUM_ARGS],
      timeout: timeoutMs,
      viewport: { width: 1366, height: 768 },
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  const close = context.close.bind(context);
  return Object.assign(context, {
    profile,
    async close() {
      await close();
      rmSync(profile, { recursive: true, force: true });
    },
  });
}

/** The directory for test artifacts (screenshots): $ARC_TEST_ARTIFACTS, else <root>/test-artifacts; created. */
function testArtifactsDir(...sub) {
  const dir = join(process.env.ARC_TEST_ARTIFACTS || join(ROOT, 'test-artifacts'), ...sub);
  mkdirSync(dir, { recursive: true });
  return dir;
}

module.exports = { CHROMIUM_ARGS, findChromium, chromiumProblem, launchChromium, testArtifactsDir };
