// Installs the workspace's dependencies when they are missing, so that `npm start` and
// `npm test` work as the first command on a fresh clone. Does nothing once installed.
import { existsSync } from 'node:fs';
import { execSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const marker = join(root, 'node_modules', '.package-lock.json');
if (!existsSync(marker)) {
  console.error('[setup] dependencies missing: running `npm ci` once');
  execSync('npm ci --no-audit --no-fund', { cwd: root, stdio: 'inherit' });
}
