/**
 * The transport-free layers must stay transport-free: nothing under protocol/, errors/, router/,
 * state/, tasks/, webhooks/ or config/ may import express, axios, ioredis, winston or bullmq. And the package's public
 * entry points stay stable.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const PKG = join(__dirname, '..');
const SRC = join(PKG, 'src');
const TRANSPORT_FREE = ['protocol', 'errors', 'router', 'state', 'tasks', 'webhooks', 'config', 'tracing'];
const FORBIDDEN = ['express', 'axios', 'ioredis', 'winston', 'bullmq'];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|mts|cts|js|mjs|cjs)$/.test(name)) out.push(path);
  }
  return out;
}

/** Module specifiers of import/export-from/require/dynamic import statements. */
function importedModules(source: string): string[] {
  const text = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
  const specs: string[] = [];
  const patterns = [
    /\b(?:import|export)\s[^'"]*?\sfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g, // also `import x = require('...')`
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) specs.push(m[1]!);
  return specs;
}

function forbiddenIn(specs: string[]): string[] {
  return specs.filter((s) => FORBIDDEN.some((f) => s === f || s.startsWith(`${f}/`) || s === `@types/${f}`));
}

describe('layering', () => {
  it('the import scanner finds every import form (so the layering test can fail)', () => {
    const sample = [
      "import express from 'express';",
      'import type { AxiosInstance } from "axios";',
      "import { Redis } from 'ioredis';",
      "import 'winston';",
      "export { format } from 'winston/lib/winston/config';",
      "const x = require('axios');",
      "const y = await import('ioredis');",
      "import z = require('express');",
      "// import nothing from 'express' in a comment",
      "import { ok } from './ok';",
      "import Ajv from 'ajv';",
      "import { expressive } from 'expressive';",
    ].join('\n');
    const specs = importedModules(sample);
    expect(forbiddenIn(specs).sort()).toEqual([
      'axios',
      'axios',
      'express',
      'express',
      'ioredis',
      'ioredis',
      'winston',
      'winston/lib/winston/config',
    ]);
    expect(specs).toContain('./ok');
    expect(specs).toContain('ajv');
    expect(forbiddenIn(['expressive', 'axios-retry-not', 'ajv'])).toEqual([]);
  });

  it.each(TRANSPORT_FREE)('src/%s imports none of express, axios, ioredis, winston', (layer) => {
    const files = sourceFiles(join(SRC, layer));
    expect(files.length).toBeGreaterThan(0);
    const offenders: string[] = [];
    for (const file of files) {
      for (const spec of forbiddenIn(importedModules(readFileSync(file, 'utf8')))) offenders.push(`${relative(PKG, file)} imports ${spec}`);
    }
    expect(offenders).toEqual([]);
  });

  it('the transport layers do import what they wrap (the scan sees real files)', () => {
    const expressFiles = sourceFiles(join(SRC, 'express')).flatMap((f) => importedModules(readFileSync(f, 'utf8')));
    expect(expressFiles).toContain('express');
    const clientFiles = sourceFiles(join(SRC, 'client')).flatMap((f) => importedModules(readFileSync(f, 'utf8')));
    expect(clientFiles).toContain('axios');
  });
});

describe('package.json exports', () => {
  const pkg = JSON.parse(readFileSync(join(PKG, 'package.json'), 'utf8')) as {
    name: string;
    main: string;
    types: string;
    exports: Record<string, string | { types?: string; default?: string }>;
  };

  it('keeps the public entry points', () => {
    expect(pkg.name).toBe('@arc/core');
    const keys = Object.keys(pkg.exports);
    for (const key of ['.', './express', './client', './package.json']) expect(keys).toContain(key);
    expect(pkg.exports['./package.json']).toBe('./package.json');
  });

  it.each([
    ['.', 'index'],
    ['./express', 'express/index'],
    ['./client', 'client/index'],
  ])('%s points at dist/%s with types, built from an existing src file', (key, path) => {
    expect(pkg.exports[key]).toEqual({ types: `./dist/${path}.d.ts`, default: `./dist/${path}.js` });
    expect(statSync(join(SRC, `${path}.ts`)).isFile()).toBe(true);
  });

  it('main and types agree with the "." export', () => {
    expect(`./${pkg.main}`).toBe((pkg.exports['.'] as { default: string }).default);
    expect(`./${pkg.types}`).toBe((pkg.exports['.'] as { types: string }).types);
  });
});
