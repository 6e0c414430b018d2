/**
 * The finance agent's task, the invoice summary report, through the service's createServer and
 * the TS client on a free loopback port: the report, asking for the invoice number (and a
 * known one), cancel while it works, what /agent-info lists, and TASK_WORK_MS.
 */
import { ArcAgent, MemoryChatStore, loadConfig, silentLogger } from '@arc/core';
import { ArcClient } from '@arc/core/client';
import { createArcServer, type ArcServer } from '@arc/core/express';
import { ASK_INVOICE, FINANCE_AGENT_ID, TASK_WORK_MS, createFinanceAgent } from '../src/agent';
import { invoiceSummary, requestedInvoice } from '../src/invoice-report';
import { DEFAULTS, createServer } from '../src/server';

const A = FINANCE_AGENT_ID;
const ANY_END = ['INPUT_REQUIRED', 'COMPLETED', 'FAILED', 'CANCELED'] as const;
const servers: ArcServer[] = [];

async function clientOf(server: ArcServer): Promise<{ client: ArcClient; url: string }> {
  servers.push(server);
  const { url } = await server.listen(0, '127.0.0.1');
  return { client: new ArcClient(`${url}/arc`, { requestAgent: 'finance-test', timeoutMs: 5000 }), url };
}

let client: ArcClient;
let url: string;
beforeAll(async () => {
  const deps = { config: loadConfig({}, DEFAULTS), logger: silentLogger, chatStore: new MemoryChatStore() };
  ({ client, url } = await clientOf(createServer(deps, { workMs: 0 })));
});
afterAll(async () => {
  for (const s of servers) await s.close({ graceMs: 100 });
});

const user = (content: string) => ({ role: 'user' as const, parts: [{ type: 'TextPart' as const, content }] });

