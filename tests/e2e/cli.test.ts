/**
 * `arc` (packages/arc-cli) as a child process against the single server, a real process: agents,
 * call, the task commands until COMPLETED, webhook listen with real signed deliveries, and the
 * exit codes (0 success, 1 ARC error, 2 usage, 3 no answer: a closed port, a timeout). A small
 * HTTP server in this process stands in for an ARC server where the test must see the request
 * (token, requestAgent, traceId) or get no answer at all. Chat is in cli-chat.test.ts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signatureV1 } from '@arc/core';
import { ArcClient } from '@arc/core/client';
import { manifest } from '@arc/devkit';
import { arc, arcProcess, jsonLines } from './support/cli';
import { freePort, startService, stopAll, type Proc } from './support/processes';

const SECRET = 'cli-e2e-webhook-secret-0123456789';

let single: Proc;
let url: string;
let client: ArcClient;

/** The stand-in server: what it was sent; `/hang/arc` never answers. */
let fake: Server;
let fakeUrl: string;
const fakeSeen: Array<{ headers: IncomingMessage['headers']; body: any }> = [];

beforeAll(async () => {
  single = await startService('single-server', {
    TASK_WORK_MS: '300',
    WEBHOOK_SECRET: SECRET,
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  });
  url = `${single.url}/arc`;
  client = new ArcClient(url, { requestAgent: 'cli-e2e' });
  fake = createServer((req, res) => {
    if (req.url?.startsWith('/hang/')) return; // holds the request: the client's timeout must end it
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      fakeSeen.push({ headers: req.headers, body });
      res.writeHead(200, { 'Content-Type': 'application/arc+json' });
      res.end(
        JSON.stringify({
          arc: '1.0',
          id: body.id,
          responseAgent: body.targetAgent,
          targetAgent: body.requestAgent,
          result: { ok: true },
          error: null,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
  fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
});

afterAll(async () => {
  client?.close();
  fake?.closeAllConnections();
  await new Promise((resolve) => fake?.close(resolve));
  await stopAll();
});

describe('arc agents', () => {
  test('lists the agents with their methods, descriptions and the health; --json: one document', async () => {
    const [r, json] = await Promise.all([arc(['agents', url]), arc(['agents', url, '--json'])]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^multi-agent-server {2}healthy {2}4 agent\(s\), version /);
    for (const agent of manifest.singleServer.agents) expect(r.stdout).toContain(`\n${agent}  active\n`);
    expect(r.stdout).toContain('  Invoices, payments, budgets, expenses, billing and refunds\n');
    expect(r.stdout).toContain(
      '  methods: chat.start, chat.message, chat.end, task.create, task.info, task.send, task.cancel, task.subscribe\n',
    );

    expect(json.code).toBe(0);
    const [doc, ...rest] = jsonLines(json.stdout);
    expect(rest).toEqual([]);
    expect(doc).toMatchObject({ url, server: 'multi-agent-server', status: 'active', health: { httpStatus: 200, status: 'healthy' } });
    expect(doc.agents.map((a: any) => a.id).sort()).toEqual([...manifest.singleServer.agents].sort());
  });
});

describe('arc call', () => {
  test('prints the whole envelope; --params from a file and from stdin', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'arc-cli-'));
    const file = join(dir, 'params.json');
    writeFileSync(
      file,
      JSON.stringify({ initialMessage: { role: 'user', parts: [{ type: 'TextPart', content: 'Question about salary' }] } }),
    );
    const [fromFile, fromStdin] = await Promise.all([
      arc(['call', url, 'hr-agent', 'chat.start', '--params', `@${file}`]),
      arc(['call', url, 'hr-agent', 'chat.start', '--params', '@-', '--json', '--trace-id', 'trace-cli-1'], {
        input: '{"initialMessage":{"role":"user","parts":[{"type":"TextPart","content":"Tell me about benefits"}]}}',
      }),
    ]);
    expect(fromFile.code).toBe(0);
    const envelope = JSON.parse(fromFile.stdout);
    expect(fromFile.stdout).toContain('\n  "result": {'); // indented for people
    expect(envelope).toMatchObject({ arc: '1.0', responseAgent: 'hr-agent', targetAgent: 'arc-cli', error: null });
    expect(envelope.result.chat.message.parts[0].content).toBe('I can help with salary inquiries. Please provide your employee ID.');
    expect(fromStdin.code).toBe(0);
    const [line] = jsonLines(fromStdin.stdout);
    expect(line).toMatchObject({ traceId: 'trace-cli-1', result: { chat: { status: 'ACTIVE' } } });
    expect(line.result.chat.message.parts[0].content).toBe('I can explain our benefits package. What would you like to know?');
  });

  test('an ARC error: the error envelope on stdout, code and message on stderr, exit 1', async () => {
    const r = await arc(['call', url, 'finance-agent', 'task.info', '--params', '{"taskId":"task-missing"}', '--json']);
    expect(r.code).toBe(1);
    expect(jsonLines(r.stdout)[0].error).toMatchObject({ code: -42001, message: 'Task not found: task-missing' });
    expect(r.stderr).toBe('arc: -42001 Task not found: task-missing\n');
    const unknown = await arc(['call', url, 'nobody', 'chat.end', '--params', '{"chatId":"chat-x"}']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('arc: -41001 Agent not found: nobody (HTTP 404)\n');
  });

  test('token (--token over $ARC_TOKEN), requestAgent and traceId reach the server', async () => {
    fakeSeen.length = 0;
    const [fromEnv, fromFlag] = await Promise.all([
      arc(['call', `${fakeUrl}/arc`, 'a1', 'x.one'], { env: { ARC_TOKEN: 'env-token' } }),
      arc(
        ['call', `${fakeUrl}/arc`, 'a2', 'x.two', '--token', 'flag-token', '--request-agent', 'me', '--trace-id', 't-9', '--id', 'req-7'],
        {
          env: { ARC_TOKEN: 'env-token' },
        },
      ),
    ]);
    expect([fromEnv.code, fromFlag.code]).toEqual([0, 0]);
    const one = fakeSeen.find((s) => s.body.method === 'x.one')!;
    const two = fakeSeen.find((s) => s.body.method === 'x.two')!;
    expect(one.headers.authorization).toBe('Bearer env-token');
    expect(one.body).toMatchObject({ requestAgent: 'arc-cli', targetAgent: 'a1', params: {} });
    expect('traceId' in one.body).toBe(false);
    expect(two.headers.authorization).toBe('Bearer flag-token');
    expect(two.body).toMatchObject({ id: 'req-7', requestAgent: 'me', targetAgent: 'a2', traceId: 't-9' });
  });
});

describe('exit codes', () => {
  // The full table of usage errors runs in-process (packages/arc-cli/test/program.test.ts); here one of each kind, as a process.
  test('usage errors → 2, one line on stderr, no stack trace: commander, --params JSON, URL, timeout', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['call', 'http://localhost:8000/arc', 'finance-agent'], /^error: missing required argument 'method'\n/],
      [['call', 'http://localhost:8000/arc', 'finance-agent', 'task.info', '--params', '{"taskId":'], /^arc: --params is not valid JSON: /],
      [['agents', 'localhost:8000/arc'], /^arc: URL "localhost:8000\/arc" must start with http:\/\/ or https:\/\/\n$/],
      [['chat', 'http://localhost:8000/arc', 'finance-agent', 'hi', '--timeout', 'soon'], /^arc: --timeout must be a duration/],
    ];
    const results = await Promise.all(cases.map(([args]) => arc(args)));
    results.forEach((r, i) => {
      expect({ args: cases[i]![0], code: r.code, stdout: r.stdout }).toEqual({ args: cases[i]![0], code: 2, stdout: '' });
      expect(r.stderr).toMatch(cases[i]![1]);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  });

  test('a closed port → 3, for calls and for agents', async () => {
    const closed = `http://127.0.0.1:${await freePort()}/arc`;
    const [call, agents] = await Promise.all([arc(['call', closed, 'finance-agent', 'task.info']), arc(['agents', closed])]);
    expect(call.code).toBe(3);
    expect(call.stderr).toMatch(/^arc: ARC request to .* failed: ECONNREFUSED/);
    expect(agents.code).toBe(3);
    expect(agents.stderr).toMatch(/^arc: GET .*\/agent-info failed: ECONNREFUSED/);
  });

  test('no answer within --timeout → 3', async () => {
    const [call, agents] = await Promise.all([
      arc(['call', `${fakeUrl}/hang/arc`, 'finance-agent', 'task.info', '--timeout', '300ms']),
      arc(['agents', `${fakeUrl}/hang/arc`, '--timeout', '0.3']),
    ]);
    expect(call.code).toBe(3);
    expect(call.stderr).toBe(`arc: ARC request to ${fakeUrl}/hang/arc timed out after 300 ms\n`);
    expect(agents.code).toBe(3);
    expect(agents.stderr).toMatch(/^arc: GET .*\/hang\/(agent-info|health) timed out after 300 ms\n$/);
  });
});

describe('arc task', () => {
  test('create --watch: status changes, messages and the artifact, until COMPLETED', async () => {
    const r = await arc(['task', 'create', url, 'finance-agent', 'Invoice summary for INV-12345', '--watch']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^task-[0-9a-f]+ {2}SUBMITTED {2}priority NORMAL$/);
    expect(r.stdout).toMatch(/\] user: Invoice summary for INV-12345\n/);
    expect(r.stdout).toMatch(/\] COMPLETED\n/);
    expect(r.stdout).toMatch(/\] agent: Invoice summary for INV-12345 is ready: total 2782\.80 EUR\.\n/);
    expect(r.stdout).toMatch(/\] artifact invoice-summary — Summary of invoice INV-12345\n/);
    expect(r.stdout).toMatch(/\nCOMPLETED after \d+\.\ds\n$/);
  });

  test('watch --json: JSON lines ending with the COMPLETED task; info shows it', async () => {
    const created = await client.task.create('finance-agent', 'Invoice summary for INV-20001', { priority: 'HIGH' });
    const taskId = created.result.task.taskId;
    const r = await arc(['task', 'watch', url, 'finance-agent', taskId, '--json']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const events = jsonLines(r.stdout);
    expect(events[events.length - 1]).toMatchObject({ type: 'end', task: { taskId, status: 'COMPLETED', priority: 'HIGH' } });
    expect(events).toContainEqual({ type: 'status', taskId, status: 'COMPLETED' });
    expect(events.filter((e) => e.type === 'artifact').map((e) => e.artifact.name)).toEqual(['invoice-summary']);
    expect(events.filter((e) => e.type === 'message').map((e) => e.message.role)).toEqual(['user', 'agent']);

    const info = await arc(['task', 'info', url, 'finance-agent', taskId]);
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(new RegExp(`^${taskId} {2}COMPLETED {2}priority HIGH\n`));
    expect(info.stdout).toContain('messages (2):\n  user: Invoice summary for INV-20001\n');
    expect(info.stdout).toContain('artifacts (1):\n  invoice-summary — Summary of invoice INV-20001\n');
  });

  test('a task that needs input: watch stops at INPUT_REQUIRED, send --watch completes it', async () => {
    const created = await arc(['task', 'create', url, 'finance-agent', 'Invoice summary please', '--json']);
    const taskId = jsonLines(created.stdout)[0].result.task.taskId;
    const watched = await arc(['task', 'watch', url, 'finance-agent', taskId]);
    expect(watched.code).toBe(0);
    expect(watched.stdout).toMatch(/\nINPUT_REQUIRED after \d+\.\ds\n$/);
    expect(watched.stderr).toBe(
      'the task needs input: Which invoice number should the report cover?\n' +
        `answer with: arc task send ${url} finance-agent ${taskId} "<your answer>" --watch\n`,
    );
    const sent = await arc(['task', 'send', url, 'finance-agent', taskId, 'INV-31337', '--watch']);
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(/^Message sent to task successfully\n/);
    expect(sent.stdout).toMatch(/\] agent: Invoice summary for INV-31337 is ready: total 307\.80 GBP\.\n/);
    expect(sent.stdout).toMatch(/\nCOMPLETED after /);
  });

  test('cancel with a reason; a second cancel is an ARC error (1), and so is watching a canceled task', async () => {
    const created = await client.task.create('finance-agent', 'Invoice summary please');
    const taskId = created.result.task.taskId;
    const r = await arc(['task', 'cancel', url, 'finance-agent', taskId, '--reason', 'not needed']);
    expect(r).toMatchObject({ code: 0, stdout: `${taskId}  CANCELED  not needed\n`, stderr: '' });
    const again = await arc(['task', 'cancel', url, 'finance-agent', taskId]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^arc: -42003 /);
    const watched = await arc(['task', 'watch', url, 'finance-agent', taskId]);
    expect(watched.code).toBe(1);
    expect(watched.stderr).toBe(`arc: task ${taskId} was canceled: not needed\n`);
  });
});

