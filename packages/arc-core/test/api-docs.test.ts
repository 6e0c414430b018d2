/**
 * The generated API reference (docs/api, `npm run docs:api`: TypeDoc with typedoc.json) is what
 * the sources give today: it is regenerated into a temporary directory and compared file by file,
 * so a changed doc comment or export without a regenerated reference fails here. TypeDoc treats
 * its warnings as errors (typedoc.json), so a broken `{@link}` or an exported signature naming an
 * unexported type fails too.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(__dirname, '../../..');
const COMMITTED = join(ROOT, 'docs/api');

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...files(path));
    else out.push(path);
  }
  return out;
}

function tree(dir: string): Map<string, string> {
  return new Map(files(dir).map((path) => [relative(dir, path), readFileSync(path, 'utf8')]));
}

describe('docs/api', () => {
  let out: string;

  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'arc-api-docs-'));
  });

  afterAll(() => {
    rmSync(out, { recursive: true, force: true });
  });

  it('equals what `npm run docs:api` generates from the sources (run it after changing a public API)', async () => {
    // The package's exports hide its bin: from its main module (dist/), bin/.
    const typedoc = join(dirname(require.resolve('typedoc')), '../bin/typedoc');
    try {
      await promisify(execFile)(process.execPath, [typedoc, '--out', out], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      const { stdout, stderr } = err as { stdout?: string; stderr?: string };
      throw new Error(`TypeDoc failed (warnings count as errors):\n${stdout ?? ''}${stderr ?? ''}`, { cause: err });
    }
    const generated = tree(out);
    const committed = tree(COMMITTED);
    expect(generated.size).toBeGreaterThan(0);
    const stale = [...new Set([...generated.keys(), ...committed.keys()])]
      .filter((name) => generated.get(name) !== committed.get(name))
      .map((name) => `docs/api/${name}: ${committed.has(name) ? (generated.has(name) ? 'differs' : 'no longer generated') : 'missing'}`);
    expect(stale).toEqual([]);
  }, 120_000);
});
