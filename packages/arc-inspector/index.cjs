'use strict';
/**
 * @arc/inspector: the ARC web inspector as static files, built by `npm run build` (build.mjs)
 * into dist/ and served by an ARC server at /inspector (arc-core express/inspector.ts).
 *
 *   const { distDir, inspectorFiles } = require('@arc/inspector');
 */
const { existsSync, readdirSync } = require('node:fs');
const { join } = require('node:path');

/** Absolute path of the built files (index.html, app-<hash>.js, app-style-<hash>.css). */
const distDir = join(__dirname, 'dist');

/** Why the inspector cannot be served, or null when dist/ holds a build. */
function inspectorProblem() {
  if (!existsSync(join(distDir, 'index.html'))) {
    return `the ARC inspector is not built: ${join(distDir, 'index.html')} is missing (run \`npm run build\`, or INSPECTOR=off)`;
  }
  return null;
}

/** The names of the built files; throws with inspectorProblem()'s message when there is no build. */
function inspectorFiles() {
  const problem = inspectorProblem();
  if (problem !== null) throw new Error(problem);
  return readdirSync(distDir).filter((name) => /^(index\.html|app-[A-Za-z0-9-]+\.(js|css))$/.test(name));
}

module.exports = { distDir, inspectorProblem, inspectorFiles };