describe('arc webhook listen', () => {
  test('prints the signed deliveries of a real task; a bad signature gets 401 and a line on stderr; Ctrl-C ends it (0)', async () => {
    const listener = arcProcess(['webhook', 'listen', '--port', '0', '--secret', SECRET, '--json']);
    const [, hookUrl] = await listener.waitFor('stderr', /listening on (http:\/\/127\.0\.0\.1:\d+\/) \(signatures checked\)/);
    // A task waiting for input does nothing until task.send: subscribed before anything happens.
    const taskId = (await client.task.create('finance-agent', 'Invoice summary please')).result.task.taskId;
    await client.task.subscribe('finance-agent', taskId, `${hookUrl}cb`, ['TASK_COMPLETED', 'NEW_ARTIFACT']);
    await client.task.send('finance-agent', taskId, 'INV-12345');
    await listener.waitFor('stdout', /"event":"TASK_COMPLETED"/);
    const deliveries = jsonLines(listener.stdout);
    expect(deliveries.map((d) => d.event)).toEqual(['NEW_ARTIFACT', 'TASK_COMPLETED']);
    expect(deliveries[1]).toMatchObject({
      deliveryId: expect.any(String),
      scheme: 'v2',
      taskId,
      requestAgent: 'finance-agent',
      subscriptionId: expect.stringMatching(/^sub-/),
      data: { status: 'COMPLETED' },
    });

    const body = JSON.stringify({
      arc: '1.0',
      method: 'task.notification',
      taskId,
      event: 'TASK_FAILED',
      timestamp: '2026-01-01T00:00:00Z',
      data: { status: 'FAILED' },
    });
    const forged = await fetch(`${hookUrl}cb`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-ARC-Signature': signatureV1('not-the-secret', body), 'X-ARC-Delivery': 'forged-1' },
      body,
    });
    expect(forged.status).toBe(401);
    await listener.waitFor('stderr', /rejected delivery forged-1 from .*: X-ARC-Signature does not match the body\n/);
    const unsigned = await fetch(`${hookUrl}cb`, { method: 'POST', body });
    expect(unsigned.status).toBe(401);
    // A correct v1 signature (the Python SDK's scheme) is accepted; its repeat is answered but not printed again.
    const signed = { 'X-ARC-Signature': signatureV1(SECRET, body), 'X-ARC-Delivery': 'v1-delivery' };
    expect((await fetch(`${hookUrl}cb`, { method: 'POST', headers: signed, body })).status).toBe(204);
    expect((await fetch(`${hookUrl}cb`, { method: 'POST', headers: signed, body })).status).toBe(204);

    listener.child.kill('SIGINT');
    const end = await listener.exited;
    expect(end.code).toBe(0);
    const printed = jsonLines(end.stdout);
    expect(printed.map((d) => d.event)).toEqual(['NEW_ARTIFACT', 'TASK_COMPLETED', 'TASK_FAILED']);
    expect(printed[2]).toMatchObject({ deliveryId: 'v1-delivery', scheme: 'v1' });
    expect(end.stderr).toContain('duplicate delivery v1-delivery ignored');
    expect(end.stderr.match(/rejected delivery/g)).toHaveLength(2);
  });
});
