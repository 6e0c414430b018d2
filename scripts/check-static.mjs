/**
 * `npm run check:static`: checks of the deployment files that need no running engine.
 *
 *  1. docker-compose.yml is valid (`docker-compose config -q`, or `docker compose config -q`).
 *  2. dockerfilelint passes on every Dockerfile.
 *  3. services/manifest.json (read through @arc/devkit) agrees with every other place that
 *     names a service's port, server id, agents or replicas: the service Dockerfiles (the same
 *     file but for the service name and port), docker/single-server.Dockerfile, each service's
 *     DEFAULTS in src/server.ts, docker-compose.yml (PORT, SERVER_ID, replicas), nginx's compose
 *     description, the README's diagram and docs/distributed.md's cluster options. Every image
 *     ships the built web inspector (@arc/core depends on it), and the gateway serves the
 *     supervisor's, which compose starts with INSPECTOR=on.
 *  4. `nginx -t` accepts both renderings of nginx/arc.conf.template: the local cluster's and
 *     the compose one. nginx resolves upstream host names when it loads a configuration, and the
 *     compose names (finance, hr, support) exist only on the compose network, so the compose
 *     rendering is tested with those hosts replaced by 127.0.0.1 (ports and everything else
 *     unchanged) and its access log moved to a temporary directory; the container test
 *     (`npm run test:containers`) runs the real one.
 *  5. `bash -n` on the container test.
 *  6. docker/security.env (the one file that turns auth, rate limits and CORS on for compose and
 *     the local cluster) names only variables arc-core's configuration knows, and docker-compose.yml
 *     passes each of them, commented-out ones too, to every ARC service as `${NAME:-}` (empty =
 *     unset); with a compose tool, `config` with `--env-file docker/security.env` shows the file's
 *     values in every ARC service's environment.
 *  7. docker/prometheus.yml (compose `observability` profile) has a scrape job per service of the
 *     manifest at its port; `promtool check config` when promtool is installed.
 *
 * A missing tool (docker-compose, nginx) fails the check in CI (CI set) and is skipped, saying
 * so, elsewhere (@arc/devkit's inCI(), the rule the test suites follow too).
 */
import { spawnSync } from 'node:child_process';
import { parseEnv } from 'node:util';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ROOT, findNginx, inCI, manifest } from '@arc/devkit';
import { composeDescription, renderMain, renderSite, writeStandalone } from '../nginx/render.cjs';

