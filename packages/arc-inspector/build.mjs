/**
 * `npm run build`: bundles src/ into dist/ with esbuild - app-<hash>.js (Preact, eventsource-parser
 * and the inspector, minified, one ES module), app-<hash>.css, and index.html naming both. The
 * hashes let the server cache the assets for a year and index.html not at all. Nothing is
 * fetched at run time from anywhere but the serving origin. dist/ is never empty while this
 * runs (a server or a test may be reading it): the new files are built aside, moved in, index.html
 * last, and only then are the old ones removed.
 */
import { build } from 'esbuild';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const dist = join(here, 'dist');

const staging = join(here, `.dist-${process.pid}`);
rmSync(staging, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
const result = await build({
  entryPoints: { app: join(here, 'src', 'main.tsx'), 'app-style': join(here, 'src', 'app.css') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022', 'chrome109', 'firefox115', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: staging,
  entryNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((file) => basename(file));
const js = outputs.find((f) => /^app-[A-Z0-9]+\.js$/.test(f));
const css = outputs.find((f) => /^app-style-[A-Z0-9]+\.css$/.test(f));
if (js === undefined || css === undefined) throw new Error(`esbuild wrote ${outputs.join(', ')}: no app-*.js or app-style-*.css`);
const html = readFileSync(join(here, 'src', 'index.html'), 'utf8')
  .replace('{{app.js}}', js)
  .replace('{{app.css}}', css);
if (html.includes('{{')) throw new Error('src/index.html has a placeholder build.mjs does not fill');
writeFileSync(join(staging, 'index.html'), html);
// The assets first, then index.html naming them; then what the new build no longer has (the
// old assets, and the empty .js esbuild writes for an entry that is only CSS, left in staging).
const keep = [js, css, 'index.html'];
for (const f of keep) renameSync(join(staging, f), join(dist, f));
for (const f of readdirSync(dist)) if (!keep.includes(f)) rmSync(join(dist, f), { recursive: true, force: true });
rmSync(staging, { recursive: true, force: true });
const size = (f) => `${f} ${(readFileSync(join(dist, f)).length / 1024).toFixed(1)} KiB`;
process.stdout.write(`@arc/inspector: dist/ ${[size('index.html'), size(js), size(css)].join(', ')}\n`);
