/**
 * The support agent's task, opening a ticket, through the service's createServer and the TS
 * client on a free loopback port: the ticket (its id from the task id), cancel while it works,
 * /agent-info, TASK_WORK_MS.
 */
import { ArcAgent, MemoryChatStore, loadConfig, silentLogger, type TaskView } from '@arc/core';
import { ArcClient } from '@arc/core/client';
import { createArcServer, type ArcServer } from '@arc/core/express';
import { SUPPORT_AGENT_ID, createSupportAgent } from '../src/agent';
import { DEFAULTS, createServer } from '../src/server';
import { subjectOf, ticketIdFor } from '../src/ticket';

const A = SUPPORT_AGENT_ID;
const servers: ArcServer[] = [];

async function clientOf(server: ArcServer): Promise<{ client: ArcClient; url: string }> {
  servers.push(server);
  const { url } = await server.listen(0, '127.0.0.1');
  return { client: new ArcClient(`${url}/arc`, { requestAgent: 'support-test', timeoutMs: 5000 }), url };
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

describe('support tasks: a ticket', () => {
  it('opens a ticket named after the task and completes with it as DataPart', async () => {
    const created = (await client.task.create(A, '  \nThe printer on floor 3 is jammed\nIt says E-42.', { priority: 'HIGH' })).result.task;
    const progress: string[] = [];
    const task = await client.task.waitFor(A, created.taskId, {
      intervalMs: 5,
      onProgress: (t) => void (t.statusMessage && progress.push(t.statusMessage)),
    });
    const ticketId = `TCK-${created.taskId.slice('task-'.length, 'task-'.length + 8)}`;
    expect(task.status).toBe('COMPLETED');
    expect(task.statusMessage).toBe(`Ticket ${ticketId} routed to the support queue`);
    expect(task.messages?.at(-1)?.parts).toEqual([
      { type: 'TextPart', content: `Ticket ${ticketId} is open: "The printer on floor 3 is jammed". Our support team will follow up.` },
    ]);
    expect(task.artifacts?.map((a) => [a.name, a.parts])).toEqual([
      [
        'ticket',
        [
          {
            type: 'DataPart',
            mimeType: 'application/json',
            content: {
              ticketId,
              subject: 'The printer on floor 3 is jammed',
              requester: 'support-test',
              priority: 'HIGH',
              status: 'OPEN',
              openedAt: created.createdAt,
            },
          },
        ],
      ],
    ]);
  });

  it('task.cancel while it works: CANCELED, no ticket artifact, and the handler itself stops at once', async () => {
    const inner = createSupportAgent({ workMs: 600_000 }).taskHandler!;
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
    const { client: c } = await clientOf(createArcServer({ serverId: 'support-cancel-test', logger: silentLogger }).addAgent(agent));
    const { taskId } = (await c.task.create(A, 'VPN down')).result.task;
    let opened!: () => void;
    const working = new Promise<void>((resolve) => (opened = resolve));
    const waiting = c.task.waitFor(A, taskId, {
      intervalMs: 5,
      onProgress: (t) => (t.statusMessage?.endsWith(' opened') ? opened() : undefined),
    });
    await working;
    await c.task.cancel(A, taskId, 'fixed itself');
    expect(await waiting).toMatchObject({ status: 'CANCELED', reason: 'fixed itself', artifacts: [] });
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

describe('ticket', () => {
  it('the id comes from the task id (the same task, the same ticket)', () => {
    expect(ticketIdFor('task-0123456789abcdef')).toBe('TCK-01234567');
    expect(ticketIdFor('my-own-id')).toMatch(/^TCK-[0-9a-f]{8}$/);
    expect(ticketIdFor('my-own-id')).toBe(ticketIdFor('my-own-id'));
    expect(ticketIdFor('my-own-id')).not.toBe(ticketIdFor('my-own-id2'));
  });

  it('the subject is the first non-empty line of the first user message, at most 120 characters', () => {
    const view = (...texts: string[]): TaskView => ({
      taskId: 'task-1',
      agentId: A,
      requestAgent: 'x',
      status: 'WORKING',
      priority: 'NORMAL',
      createdAt: '2026-01-01T00:00:00.000Z',
      messages: texts.map((content) => ({ role: 'user', parts: [{ type: 'TextPart', content }] })),
      artifacts: [],
      metadata: undefined,
      attempt: 1,
    });
    expect(subjectOf(view('first\nsecond', 'later'))).toBe('first');
    expect(subjectOf(view(''))).toBe('(no subject)');
    expect(subjectOf(view('x'.repeat(200)))).toBe(`${'x'.repeat(119)}…`);
  });
});