const CI = inCI();
const results = [];
const ok = (name, note = '') => results.push({ name, status: 'ok', note });
const fail = (name, note) => results.push({ name, status: 'FAIL', note });
const missing = (name, note) => results.push({ name, status: CI ? 'FAIL' : 'skipped', note: CI ? `${note} (required in CI)` : note });

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', ...options });
  return { status: r.error ? -1 : r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}`.trim() };
}
const has = (cmd, args = ['--version']) => run(cmd, args).status === 0;
const read = (...path) => readFileSync(join(ROOT, ...path), 'utf8');

// 1. compose file
const composeTool = has('docker-compose') ? ['docker-compose', []] : has('docker', ['compose', 'version']) ? ['docker', ['compose']] : null;
{
  const file = join(ROOT, 'docker-compose.yml');
  const tool = composeTool;
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
    .filter((f) => existsSync(f)),
  ...readdirSync(join(ROOT, 'docker'))
    .filter((f) => f.endsWith('.Dockerfile'))
    .map((f) => join(ROOT, 'docker', f)),
];
for (const file of dockerfiles) {
  const r = run(join(ROOT, 'node_modules', '.bin', 'dockerfilelint'), [file]);
  if (r.status === 0) ok(`dockerfilelint ${relative(ROOT, file)}`);
  else fail(`dockerfilelint ${relative(ROOT, file)}`, r.out);
}

// 3. the manifest agrees with the Dockerfiles, DEFAULTS, compose, nginx's description and the docs
{
  const composeYml = read('docker-compose.yml');
  const composeBlock = (id) => composeYml.match(new RegExp(`^  ${id}:\\n((?:    .*\\n|\\n)*)`, 'm'))?.[1] ?? '';
  /** PORT and SERVER_ID of a src/server.ts `DEFAULTS = { PORT: 8001, SERVER_ID: 'finance-server' }`. */
  const defaultsOf = (dir) => {
    const text = read(dir, 'src', 'server.ts');
    const block = text.match(/export const DEFAULTS = \{([^}]*)\}/)?.[1] ?? '';
    return { port: Number(block.match(/PORT: (\d+)/)?.[1]), serverId: block.match(/SERVER_ID: '([^']+)'/)?.[1] };
  };
  /** The service's PORT, default SERVER_ID and replicas in docker-compose.yml. */
  const composeOf = (id) => {
    const block = composeBlock(id);
    return {
      port: Number(block.match(/^ {6}PORT: "(\d+)"/m)?.[1]),
      serverId: block.match(/^ {6}SERVER_ID: \$\{[A-Z_]+:-([^}]+)\}/m)?.[1],
      replicas: Number(block.match(/^ {4}deploy:\n {6}replicas: (\d+)/m)?.[1] ?? 1),
    };
  };
  /** One result per deployable: ok with `summary` when every [what, actual, expected] agrees. */
  const checkAll = (name, summary, facts) => {
    const wrong = facts.filter(([, actual, expected]) => actual !== expected);
    if (wrong.length === 0) ok(name, `${summary}: ${facts.length} place${facts.length === 1 ? ' agrees' : 's agree'}`);
    else
      fail(
        name,
        wrong
          .map(([what, actual, expected]) => `${what} is ${JSON.stringify(actual)}, the manifest says ${JSON.stringify(expected)}`)
          .join('\n'),
      );
  };

  const finance = manifest.service('finance');
  const template = read(finance.dir, 'Dockerfile');
  const templatePort = Number(template.match(/^EXPOSE (\d+)/m)?.[1]);
  let description;
  try {
    description = composeDescription();
  } catch (err) {
    fail("nginx's compose description", err.message);
  }
  const readme = read('README.md');
  const distributed = read('docs', 'distributed.md');
  for (const s of manifest.services) {
    const name = `manifest: ${s.id}`;
    const dockerfile = read(s.dir, 'Dockerfile');
    const exposed = Number(dockerfile.match(/^EXPOSE (\d+)/m)?.[1]);
    // The same file as finance's but for the name and the port (whatever port it says: that one is checked below).
    const alike = dockerfile === template.replaceAll(finance.id, s.id).replaceAll(String(templatePort), String(exposed));
    const defaults = defaultsOf(s.dir);
    const compose = composeOf(s.id);
    const upstream = description?.services?.[s.id];
    // The README's diagram: `──► finance #1, #2, #3 (:8001)`, `──► hr (:8002)`.
    const diagram = readme.match(new RegExp(`──► ${s.id}((?: #\\d+,?)*) \\(:(\\d+)\\)`));
    const documented = distributed.match(new RegExp(`\`${s.id.toUpperCase()}_REPLICAS\` \\((\\d+)\\)`));
    const summary = `port ${s.port}, ${s.serverId}, ${s.agents.join(' ')}, replicas ${s.replicas.cluster} (cluster) / ${s.replicas.compose} (compose)`;
    checkAll(name, summary, [
      [`${s.dir}/Dockerfile is ${finance.dir}/Dockerfile but for the name and port`, alike, true],
      [`${s.dir}/Dockerfile EXPOSE`, exposed, s.port],
      [`${s.dir}/Dockerfile SERVER_ID`, dockerfile.match(/^\s+SERVER_ID=(\S+)/m)?.[1], s.serverId],
      [`${s.dir}/src/server.ts DEFAULTS.PORT`, defaults.port, s.port],
      [`${s.dir}/src/server.ts DEFAULTS.SERVER_ID`, defaults.serverId, s.serverId],
      ['docker-compose.yml PORT', compose.port, s.port],
      ['docker-compose.yml SERVER_ID', compose.serverId, s.serverId],
      ['docker-compose.yml replicas', compose.replicas, s.replicas.compose],
      ["nginx's compose description port", Number(upstream?.servers?.[0]?.split(':').pop()), s.port],
      ["nginx's compose description agents", (upstream?.agents ?? []).join(','), s.agents.join(',')],
      ["README.md's diagram port", Number(diagram?.[2]), s.port],
      ["README.md's diagram replicas", diagram ? Math.max(1, (diagram[1].match(/#/g) ?? []).length) : undefined, s.replicas.compose],
      [`docs/distributed.md ${s.id.toUpperCase()}_REPLICAS default`, Number(documented?.[1]), s.replicas.cluster],
    ]);
  }
  if (description) {
    const routes = Object.keys(description.services ?? {}).join(',');
    checkAll("manifest: nginx's compose routes", manifest.ids.join(', '), [
      ["nginx's compose description services", routes, manifest.ids.join(',')],
    ]);
  }
  // @arc/core depends on @arc/inspector (the web inspector, docs/inspector.md): every image ships its built files.
  const INSPECTOR_COPIES = [
    'COPY --from=builder /repo/packages/arc-inspector/package.json /repo/packages/arc-inspector/index.cjs ./packages/arc-inspector/',
    'COPY --from=builder /repo/packages/arc-inspector/dist ./packages/arc-inspector/dist',
  ];
  const images = [...manifest.services.map((s) => `${s.dir}/Dockerfile`), 'docker/single-server.Dockerfile'];
  checkAll('images ship the web inspector', `${images.length} Dockerfiles`, [
    ...images.map((file) => [`${file} copies packages/arc-inspector`, INSPECTOR_COPIES.every((line) => read(file).includes(line)), true]),
    ['docker-compose.yml supervisor INSPECTOR', composeBlock('supervisor').match(/^ {6}INSPECTOR: "(\w+)"/m)?.[1], 'on'],
    ["nginx's compose description inspector", description?.inspector, 'supervisor'],
  ]);

  const single = manifest.singleServer;
  const singleDockerfile = read('docker', 'single-server.Dockerfile');
  const singleDefaults = defaultsOf(single.dir);
  const singleCompose = composeOf(single.id);
  checkAll(`manifest: ${single.id}`, `port ${single.port}, ${single.serverId}`, [
    ['docker/single-server.Dockerfile EXPOSE', Number(singleDockerfile.match(/^EXPOSE (\d+)/m)?.[1]), single.port],
    ['docker/single-server.Dockerfile SERVER_ID', singleDockerfile.match(/^\s+SERVER_ID=(\S+)/m)?.[1], single.serverId],
    [`${single.dir}/src/server.ts DEFAULTS.PORT`, singleDefaults.port, single.port],
    [`${single.dir}/src/server.ts DEFAULTS.SERVER_ID`, singleDefaults.serverId, single.serverId],
    ['docker-compose.yml PORT', singleCompose.port, single.port],
    ['docker-compose.yml SERVER_ID', singleCompose.serverId, single.serverId],
  ]);
}

// 4. nginx -t on both renderings
const nginx = findNginx();
if (!nginx) {
  missing('nginx -t', 'nginx is not installed (apt-get install -y nginx)');
} else {
  const dir = mkdtempSync(join(tmpdir(), 'arc-check-static-'));
  try {
    const nginxTest = (prefix, conf) => run(nginx, ['-t', '-q', '-p', prefix, '-c', conf, '-e', join(prefix, 'error.log')]);

    // What `npm run cluster` renders: every service of the manifest, its cluster replicas on local ports.
    let nextPort = 40001;
    const services = Object.fromEntries(
      manifest.services.map((s) => [
        s.id,
        { servers: Array.from({ length: s.replicas.cluster }, () => `127.0.0.1:${nextPort++}`), agents: [...s.agents] },
      ]),
    );
    const cluster = writeStandalone(join(dir, 'cluster'), { listen: '127.0.0.1:8080', services, inspector: 'supervisor' });
    const c = nginxTest(cluster.prefix, cluster.conf);
    if (c.status === 0) ok('nginx -t (cluster rendering)');
    else fail('nginx -t (cluster rendering)', c.out);

    const desc = composeDescription();
    const local = structuredClone(desc);
    for (const spec of Object.values(local.services)) spec.servers = spec.servers.map((s) => s.replace(/^[^:]+/, '127.0.0.1'));
    local.accessLog = join(dir, 'compose', 'access.log');
    const composeDir = join(dir, 'compose');
    mkdirSync(join(composeDir, 'tmp'), { recursive: true });
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

// 6. docker/security.env reaches every ARC service through docker-compose.yml
{
  const name = 'docker/security.env in docker-compose.yml';
  const text = read('docker', 'security.env');
  // Every variable of the file, also those commented out (`# CORS_ORIGINS=...`): one may uncomment them.
  const names = [...text.matchAll(/^(?:# ?)?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);
  const config = read('packages', 'arc-core', 'src', 'config', 'config.ts');
  const known = new Set([...config.matchAll(/^ {4}([A-Z][A-Z0-9_]*): \{ type:/gm)].map((m) => m[1]));
  const composeYml = read('docker-compose.yml');
  const anchor = composeYml.match(/^x-arc-env: &arc-env\n((?: {2}.*\n|\n)*)/m)?.[1] ?? '';
  const problems = [];
  if (names.length === 0) problems.push('docker/security.env names no variable');
  for (const v of names) {
    if (!known.has(v)) problems.push(`${v} is not a variable of arc-core's configuration (packages/arc-core/src/config/config.ts)`);
    if (!anchor.includes(`\n  ${v}: \${${v}:-}\n`) && !anchor.startsWith(`  ${v}: \${${v}:-}\n`))
      problems.push(`${v} is not passed as "${v}: \${${v}:-}" in docker-compose.yml's x-arc-env`);
  }
  if (problems.length === 0 && composeTool) {
    // What compose gives the services with the file: its values, in every ARC service.
    const values = parseEnv(text);
    const r = run(composeTool[0], [
      ...composeTool[1],
      '-f',
      join(ROOT, 'docker-compose.yml'),
      '--env-file',
      join(ROOT, 'docker', 'security.env'),
      'config',
    ]);
    if (r.status !== 0) problems.push(`config --env-file docker/security.env failed: ${r.out}`);
    else {
      const services = [...manifest.services.map((s) => s.id), manifest.singleServer.id];
      for (const id of services) {
        const block = r.out.match(new RegExp(`^  ${id}:\\n((?: {4}.*\\n|\\n)*)`, 'm'))?.[1] ?? '';
        for (const [v, value] of Object.entries(values)) {
          const line = block.match(new RegExp(`^ {6}${v}: (.*)$`, 'm'))?.[1]?.replace(/^(['"])(.*)\1$/, '$2');
          if (line !== value) problems.push(`with --env-file docker/security.env, service ${id} does not get ${v} from the file`);
        }
      }
    }
  }
  if (problems.length > 0) fail(name, problems.join('\n'));
  else ok(name, `${names.length} variables passed to every service${composeTool ? ', checked with config --env-file' : ''}`);
}

// 7. Prometheus (compose `observability` profile) scrapes every service of the manifest at its port
{
  const name = 'docker/prometheus.yml';
  const file = join(ROOT, 'docker', 'prometheus.yml');
  const text = readFileSync(file, 'utf8');
  const problems = [];
  const jobs = [...text.matchAll(/- job_name: (\S+)\n((?: {4}.*\n)*)/g)].map((m) => ({ id: m[1], body: m[2] }));
  for (const service of manifest.services) {
    const job = jobs.find((j) => j.id === service.id);
    if (!job) problems.push(`no scrape job for service ${service.id}`);
    else {
      if (!new RegExp(`names: \\[${service.id}\\]`).test(job.body))
        problems.push(`job ${service.id} does not resolve the name ${service.id}`);
      if (!new RegExp(`port: ${service.port}\\b`).test(job.body)) problems.push(`job ${service.id} does not scrape port ${service.port}`);
    }
  }
  for (const job of jobs)
    if (!manifest.services.some((s) => s.id === job.id)) problems.push(`job ${job.id} names no service of the manifest`);
  if (problems.length > 0) fail(name, problems.join('\n'));
  else if (!has('promtool', ['--version'])) ok(name, `a job per service (${jobs.length}); promtool not installed, syntax not checked`);
  else {
    const r = run('promtool', ['check', 'config', '--syntax-only', file]);
    if (r.status === 0) ok(name, `a job per service (${jobs.length}), promtool check config`);
    else fail(name, r.out);
  }
}

for (const r of results) {
  console.log(`${r.status.padEnd(7)} ${r.name}${r.note ? `  - ${r.note.split('\n').join('\n          ')}` : ''}`);
}
const failed = results.filter((r) => r.status === 'FAIL').length;
console.log(failed ? `\ncheck:static: ${failed} check(s) failed` : '\ncheck:static: all checks passed');
process.exit(failed ? 1 : 0);
