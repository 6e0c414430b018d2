/**
 * The README is a promise: its start command, its curl call and its client example are run
 * here as written (only the port is changed to a free one). So are the Security section's
 * commands: the secret as its export line makes it, `npm start` with it, a token from
 * `npm run -s token` sent with its curl call; `npm run cluster -- --env-file
 * docker/security.env` with the token and curl call that go with it.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deleteKeysUnder, redisProblem, testKeyPrefix, testNeeding } from '@arc/devkit';
import { freePort, ROOT, startProcess, stopAll, type Proc } from './support/processes';

const run = promisify(execFile);
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
let server: Proc;

beforeAll(async () => {
  expect(readme).toContain('\nnpm start\n');
  const port = await freePort();
  // `npm start` exactly as the README gives it, with PORT from the environment.
  server = await startProcess({
    name: 'npm start',
    command: 'npm',
    args: ['start'],
    port,
    env: { PORT: String(port) },
    timeoutMs: 120_000,
  });
}, 150_000);
afterAll(stopAll);

test('the README curl call gets the finance agent reply', async () => {
  const line = readme.split('\n').find((l) => l.startsWith('curl -s http://localhost:8000/arc'));
  expect(line).toBeDefined();
  const withPort = line!.replace('localhost:8000', `127.0.0.1:${server.port}`);
  const { stdout } = await run('bash', ['-c', withPort]);
  const env = JSON.parse(stdout);
  expect(env.result.chat.message.parts[0].content).toBe('I can help with invoice inquiries. Please provide invoice number.');
});

test('the README client example prints the conversation', async () => {
  expect(readme).toContain('node examples/client.mjs http://localhost:8000/arc');
  const { stdout } = await run(process.execPath, [join(ROOT, 'examples', 'client.mjs'), `http://127.0.0.1:${server.port}/arc`]);
  expect(stdout).toContain('finance-agent: I can help with invoice inquiries. Please provide invoice number.');
  expect(stdout).toContain('finance-agent: Processing your request: Invoice number INV-12345');
  expect(stdout).toContain('after chat.end: ARC error -43002');
});

test('the README task curl call creates a task (SUBMITTED at once)', async () => {
  const line = readme.split('\n').find((l) => l.startsWith('curl -s http://localhost:8000/arc') && l.includes('task.create'));
  expect(line).toBeDefined();
  const { stdout } = await run('bash', ['-c', line!.replace('localhost:8000', `127.0.0.1:${server.port}`)]);
  const env = JSON.parse(stdout);
  expect(env.result.task).toMatchObject({ status: 'SUBMITTED', priority: 'NORMAL' });
});

test('the README tasks example runs a report and a leave request to the end', async () => {
  expect(readme).toContain('node examples/tasks.mjs http://localhost:8000/arc');
  const { stdout } = await run(process.execPath, [join(ROOT, 'examples', 'tasks.mjs'), `http://127.0.0.1:${server.port}/arc`]);
  expect(stdout).toContain('finance-agent: task SUBMITTED');
  expect(stdout).toContain('WORKING Collecting invoice INV-12345');
  expect(stdout).toContain('finance-agent: COMPLETED, total 2782.8');
  expect(stdout).toMatch(/hr-agent: INPUT_REQUIRED: Which dates/);
  expect(stdout).toContain('hr-agent: COMPLETED: Leave request recorded: 2026-12-21 to 2026-12-24');
}, 60_000);

test('the README webhook receiver prints the events of a task whose server has the same secret', async () => {
  const command = readme.split('\n').find((l) => l.includes('node examples/webhook-receiver.mjs'));
  expect(command).toBe('WEBHOOK_SECRET=change-me-to-a-long-secret PORT=9090 node examples/webhook-receiver.mjs');
  expect(readme).toContain(
    '\nWEBHOOK_SECRET=change-me-to-a-long-secret WEBHOOK_ALLOW_PRIVATE_NETWORKS=true npm start   # the agents, same secret\n',
  );
  const rxPort = await freePort();
  const rx = await startProcess({
    name: 'webhook-receiver',
    command: process.execPath,
    args: [join(ROOT, 'examples', 'webhook-receiver.mjs')],
    port: rxPort,
    env: { WEBHOOK_SECRET: 'change-me-to-a-long-secret', PORT: String(rxPort) },
    healthPath: null,
  });
  const port = await freePort();
  const agents = await startProcess({
    name: 'single-server with the secret',
    command: process.execPath,
    args: [join(ROOT, 'services', 'single-server', 'dist', 'index.js')],
    port,
    env: { PORT: String(port), WEBHOOK_SECRET: 'change-me-to-a-long-secret', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', TASK_WORK_MS: '200' },
  });
  const call = async (method: string, params: object) =>
    (
      await fetch(`${agents.url}/arc`, {
        method: 'POST',
        body: JSON.stringify({ arc: '1.0', id: method, method, requestAgent: 't', targetAgent: 'hr-agent', params }),
      })
    ).json() as Promise<any>;
  const created = await call('task.create', { initialMessage: { role: 'user', parts: [{ type: 'text', content: 'time off please' }] } });
  const taskId = created.result.task.taskId;
  for (let i = 0; i < 100 && (await call('task.info', { taskId })).result.task.status !== 'INPUT_REQUIRED'; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const sub = await call('task.subscribe', { taskId, callbackUrl: `http://127.0.0.1:${rxPort}/hook` });
  expect(sub.error).toBeNull();
  // …and `npx arc webhook listen` as the README gives it (on a free port), subscribed too.
  const listenLine = readme.split('\n').find((l) => l.startsWith('`npx arc webhook listen'));
  expect(listenLine).toMatch(/^`npx arc webhook listen --port 9090 --secret change-me-to-a-long-secret`, which verifies/);
  const arcPort = await freePort();
  const listener = await startProcess({
    name: 'arc webhook listen',
    command: 'bash',
    args: ['-c', `exec ${listenLine!.split('`')[1]!.replace('--port 9090', `--port ${arcPort}`)}`],
    port: arcPort,
    healthPath: null,
  });
  expect((await call('task.subscribe', { taskId, callbackUrl: `http://127.0.0.1:${arcPort}/` })).error).toBeNull();
  await call('task.send', { taskId, message: { role: 'user', parts: [{ type: 'text', content: '2026-12-21 to 2026-12-24' }] } });
  for (let i = 0; i < 100 && !rx.output().includes('TASK_COMPLETED'); i++) await new Promise((r) => setTimeout(r, 100));
  expect(rx.output()).toContain(`${taskId}: TASK_COMPLETED (COMPLETED) Task completed`);
  for (let i = 0; i < 100 && !listener.output().includes('TASK_COMPLETED'); i++) await new Promise((r) => setTimeout(r, 100));
  expect(listener.output()).toMatch(new RegExp(`TASK_COMPLETED ${taskId} COMPLETED .*\\(signed v2, `));
  await listener.stop();
  await agents.stop();
  await rx.stop();
}, 60_000);

describe('the README quick start: streaming example, the arc command line, the inspector', () => {
  const local = (command: string) => command.replace('localhost:8000', `127.0.0.1:${server.port}`);
  const quickStart = readme.split('\n## Quick start\n')[1]!.split('\n## ')[0]!;
  const line = (start: string) => quickStart.split('\n').find((l) => l.startsWith(start));

  test('node examples/stream.mjs streams the supervisor conversation', async () => {
    const command = line('node examples/stream.mjs');
    expect(command).toBe('node examples/stream.mjs http://localhost:8000/arc');
    const { stdout } = await run('bash', ['-c', local(command!)], { cwd: ROOT });
    expect(stdout).toContain('supervisor: I can help with invoice inquiries. Please provide invoice number.');
    expect(stdout).toContain('supervisor: Processing your request: Invoice number INV-12345');
  });

  test('npx arc chat keeps the conversation and ends it with /end', async () => {
    const command = line('npx arc chat');
    expect(command).toBe('npx arc chat http://localhost:8000/arc finance-agent');
    const child = run('bash', ['-c', local(command!)], { cwd: ROOT });
    child.child.stdin!.end('I need help with an invoice\nInvoice number INV-12345\n/end\n');
    const { stdout, stderr } = await child;
    expect(stdout).toContain('I can help with invoice inquiries. Please provide invoice number.');
    expect(stdout).toContain('Processing your request: Invoice number INV-12345');
    expect(stderr).toMatch(/chat chat-[0-9a-f]+ ended/);
  });

  test('npx arc agents lists the four agents; npx arc task create --watch follows a report to COMPLETED', async () => {
    const agents = (await run('bash', ['-c', local(line('npx arc agents')!)], { cwd: ROOT })).stdout;
    for (const agent of ['finance-agent', 'hr-agent', 'support-agent', 'supervisor']) expect(agents).toContain(`\n${agent}  active`);
    const task = line('npx arc task create');
    expect(task).toBe('npx arc task create http://localhost:8000/arc finance-agent "Invoice summary for INV-12345" --watch');
    const { stdout } = await run('bash', ['-c', local(task!)], { cwd: ROOT });
    expect(stdout).toContain('Invoice summary for INV-12345 is ready: total 2782.80 EUR.');
    expect(stdout).toMatch(/COMPLETED after \d/);
  }, 30_000);

  test('the inspector is at the URL the README gives', async () => {
    expect(quickStart).toContain('http://localhost:8000/inspector/');
    const res = await fetch(`http://127.0.0.1:${server.port}/inspector/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(await res.text()).toContain('ARC inspector');
  });
});

describe('the README supervisor section', () => {
  const section = readme.split('\n## The supervisor, calls between agents, traces and metrics\n')[1]?.split('\n## ')[0] ?? '';
  const line = (start: string) => section.split('\n').find((l) => l.startsWith(start));
  const local = (command: string) => command.replace('localhost:8000', `127.0.0.1:${server.port}`);

  test('the supervisor curl call is routed to finance, its traceId echoed', async () => {
    const curl = line('curl -s http://localhost:8000/arc');
    expect(curl).toContain('"targetAgent":"supervisor"');
    const env = JSON.parse((await run('bash', ['-c', local(curl!)])).stdout);
    expect(env).toMatchObject({ responseAgent: 'supervisor', traceId: 'trace-readme-1' });
    expect(env.result.chat.message.parts[0].content).toBe('I can help with invoice inquiries. Please provide invoice number.');
  });

  test('the fan-out example and the metrics curl work as written', async () => {
    const fan = line('node examples/fan-out.mjs');
    expect(fan).toBeDefined();
    // The example's default address is the single server's; ARC_URL points it at this one.
    const { stdout } = await run('bash', ['-c', fan!], {
      cwd: ROOT,
      env: { ...process.env, ARC_URL: `http://127.0.0.1:${server.port}/arc` },
    });
    expect(stdout).toContain('finance-agent: I handle invoices, payments, and budgets. How can I help?');
    expect(stdout).toContain('legal-agent: failed (-41003)');
    const metrics = (await run('bash', ['-c', local(line('curl -s http://localhost:8000/metrics')!)])).stdout;
    // The supervisor's call above, and the example's calls (over HTTP, from its own server: not counted here).
    expect(metrics).toMatch(/^arc_agent_calls_total\{target="finance-agent",method="chat.start",outcome="ok"\} [1-9]\d*$/m);
  });
});

test('the README agent example is examples/echo-agent.mjs, and it runs as described', async () => {
  const block = readme.split('## Writing an agent')[1]!.split('```js\n')[1]!.split('```')[0]!;
  expect(block).toBe(readFileSync(join(ROOT, 'examples', 'echo-agent.mjs'), 'utf8'));
  const port = await freePort();
  const echo = await startProcess({
    name: 'echo-agent',
    command: process.execPath,
    args: [join(ROOT, 'examples', 'echo-agent.mjs')],
    port,
    env: { PORT: String(port) },
  });
  const call = async (method: string, params: object) =>
    (
      await fetch(`${echo.url}/arc`, {
        method: 'POST',
        body: JSON.stringify({ arc: '1.0', id: method, method, requestAgent: 't', targetAgent: 'echo-agent', params }),
      })
    ).json() as Promise<any>;
  const text = (content: string) => ({ role: 'user', parts: [{ type: 'text', content }] });
  const start = await call('chat.start', { initialMessage: text('hello') });
  expect(start.result.chat.message.parts[0].content).toBe('You said: hello');
  const msg = await call('chat.message', { chatId: start.result.chat.chatId, message: text('there') });
  expect(msg.result.chat.message.parts[0].content).toBe('Thinking… there');
  const task = await call('task.create', { initialMessage: text('x') });
  expect(task.error).toMatchObject({ code: -42004, message: 'Tasks are not supported yet' });
});

describe('the README distributed commands: npm run cluster, then npm run example:distributed', () => {
  const maybe = testNeeding(['nginx']);
  // The cluster's default store is the machine's Redis when it answers: this run's keys get a
  // prefix of their own, deleted afterwards.
  const keyPrefix = testKeyPrefix('arc-readme');
  afterAll(async () => {
    if (redisProblem() === null) await deleteKeysUnder(keyPrefix);
  });

  maybe(
    'the cluster serves all three agents and the example prints their replies',
    async () => {
      expect(readme).toContain('\nnpm run cluster\n');
      expect(readme).toMatch(/\nnpm run example:distributed +# in another terminal\n/);
      const port = await freePort();
      const cluster = await startProcess({
        name: 'npm run cluster',
        command: 'npm',
        args: ['run', 'cluster'],
        port,
        env: { CLUSTER_PORT: String(port), REDIS_KEY_PREFIX: keyPrefix },
        unsetEnv: ['REDIS_URL'],
        timeoutMs: 120_000,
      });
      const { stdout } = await run('npm', ['run', 'example:distributed'], {
        cwd: ROOT,
        env: { ...process.env, ARC_BASE_URL: `http://127.0.0.1:${port}` },
      });
      expect(stdout).toContain('[finance-agent] agent: I can help with invoice inquiries. Please provide invoice number.');
      expect(stdout).toContain('[hr-agent] agent: ');
      expect(stdout).toContain('[support-agent] agent: ');
      // Ctrl-C: SIGINT to the whole process group, as a terminal sends it.
      process.kill(-cluster.child.pid!, 'SIGINT');
      for (let i = 0; i < 150 && !cluster.output().includes('cluster: stopped'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(cluster.output()).toContain('cluster: stopped');
      await cluster.stop();
      await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
    },
    180_000,
  );
});

/** The commands of the README's Security section: one array of lines per ```bash block. */
function securityBlocks(): string[][] {
  const section = readme.split('\n## Security\n')[1]?.split('\n## ')[0] ?? '';
  return [...section.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]!.trimEnd().split('\n'));
}

