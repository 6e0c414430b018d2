/**
 * `arc` as an installed package, not only `npx arc` in the repository: the three packages it
 * needs (@arc/cli, @arc/core, @arc/inspector) packed with `npm pack` as a publish would, installed
 * into an empty project (their own dependencies from the npm cache `npm ci` filled, else the
 * registry), and the installed `arc` run against the single server.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, startService, stopAll, type Proc } from './support/processes';

const run = promisify(execFile);
let dir: string;
let single: Proc;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'arc-cli-package-'));
  single = await startService('single-server');
}, 60_000);

afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

test('npm pack + npm install gives a working arc command', async () => {
  const tarballs: string[] = [];
  for (const pkg of ['arc-core', 'arc-inspector', 'arc-cli']) {
    const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: join(ROOT, 'packages', pkg) });
    tarballs.push(join(dir, stdout.trim().split('\n').pop()!));
  }
  const project = join(dir, 'project');
  await run('mkdir', ['-p', project]);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'uses-arc', version: '1.0.0', private: true }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs], { cwd: project, timeout: 240_000 });

  const arc = join(project, 'node_modules', '.bin', 'arc');
  expect((await run(arc, ['--version'])).stdout.trim()).toBe('0.1.0');
  const { stdout } = await run(arc, ['chat', `${single.url}/arc`, 'finance-agent', 'I need help with an invoice'], { cwd: project });
  expect(stdout).toContain('I can help with invoice inquiries. Please provide invoice number.');
  // The installed CLI is the packed one, not the repository's.
  const { stdout: where } = await run(process.execPath, ['-p', "require.resolve('@arc/cli/package.json')"], { cwd: project });
  expect(where.trim()).toBe(join(project, 'node_modules', '@arc', 'cli', 'package.json'));
}, 300_000);
