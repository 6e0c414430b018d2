#!/usr/bin/env node
/**
 * Prints @arc/core's public surface in the form packages/arc-core/test/exports.test.ts pins it:
 * the package.json `exports` map and, for each entry point, the sorted names it exports. Reads
 * the built dist/ through the package's own export map, so build first:
 *
 *   npx turbo run build --filter=@arc/core --output-logs=errors-only && node scripts/public-surface.mjs
 */
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT } from '@arc/devkit';

const pkgFile = join(ROOT, 'packages', 'arc-core', 'package.json');
const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
const require = createRequire(pkgFile);
const quote = (s) => `'${s}'`;

console.log(`// dist/ built ${statSync(join(ROOT, 'packages', 'arc-core', 'dist', 'index.js')).mtime.toISOString()}`);
// The same layout Prettier gives the literal in the test (single quotes, bare keys where it can).
const literal = (value, indent = '') =>
  typeof value === 'string'
    ? quote(value)
    : `{\n${Object.entries(value)
        .map(([k, v]) => `${indent}  ${/^[A-Za-z_$][\w$]*$/.test(k) ? k : quote(k)}: ${literal(v, `${indent}  `)},`)
        .join('\n')}\n${indent}}`;
console.log(`const EXPORTS_MAP = ${literal(pkg.exports)};\n`);
console.log('const ENTRY_POINTS: Record<string, string[]> = {');
for (const key of Object.keys(pkg.exports).filter((k) => k !== './package.json')) {
  const entry = key === '.' ? pkg.name : `${pkg.name}${key.slice(1)}`;
  const names = Object.keys(require(entry)).sort();
  console.log(`  ${quote(entry)}: [\n${names.map((n) => `    ${quote(n)},`).join('\n')}\n  ],`);
}
console.log('};');