/** Auth, rate-limit and CORS variables this runner's environment has (a user's shell would not). */
const securityVariables = (): string[] => Object.keys(process.env).filter((n) => /^(AUTH_|RATE_LIMIT_|CORS_)/.test(n));

/** This environment without them, plus `extra`. */
function withoutAuthEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of securityVariables()) delete env[name];
  return { ...env, ...extra };
}

describe('the README Security section', () => {
  test('has the commands run below, and links docs/security.md', () => {
    const blocks = securityBlocks();
    expect(blocks.map((b) => b.length)).toEqual([2, 3, 4]);
    expect(readme).toContain('[docs/security.md](docs/security.md)');
    expect(blocks[2]![3]).toMatch(/^docker compose --env-file docker\/security\.env up -d --build --wait +# /);
  });

  test('AUTH_JWT_SECRET and npm start: the Quick start curl gets -44001 / 401, the token curl is served', async () => {
    const [[exportLine, startLine], [tokenLine, curlLine, clientLine]] = securityBlocks() as [[string, string], [string, string, string]];
    expect(exportLine).toMatch(/^export AUTH_JWT_SECRET=\$\(openssl rand -hex 32\) +# /);
    expect(startLine).toMatch(/^npm start & +# /);
    expect(tokenLine).toBe('TOKEN=$(npm run -s token -- --scopes chat)');
    // The secret, made as the export line makes it.
    const { stdout: secret } = await run('bash', ['-c', `${exportLine}\nprintf %s "$AUTH_JWT_SECRET"`], { env: withoutAuthEnv() });
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    const port = await freePort();
    const secured = await startProcess({
      name: 'npm start with AUTH_JWT_SECRET',
      command: 'npm',
      args: ['start'],
      port,
      env: { PORT: String(port), AUTH_JWT_SECRET: secret },
      unsetEnv: securityVariables(),
      timeoutMs: 120_000,
    });
    const local = (line: string): string => line.replace('localhost:8000', `127.0.0.1:${port}`);
    const quickStart = readme.split('\n').find((l) => l.startsWith('curl -s http://localhost:8000/arc') && !l.includes('Authorization'))!;
    const refused = JSON.parse((await run('bash', ['-c', local(quickStart)])).stdout);
    expect(refused.error).toMatchObject({ code: -44001, details: { reason: 'missing_token' } });
    const { stdout } = await run('bash', ['-c', `${tokenLine}\n${local(curlLine)}`], {
      cwd: ROOT,
      env: withoutAuthEnv({ AUTH_JWT_SECRET: secret }),
    });
    const served = JSON.parse(stdout);
    expect(served.error).toBeNull();
    expect(served.result.chat.message.parts[0].content).toBe('I can help with invoice inquiries. Please provide invoice number.');
    // The client example with ARC_TOKEN: the whole conversation, ending with the -43002 it shows.
    expect(clientLine).toMatch(/^ARC_TOKEN=\$TOKEN node examples\/client\.mjs http:\/\/localhost:8000\/arc +# /);
    const example = await run('bash', ['-c', `${tokenLine}\n${local(clientLine)}`], {
      cwd: ROOT,
      env: withoutAuthEnv({ AUTH_JWT_SECRET: secret }),
    });
    expect(example.stdout).toContain('finance-agent: I can help with invoice inquiries.');
    expect(example.stdout).toContain('after chat.end: ARC error -43002');
    await secured.stop();
  }, 150_000);

  const maybe = testNeeding(['nginx']);
  const keyPrefix = testKeyPrefix('arc-readme-security');
  afterAll(async () => {
    if (redisProblem() === null) await deleteKeysUnder(keyPrefix);
  });

  maybe(
    'npm run cluster -- --env-file docker/security.env, a token from the same file, the curl call through nginx',
    async () => {
      const [clusterLine, tokenLine, curlLine] = securityBlocks()[2]! as [string, string, string];
      expect(clusterLine).toBe('npm run cluster -- --env-file docker/security.env');
      expect(tokenLine).toMatch(/^TOKEN=\$\(npm run -s token -- --env-file docker\/security\.env --scopes chat\) +# in another terminal$/);
      const port = await freePort();
      const cluster = await startProcess({
        name: clusterLine,
        command: 'npm',
        args: clusterLine.split(' ').slice(1),
        port,
        env: { CLUSTER_PORT: String(port), REDIS_KEY_PREFIX: keyPrefix },
        unsetEnv: ['REDIS_URL', ...securityVariables()],
        readyOutput: 'Ctrl-C stops everything.',
        timeoutMs: 120_000,
      });
      try {
        const gateway = (line: string): string => line.replace('127.0.0.1:8080', `127.0.0.1:${port}`);
        expect(curlLine).toContain('http://127.0.0.1:8080/arc/finance');
        const unauthenticated = gateway(curlLine).replace(/ -H "Authorization: Bearer \$TOKEN"/, '');
        expect(JSON.parse((await run('bash', ['-c', unauthenticated])).stdout).error).toMatchObject({ code: -44001 });
        const { stdout } = await run('bash', ['-c', `${tokenLine}\n${gateway(curlLine)}`], { cwd: ROOT, env: withoutAuthEnv() });
        const served = JSON.parse(stdout);
        expect(served.error).toBeNull();
        expect(served.result.chat.message.parts[0].content).toBe('I can help with invoice inquiries. Please provide invoice number.');
      } finally {
        // Ctrl-C: SIGINT to the whole process group, as a terminal sends it.
        process.kill(-cluster.child.pid!, 'SIGINT');
        for (let i = 0; i < 150 && !cluster.output().includes('cluster: stopped'); i++) await new Promise((r) => setTimeout(r, 100));
        await cluster.stop();
      }
      expect(cluster.output()).toContain('cluster: stopped');
    },
    180_000,
  );
});
