#!/usr/bin/env node
/**
 * `npm run check:static`: checks of the deployment files that need no running engine.
 *
 *  1. docker-compose.yml is valid (`docker-compose config -q`, or `docker compose config -q`).
 *  2. dockerfilelint passes on every Dockerfile.
 *  3. The three service Dockerfiles are the same file but for the service name and port, and
 *     those ports agree with nginx/compose.json and docker-compose.yml.
 *  4. `nginx -t` accepts both renderings of nginx/arc.conf.template: the local cluster's and
 *     the compose one. nginx resolves upstream host names when it loads a configuration, and the
 *     compose names (finance, hr, support) exist only on the compose network, so the compose
 *     rendering is tested from nginx/compose.json with those hosts replaced by 127.0.0.1 (ports
 *     and everything else unchanged) and its access log moved to a temporary directory; the
 *     container test (`npm run test:containers`) runs the real one.
 *
 * A missing tool (docker-compose, nginx) fails the check in CI (CI set) and is skipped, saying
 * so, elsewhere.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const require = createRequire(import.meta.url);
const { ROOT, findNginx } = require('./lib/cluster.cjs');
const { readDescription, renderMain, renderSite, writeStandalone } = require('../nginx/render.cjs');

const CI = Boolean(process.env.CI);
const results = [];
const ok = (name, note = '') => results.push({ name, status: 'ok', note });
const fail = (name, note) => results.push({ name, status: 'FAIL', note });
const missing = (name, note) => results.push({ name, status: CI ? 'FAIL' : 'skipped', note: CI ? `${note} (required in CI)` : note });

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', ...options });
  return { status: r.error ? -1 : r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}`.trim() };
}
const has = (cmd, args = ['--version']) => run(cmd, args).status === 0;

// 1. compose file
{
  const file = join(ROOT, 'docker-compose.yml');
  const tool = has('docker-compose') ? ['docker-compose', []] : has('docker', ['compose', 'version']) ? ['docker', ['compose']] : null;
  if (!tool) {
    missing(
      'docker-compose config',
      'neither docker-compose nor the docker compose plugin is installed (apt-get install -y docker-compose)',
    );
  } else {
    const r = run(tool[0], [...tool[1], '-f', file, 'config', '-q']);
    if (r.status === 0) ok('docker-compose config', `${[tool[0], ...tool[1]].join(' ')} config -q`);
    else fail('docker-compose config', r.out);
  }
}

// 2. dockerfilelint
const dockerfiles = [
  ...readdirSync(join(ROOT, 'services'))
    .map((s) => join(ROOT, 'services', s, 'Dockerfile'))
    .filter((f) => run('test', ['-f', f]).status === 0),
  ...readdirSync(join(ROOT, 'docker'))
    .filter((f) => f.endsWith('.Dockerfile'))
    .map((f) => join(ROOT, 'docker', f)),
];
for (const file of dockerfiles) {
  const r = run(join(ROOT, 'node_modules', '.bin', 'dockerfilelint'), [file]);
  if (r.status === 0) ok(`dockerfilelint ${relative(ROOT, file)}`);
  else fail(`dockerfilelint ${relative(ROOT, file)}`, r.out);
}

// 3. the service Dockerfiles stay alike, and the ports agree everywhere
{
  const compose = readDescription(join(ROOT, 'nginx', 'compose.json'));
  const composeYml = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
  const portOf = (service) => Number(compose.services[service].servers[0].split(':').pop());
  const finance = readFileSync(join(ROOT, 'services', 'finance', 'Dockerfile'), 'utf8');
  for (const service of Object.keys(compose.services)) {
    const name = `ports and Dockerfile of ${service}`;
    const dockerfile = readFileSync(join(ROOT, 'services', service, 'Dockerfile'), 'utf8');
    const expected = finance.replaceAll('finance', service).replaceAll(String(portOf('finance')), String(portOf(service)));
    const block = composeYml.match(new RegExp(`^  ${service}:\\n((?:    .*\\n|\\n)*)`, 'm'))?.[1] ?? '';
    const composePort = Number(block.match(/^ {6}PORT: "(\d+)"/m)?.[1]);
    const exposed = Number(dockerfile.match(/^EXPOSE (\d+)/m)?.[1]);
    if (dockerfile !== expected)
      fail(name, `services/${service}/Dockerfile differs from services/finance/Dockerfile beyond the name and port`);
    else if (exposed !== portOf(service) || composePort !== portOf(service)) {
      fail(
        name,
        `nginx/compose.json says ${portOf(service)}, the Dockerfile EXPOSEs ${exposed}, docker-compose.yml sets PORT ${composePort}`,
      );
    } else ok(name, `port ${exposed}`);
  }
}

// 4. nginx -t on both renderings
const nginx = findNginx();
if (!nginx) {
  missing('nginx -t', 'nginx is not installed (apt-get install -y nginx)');
} else {
  const dir = mkdtempSync(join(tmpdir(), 'arc-check-static-'));
  try {
    const nginxTest = (prefix, conf) => run(nginx, ['-t', '-q', '-p', prefix, '-c', conf, '-e', join(prefix, 'error.log')]);

    const cluster = writeStandalone(join(dir, 'cluster'), {
      listen: '127.0.0.1:8080',
      services: {
        finance: { servers: ['127.0.0.1:40001', '127.0.0.1:40002'], agents: ['finance-agent'] },
        hr: { servers: ['127.0.0.1:40003'], agents: ['hr-agent'] },
        support: { servers: ['127.0.0.1:40004'], agents: ['support-agent'] },
      },
    });
    const c = nginxTest(cluster.prefix, cluster.conf);
    if (c.status === 0) ok('nginx -t (cluster rendering)');
    else fail('nginx -t (cluster rendering)', c.out);

    const desc = readDescription(join(ROOT, 'nginx', 'compose.json'));
    const local = structuredClone(desc);
    for (const spec of Object.values(local.services)) spec.servers = spec.servers.map((s) => s.replace(/^[^:]+/, '127.0.0.1'));
    local.accessLog = join(dir, 'compose', 'access.log');
    const composeDir = join(dir, 'compose');
    execFileSync('mkdir', ['-p', join(composeDir, 'tmp')]);
    writeFileSync(join(composeDir, 'arc.conf'), renderSite(local));
    writeFileSync(join(composeDir, 'nginx.conf'), renderMain({ prefix: composeDir }));
    // Apart from the replaced hosts and log path, this is the text the nginx image gets.
    const real = renderSite(desc).split('\n');
    const tested = readFileSync(join(composeDir, 'arc.conf'), 'utf8').split('\n');
    const differing = real.filter((line, i) => line !== tested[i]);
    const allowed = differing.every((line) => /^\s+server \S+:\d+ /.test(line) || /^\s+access_log /.test(line));
    const t = nginxTest(composeDir, join(composeDir, 'nginx.conf'));
    if (!allowed) fail('nginx -t (compose rendering)', `unexpected differences: ${differing.join(' | ')}`);
    else if (t.status === 0) ok('nginx -t (compose rendering)', 'service hosts as 127.0.0.1');
    else fail('nginx -t (compose rendering)', t.out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// 5. shell syntax of the container test
{
  const r = run('bash', ['-n', join(ROOT, 'scripts', 'test-containers.sh')]);
  if (r.status === 0) ok('bash -n scripts/test-containers.sh');
  else fail('bash -n scripts/test-containers.sh', r.out);
}

for (const r of results) {
  console.log(`${r.status.padEnd(7)} ${r.name}${r.note ? `  - ${r.note.split('\n').join('\n          ')}` : ''}`);
}
const failed = results.filter((r) => r.status === 'FAIL').length;
console.log(failed ? `\ncheck:static: ${failed} check(s) failed` : '\ncheck:static: all checks passed');
process.exit(failed ? 1 : 0);
