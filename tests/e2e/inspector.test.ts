/**
 * The web inspector end to end (issue 12): headless Chromium (the system's, driven by
 * playwright-core through @arc/devkit) opens /inspector on a real single server, picks
 * finance-agent, sends "invoice" and sees the streamed reply and the raw envelopes and SSE
 * frames, copies the exchange as curl and runs that command, ends the chat, starts a task and
 * sees it complete with its artifact, and calls a method from the JSON editor; screenshots of
 * each run (the chat, the task) are saved as <run>-chat.png and <run>-task.png in
 * testArtifactsDir('inspector'): test-artifacts/inspector/, or $ARC_TEST_ARTIFACTS/inspector/. The same scenario through nginx (the local
 * cluster: the gateway's agent list, /arc/<service> endpoints, the supervisor's inspector), and
 * with auth on (a token from scripts/token.mjs). INSPECTOR=off: /inspector is the 404 envelope.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { ROOT, launchChromium, suiteNeeding, testArtifactsDir } from '@arc/devkit';
import { startCluster, type Cluster } from '../../scripts/lib/cluster.cjs';
import { startService, stopAll, type Proc } from './support/processes';

const REPLY = 'I can help with invoice inquiries. Please provide invoice number.';
const TASK_TEXT = 'Invoice summary report for INV-12345';
/** Short task work, so a task completes within a test. */
const FAST_TASKS = { TASK_WORK_MS: '300' };

let browser: BrowserContext | undefined;
const browserSuite = suiteNeeding(['chromium']);
const gatewaySuite = suiteNeeding(['chromium', 'nginx']);

async function newPage(origin: string): Promise<Page> {
  browser ??= await launchChromium();
  await browser.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(msg.text());
  });
  (page as Page & { problems: string[] }).problems = problems;
  return page;
}
const problemsOf = (page: Page): string[] => (page as Page & { problems: string[] }).problems;

afterAll(async () => {
  await browser?.close();
  await stopAll();
});

/** The exchange in the log whose title is `title` (the newest such). */
const exchange = (page: Page, title: string) => page.locator('li.exchange').filter({ hasText: title }).first();

/** Runs a copied curl command with sh and returns its output. */
function runCurl(command: string): string {
  return execFileSync('sh', ['-c', command], { encoding: 'utf8', timeout: 15_000 });
}

/**
 * The issue's scenario on the page at `base`/inspector: finance-agent, "invoice" streamed, the
 * raw envelopes and frames, Copy as curl (run), End chat, a task to COMPLETED, then a screenshot.
 * Returns the chat.start request URL the page used.
 */