describe('finance tasks: the invoice summary report', () => {
  it('with an invoice number: progress, then COMPLETED with the summary as DataPart and text', async () => {
    const { taskId } = (await client.task.create(A, 'Please prepare the invoice summary for INV-12345')).result.task;
    const progress: string[] = [];
    const task = await client.task.waitFor(A, taskId, {
      intervalMs: 5,
      onProgress: (t) => void (t.statusMessage && progress.push(t.statusMessage)),
    });
    expect(task.status).toBe('COMPLETED');
    expect(task.statusMessage).toBe('Computing totals');
    expect(task.messages?.at(-1)).toEqual({
      role: 'agent',
      parts: [{ type: 'TextPart', content: 'Invoice summary for INV-12345 is ready: total 2782.80 EUR.' }],
    });
    expect(task.artifacts).toHaveLength(1);
    const artifact = task.artifacts![0]!;
    expect(artifact).toMatchObject({ name: 'invoice-summary', description: 'Summary of invoice INV-12345', createdBy: A });
    expect(artifact.parts).toEqual([
      {
        type: 'DataPart',
        mimeType: 'application/json',
        content: {
          invoice: 'INV-12345',
          customer: 'Acme Corp',
          currency: 'EUR',
          issuedOn: '2026-11-03',
          dueOn: '2026-12-03',
          lines: [
            { description: 'Consulting (hours)', quantity: 12, unitPrice: 150, amount: 1800 },
            { description: 'Cloud hosting, November', quantity: 1, unitPrice: 420, amount: 420 },
            { description: 'Support plan', quantity: 1, unitPrice: 99, amount: 99 },
          ],
          totals: { subtotal: 2319, taxRate: 0.2, tax: 463.8, total: 2782.8 },
        },
      },
      {
        type: 'TextPart',
        content:
          'Invoice INV-12345 (Acme Corp, issued 2026-11-03, due 2026-12-03): 3 line(s), subtotal 2319.00 EUR, tax 20% 463.80 EUR, total 2782.80 EUR.',
      },
    ]);
  });

  it('without an invoice number: INPUT_REQUIRED with the question; task.send with one resumes it to COMPLETED', async () => {
    const { taskId } = (await client.task.create(A, 'I need an invoice summary report')).result.task;
    const parked = await client.task.waitFor(A, taskId, { intervalMs: 5, until: ANY_END });
    expect(parked).toMatchObject({ status: 'INPUT_REQUIRED', requiredInput: ASK_INVOICE });
    expect(parked.artifacts).toEqual([]);
    await client.task.send(A, taskId, 'It is inv-31337');
    const done = await client.task.waitFor(A, taskId, { intervalMs: 5 });
    expect(done.status).toBe('COMPLETED');
    expect(done.messages?.map((m) => m.role)).toEqual(['user', 'agent', 'user', 'agent']);
    expect(done.artifacts?.[0]?.parts[0]).toMatchObject({
      content: { invoice: 'INV-31337', currency: 'GBP', totals: { subtotal: 256.5, tax: 51.3, total: 307.8 } },
    });
  });

  it('an invoice the ledger does not hold: asks again, naming the ones it holds', async () => {
    const { taskId } = (await client.task.create(A, 'Report on INV-99')).result.task;
    const parked = await client.task.waitFor(A, taskId, { intervalMs: 5, until: ANY_END });
    expect(parked.status).toBe('INPUT_REQUIRED');
    expect(parked.requiredInput).toBe(`Invoice INV-99 is not in the ledger (it holds INV-12345, INV-20001, INV-31337). ${ASK_INVOICE}`);
    await client.task.send(A, taskId, 'Sorry, INV-20001');
    const done = await client.task.waitFor(A, taskId, { intervalMs: 5 });
    expect(done.artifacts?.[0]?.parts[0]).toMatchObject({
      content: { invoice: 'INV-20001', totals: { subtotal: 2400, tax: 456, total: 2856 } },
    });
  });

  it('task.cancel while it works: CANCELED, no report, and the handler itself stops at once', async () => {
    // The agent's own handler, with work far longer than the test may take, observed from outside.
    const inner = createFinanceAgent({ workMs: 600_000 }).taskHandler!;
    let ended!: (outcome: unknown) => void;
    const handlerEnded = new Promise<unknown>((resolve) => (ended = resolve));
    const agent = new ArcAgent(A).onTask(async (task, ctx) => {
      try {
        return await inner(task, ctx);
      } catch (err) {
        ended(err);
        throw err;
      }
    });
    const { client: c } = await clientOf(createArcServer({ serverId: 'finance-cancel-test', logger: silentLogger }).addAgent(agent));
    const { taskId } = (await c.task.create(A, 'Summary of INV-12345')).result.task;
    let collecting!: () => void;
    const working = new Promise<void>((resolve) => (collecting = resolve));
    const waiting = c.task.waitFor(A, taskId, {
      intervalMs: 5,
      onProgress: (t) => (t.statusMessage === 'Collecting invoice INV-12345' ? collecting() : undefined),
    });
    await working;
    const canceled = await c.task.cancel(A, taskId, 'not needed any more');
    expect(canceled.result.task).toMatchObject({ taskId, status: 'CANCELED', reason: 'not needed any more' });
    const task = await waiting;
    expect(task).toMatchObject({ status: 'CANCELED', artifacts: [] });
    expect(await handlerEnded).toMatchObject({ name: 'AbortError' });
  });

  it('/agent-info lists the task methods beside the chat ones', async () => {
    const info = (await (await fetch(`${url}/agent-info`)).json()) as { registeredAgents: Record<string, { supportedMethods: string[] }> };
    expect(info.registeredAgents[A]?.supportedMethods).toEqual([
      'chat.start',
      'chat.message',
      'chat.end',
      'task.create',
      'task.info',
      'task.send',
      'task.cancel',
      'task.subscribe',
    ]);
  });
});

describe('invoice-report', () => {
  it('takes the invoice of the most recent user message naming one, upper-cased; agent messages do not count', () => {
    expect(requestedInvoice([user('nothing here')])).toBeUndefined();
    expect(requestedInvoice([user('INV-1 and inv-2'), { role: 'agent', parts: [{ type: 'TextPart', content: 'INV-3?' }] }])).toBe('INV-2');
    expect(requestedInvoice([user('INV-1'), user('no, INV-20001'), user('thanks')])).toBe('INV-20001');
    expect(requestedInvoice([user('XINV-12345 or INV-12345678901')])).toBeUndefined();
  });

  it('the ledger holds fixed invoices only', () => {
    expect(invoiceSummary('INV-1')).toBeUndefined();
    expect(invoiceSummary('constructor')).toBeUndefined();
    expect(invoiceSummary('INV-12345')).toEqual(invoiceSummary('INV-12345'));
  });
});

describe("TASK_WORK_MS, the services' own setting", () => {
  it.each([
    [undefined, 3000],
    ['0', 0],
    ['600000', 600_000],
  ])('TASK_WORK_MS=%j → %d', (value, ms) => {
    expect(loadConfig(value === undefined ? {} : { TASK_WORK_MS: value }, DEFAULTS, { TASK_WORK_MS }).TASK_WORK_MS).toBe(ms);
  });

  it.each(['600001', '-1', '2.5', '3s'])('TASK_WORK_MS=%j is refused, naming the variable', (value) => {
    expect(() => loadConfig({ TASK_WORK_MS: value }, DEFAULTS, { TASK_WORK_MS })).toThrow(`TASK_WORK_MS=${JSON.stringify(value)} must be`);
  });
});
