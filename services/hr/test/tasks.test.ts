/**
 * The HR agent's task, a leave request, through the service's createServer and the TS client on
 * a free loopback port: the dates asked for until both are known (INPUT_REQUIRED, task.send),
 * dates that cannot be granted (FAILED, -42004), cancel while it works, /agent-info, TASK_WORK_MS.
 */
import { ArcAgent, ArcError, ArcErrorCode, MemoryChatStore, loadConfig, silentLogger } from '@arc/core';
import { ArcClient } from '@arc/core/client';
import { createArcServer, type ArcServer } from '@arc/core/express';
import { ASK_DATES, HR_AGENT_ID, createHrAgent } from '../src/agent';
import { MAX_LEAVE_DAYS, employeeOf, leaveDates, leaveRequest } from '../src/leave-request';
import { DEFAULTS, createServer } from '../src/server';

const A = HR_AGENT_ID;
const ANY_END = ['INPUT_REQUIRED', 'COMPLETED', 'FAILED', 'CANCELED'] as const;
const servers: ArcServer[] = [];

async function clientOf(server: ArcServer): Promise<{ client: ArcClient; url: string }> {
  servers.push(server);
  const { url } = await server.listen(0, '127.0.0.1');
  return { client: new ArcClient(`${url}/arc`, { requestAgent: 'hr-test', timeoutMs: 5000 }), url };
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

describe('hr tasks: a leave request', () => {
  it('with both dates: progress, then COMPLETED with a confirmation and the request as DataPart', async () => {
    const { taskId } = (await client.task.create(A, 'Leave from 2026-12-21 to 2026-12-24 please (E-77)')).result.task;
    const task = await client.task.waitFor(A, taskId, { intervalMs: 5 });
    expect(task.status).toBe('COMPLETED');
    expect(task.statusMessage).toBe('Recording the leave request');
    expect(task.messages?.at(-1)?.parts).toEqual([
      { type: 'TextPart', content: 'Leave request recorded for E-77: 2026-12-21 to 2026-12-24, 4 calendar day(s).' },
    ]);
    expect(task.artifacts?.map((a) => [a.name, a.parts])).toEqual([
      [
        'leave-request',
        [
          {
            type: 'DataPart',
            mimeType: 'application/json',
            content: { employee: 'E-77', start: '2026-12-21', end: '2026-12-24', days: 4 },
          },
        ],
      ],
    ]);
  });

  it('asks for the dates until it has both (INPUT_REQUIRED twice), then completes', async () => {
    const { taskId } = (await client.task.create(A, 'I would like some time off', { metadata: { employeeId: 'emp-1042' } })).result.task;
    const first = await client.task.waitFor(A, taskId, { intervalMs: 5, until: ANY_END });
    expect(first).toMatchObject({ status: 'INPUT_REQUIRED', requiredInput: ASK_DATES });
    await client.task.send(A, taskId, 'Starting 2027-01-04');
    // The send moved it to WORKING; the second run parks it again.
    const second = await client.task.waitFor(A, taskId, { intervalMs: 5, until: ['INPUT_REQUIRED', 'COMPLETED', 'FAILED', 'CANCELED'] });
    expect(second).toMatchObject({
      status: 'INPUT_REQUIRED',
      requiredInput: 'Your leave starts on 2027-01-04. What is its last day (YYYY-MM-DD)?',
    });
    await client.task.send(A, taskId, 'until 2027-01-08');
    const done = await client.task.waitFor(A, taskId, { intervalMs: 5 });
    expect(done.status).toBe('COMPLETED');
    expect(done.artifacts?.[0]?.parts[0]).toMatchObject({
      content: { employee: 'emp-1042', start: '2027-01-04', end: '2027-01-08', days: 5 },
    });
    expect(done.messages?.map((m) => m.role)).toEqual(['user', 'agent', 'user', 'agent', 'user', 'agent']);
  });

  it.each([
    [
      '2026-12-24 to 2026-12-21',
      'The leave cannot end (2026-12-21) before it starts (2026-12-24)',
      { reason: 'END_BEFORE_START', start: '2026-12-24', end: '2026-12-21' },
    ],
    [
      '2026-12-01 to 2027-01-15',
      'A leave request covers at most 30 days; 2026-12-01 to 2027-01-15 is 46 days',
      { reason: 'TOO_LONG', days: 46, maxDays: 30 },
    ],
    ['2026-02-27 to 2026-02-30', '2026-02-30 is not a calendar date', { reason: 'INVALID_DATE', field: 'end', value: '2026-02-30' }],
  ])('dates "%s" fail the task with -42004: %s', async (dates, message, details) => {
    const { taskId } = (await client.task.create(A, `Leave ${dates}`)).result.task;
    const task = await client.task.waitFor(A, taskId, { intervalMs: 5 });
    expect(task.status).toBe('FAILED');
    expect(task.error).toMatchObject({ code: ArcErrorCode.TaskExecution, message, details });
    expect(task.artifacts).toEqual([]);
  });

  it('task.cancel while it works: CANCELED, nothing recorded, and the handler itself stops at once', async () => {
    const inner = createHrAgent({ workMs: 600_000 }).taskHandler!;
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
    const { client: c } = await clientOf(createArcServer({ serverId: 'hr-cancel-test', logger: silentLogger }).addAgent(agent));
    const { taskId } = (await c.task.create(A, 'Leave 2026-12-21 to 2026-12-24')).result.task;
    let checking!: () => void;
    const working = new Promise<void>((resolve) => (checking = resolve));
    const waiting = c.task.waitFor(A, taskId, {
      intervalMs: 5,
      onProgress: (t) => (t.statusMessage?.startsWith('Checking the leave') ? checking() : undefined),
    });
    await working;
    await c.task.cancel(A, taskId);
    expect(await waiting).toMatchObject({ status: 'CANCELED', artifacts: [] });
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

describe('leave-request', () => {
  it('reads the dates: both from the latest message that has two, else the last two of all user messages', () => {
    expect(leaveDates([user('time off please')])).toEqual({ found: 0 });
    expect(leaveDates([user('from 2026-12-21')])).toEqual({ found: 1, start: '2026-12-21' });
    expect(
      leaveDates([
        user('from 2026-12-21'),
        { role: 'agent', parts: [{ type: 'TextPart', content: 'ok 2026-01-01?' }] },
        user('to 2026-12-24'),
      ]),
    ).toEqual({
      found: 2,
      start: '2026-12-21',
      end: '2026-12-24',
    });
    expect(leaveDates([user('2026-01-01 to 2026-01-02'), user('no: 2026-12-21 to 2026-12-24, back 2026-12-28')])).toEqual({
      found: 2,
      start: '2026-12-21',
      end: '2026-12-24',
    });
    expect(leaveDates([user('20261221 or 2026-1-2 or x2026-12-21')])).toEqual({ found: 0 });
  });

  it('counts calendar days with both ends; at most 30', () => {
    expect(leaveRequest('2026-12-21', '2026-12-21', undefined)).toEqual({ start: '2026-12-21', end: '2026-12-21', days: 1 });
    expect(leaveRequest('2026-03-01', '2026-03-30', 'E-1').days).toBe(MAX_LEAVE_DAYS);
    expect(leaveRequest('2028-02-28', '2028-03-01', undefined).days).toBe(3); // 2028 is a leap year
    expect(() => leaveRequest('2026-03-01', '2026-03-31', undefined)).toThrow(ArcError);
  });

  it('takes the employee from metadata.employeeId, else an E-<digits> id in a user message', () => {
    expect(employeeOf([user('I am E-12')], { employeeId: 'emp-7' })).toBe('emp-7');
    expect(employeeOf([user('I am E-12')], { employeeId: 'not valid!' })).toBe('E-12');
    expect(employeeOf([user('no id')], undefined)).toBeUndefined();
  });
});