async function scenario(page: Page, base: string, shot: string, token?: string): Promise<string> {
  const picker = page.getByRole('combobox', { name: 'Agent' });
  await picker.selectOption('finance-agent');
  await page.locator('.agent-info').getByText('Invoices, payments, budgets, expenses, billing and refunds', { exact: true }).waitFor();

  // Chat, streamed (the default): the reply appears in the conversation.
  expect(await page.getByRole('checkbox', { name: 'Stream' }).isChecked()).toBe(true);
  await page.getByRole('textbox', { name: 'Message' }).fill('invoice');
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  const conversation = page.getByRole('list', { name: 'Conversation' });
  await conversation.getByText(REPLY).waitFor();
  await page.getByText(/^Chat chat-[0-9a-f]+ is open/).waitFor();

  // The raw exchange: the request envelope as sent, the SSE response and its frames, as text.
  const start = exchange(page, 'chat.start → finance-agent');
  await start
    .locator('.badge')
    .getByText(/SSE 2 frames/)
    .waitFor();
  const request = await start.locator('pre.request').innerText();
  expect(request).toMatch(/^POST http:\/\/127\.0\.0\.1:\d+\/arc(\/finance)?\nContent-Type: application\/arc\+json/);
  const sent = JSON.parse(request.slice(request.indexOf('\n\n')));
  expect(sent).toMatchObject({
    arc: '1.0',
    method: 'chat.start',
    requestAgent: 'arc-inspector',
    targetAgent: 'finance-agent',
    params: { initialMessage: { role: 'user', parts: [{ type: 'TextPart', content: 'invoice' }] }, stream: true },
  });
  expect(await start.locator('pre.response').innerText()).toMatch(/^HTTP 200[^\n]*\n(.*\n)*content-type: text\/event-stream/);
  const frames = await start.locator('pre.frame').allInnerTexts();
  expect(frames).toHaveLength(2);
  expect(frames[0]).toMatch(
    /^event: stream\ndata: \{"chatId":"chat-[0-9a-f]+","message":\{"role":"agent","parts":\[\{"type":"TextPart","content":"I can help/,
  );
  expect(frames[1]).toMatch(/^event: done\ndata: \{"chatId":"chat-[0-9a-f]+","status":"ACTIVE","done":true/);
  // The text shown is the concatenation of the deltas.
  const deltas = frames
    .filter((f) => f.startsWith('event: stream'))
    .map((f) => JSON.parse(f.slice(f.indexOf('data: ') + 6)).message.parts[0].content);
  expect(deltas.join('')).toBe(REPLY);

  // Copy as curl: what the clipboard gets runs as it is and gets the same stream.
  await start.getByRole('button', { name: 'Copy as curl' }).click();
  await start.getByText(/^Copied/).waitFor();
  const command = (await page.evaluate('navigator.clipboard.readText()')) as string;
  expect(command.startsWith('curl -sS -N \\\n')).toBe(true);
  if (token !== undefined) expect(command).toContain(`Authorization: Bearer ${token}`);
  const output = runCurl(command);
  expect(output).toContain('event: stream');
  expect(output).toContain(REPLY);
  expect(output).toContain('event: done');

  // End the chat.
  await page.screenshot({ path: join(testArtifactsDir('inspector'), `${shot}-chat.png`) });
  await page.getByRole('button', { name: 'End chat' }).click();
  await conversation.getByText(/ended \(CLOSED\)/).waitFor();
  expect(await exchange(page, 'chat.end → finance-agent').locator('pre.response').innerText()).toContain('"status": "CLOSED"');

  // A task, followed until it completes, with its artifact.
  await page.getByRole('tab', { name: 'Task' }).click();
  await page.getByRole('textbox', { name: 'Task request' }).fill(TASK_TEXT);
  await page.getByRole('button', { name: 'Create task' }).click();
  await page.locator('.status-COMPLETED').waitFor({ timeout: 20_000 });
  const artifacts = page.getByRole('region', { name: 'Artifacts' });
  await artifacts.getByRole('heading', { name: 'invoice-summary' }).waitFor();
  expect(await artifacts.innerText()).toContain('"invoice": "INV-12345"');
  await page
    .getByRole('region', { name: 'Task messages' })
    .getByText(/Invoice summary for INV-12345 is ready/)
    .waitFor();
  expect(await exchange(page, 'task.create → finance-agent').locator('pre.response').innerText()).toContain('"status": "SUBMITTED"');

  const file = join(testArtifactsDir('inspector'), `${shot}-task.png`);
  await page.screenshot({ path: file });
  expect(statSync(file).size).toBeGreaterThan(10_000);
  expect(problemsOf(page)).toEqual([]);
  return request.slice('POST '.length, request.indexOf('\n'));
}

browserSuite('the inspector on the single server', () => {
  let single: Proc;
  let page: Page;
  beforeAll(async () => {
    single = await startService('single-server', FAST_TASKS);
    page = await newPage(single.url);
  });
  afterAll(() => page?.close());

  test('opens at /inspector, lists the agents, chats, streams, copies as curl, runs a task', async () => {
    await page.goto(`${single.url}/inspector`);
    expect(page.url()).toBe(`${single.url}/inspector/`);
    expect(await page.title()).toBe('ARC inspector');
    expect(await page.getByRole('textbox', { name: 'Endpoint' }).inputValue()).toBe('/arc');
    expect(await page.getByRole('combobox', { name: 'Agent' }).locator('option').allInnerTexts()).toEqual([
      'finance-agent',
      'hr-agent',
      'supervisor',
      'support-agent',
    ]);
    expect(await scenario(page, single.url, 'single-server')).toBe(`${single.url}/arc`);
  });

  test('every control has a label; the tabs work from the keyboard', async () => {
    // (Page scripts as strings: this file is compiled for Node, without the DOM's types.)
    const unlabelled = await page.evaluate(`[...document.querySelectorAll('input, select, textarea, button')]
      .filter((el) => !((el.labels && el.labels.length > 0) || el.getAttribute('aria-label') || el.textContent.trim() !== ''))
      .map((el) => el.outerHTML.slice(0, 80))`);
    expect(unlabelled).toEqual([]);
    const tab = (name: string) => page.getByRole('tab', { name });
    await tab('Chat').click();
    await tab('Chat').focus();
    for (const [key, name] of [
      ['ArrowRight', 'Task'],
      ['ArrowRight', 'Call'],
      ['ArrowRight', 'Chat'],
      ['ArrowLeft', 'Call'],
      ['Home', 'Chat'],
      ['End', 'Call'],
    ]) {
      await page.keyboard.press(key!);
      expect(await tab(name!).getAttribute('aria-selected')).toBe('true');
      expect(await page.evaluate('document.activeElement.textContent')).toBe(name);
      expect(await page.getByRole('tabpanel', { name }).isVisible()).toBe(true);
    }
  });

  test('Call: the JSON editor says what is wrong, and an ARC error shows its code and message', async () => {
    await page.getByRole('tab', { name: 'Call' }).click();
    await page.getByRole('combobox', { name: 'Method' }).fill('task.info');
    const params = page.getByRole('textbox', { name: 'Params (JSON)' });
    await params.fill('{"taskId": ');
    await page.getByText(/^Not valid JSON: /).waitFor();
    expect(await params.getAttribute('aria-invalid')).toBe('true');
    const send = page.getByRole('tabpanel', { name: 'Call' }).getByRole('button', { name: 'Send', exact: true });
    expect(await send.isDisabled()).toBe(true);
    await params.fill('{"taskId": "task-nope"}');
    await page.getByText('Valid JSON object.').waitFor();
    await send.click();
    const answer = page.getByRole('region', { name: 'Answer' });
    await answer.getByText(/^Error -42001: /).waitFor();
    expect(await exchange(page, 'task.info → finance-agent').locator('.badge').innerText()).toContain('-42001');
  });
});

gatewaySuite('the inspector through nginx', () => {
  let cluster: Cluster;
  let page: Page;
  beforeAll(async () => {
    // One finance replica: the chats and tasks of this suite stay in its memory (no Redis needed).
    cluster = await startCluster({ replicas: { finance: 1 }, env: { ...FAST_TASKS, REDIS_URL: '', SHUTDOWN_GRACE_MS: '1000' } });
    page = await newPage(cluster.url);
  }, 60_000);
  afterAll(async () => {
    await page?.close();
    await cluster?.stop();
  });

  test("the supervisor's inspector at the gateway: the gateway's agent list, each agent at /arc/<service>", async () => {
    await page.goto(`${cluster.url}/inspector`);
    expect(page.url()).toBe(`${cluster.url}/inspector/`);
    await page.getByText(/^4 agents from \/agent-info$/).waitFor();
    expect(await scenario(page, cluster.url, 'gateway')).toBe(`${cluster.url}/arc/finance`);
    // The methods came from the agent's own /agent-info, through the gateway.
    expect(await exchange(page, 'GET /agent-info (finance-agent)').locator('pre.request').innerText()).toContain(
      `GET ${cluster.url}/agent-info/finance-agent`,
    );
  });
});

browserSuite('the inspector with auth on', () => {
  const secret = randomBytes(32).toString('hex');
  let server: Proc;
  let page: Page;
  let token: string;
  beforeAll(async () => {
    server = await startService('single-server', { ...FAST_TASKS, AUTH_JWT_SECRET: secret });
    token = execFileSync(process.execPath, [join(ROOT, 'scripts', 'token.mjs'), '--scopes', 'all'], {
      env: { ...process.env, AUTH_JWT_SECRET: secret },
      encoding: 'utf8',
    }).trim();
    page = await newPage(server.url);
  });
  afterAll(() => page?.close());

  test('without a token it says so; with one it works, kept in sessionStorage and never shown', async () => {
    await page.goto(`${server.url}/inspector/`);
    await page.getByText(/Could not load the agents .*Error -44001: .*\(set a bearer token above\)/).waitFor();
    // Chromium's own console line for that refused request; nothing else may go wrong.
    expect(problemsOf(page)).toEqual([expect.stringMatching(/status of 401 \(Unauthorized\)/)]);
    problemsOf(page).length = 0;
    await page.getByLabel('Bearer token').fill(token);
    await page.getByRole('button', { name: 'Load agents' }).click();
    await page.getByText(/^4 agents from \/agent-info$/).waitFor();
    await scenario(page, server.url, 'auth', token);
    // The log shows that a token was sent, not the token; the displayed curl names $ARC_TOKEN.
    const start = exchange(page, 'chat.start → finance-agent');
    expect(await start.locator('pre.request').innerText()).toContain('Authorization: Bearer ••••••');
    expect(await page.evaluate('document.body.innerText')).not.toContain(token);
    expect(await page.evaluate('document.documentElement.outerHTML')).not.toContain(token);
    const storage = (await page.evaluate('({ session: JSON.stringify(sessionStorage), local: localStorage.length })')) as {
      session: string;
      local: number;
    };
    expect(storage.session).toContain(token);
    expect(storage.local).toBe(0);
  });
});

describe('INSPECTOR=off', () => {
  test.each([
    ['finance', {}],
    ['single-server', { INSPECTOR: 'off' }],
  ])('%s %j: /inspector/ is the 404 envelope', async (id, env) => {
    const service = await startService(id, env);
    try {
      for (const path of ['/inspector', '/inspector/']) {
        const res = await fetch(`${service.url}${path}`, { redirect: 'manual' });
        expect(res.status).toBe(404);
        expect(await res.json()).toMatchObject({ error: { code: -32600 } });
      }
    } finally {
      await service.stop('SIGKILL');
    }
  });

  test('a bad INSPECTOR stops the server with a message naming it', () => {
    const entry = join(ROOT, 'services', 'finance', 'dist', 'index.js');
    expect(existsSync(entry)).toBe(true);
    let stderr = '';
    try {
      execFileSync(process.execPath, [entry], { env: { ...process.env, INSPECTOR: 'yes', PORT: '0' }, encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      stderr = String((err as { stderr?: string }).stderr);
    }
    expect(stderr).toContain('INSPECTOR="yes" must be on or off');
  });
});
