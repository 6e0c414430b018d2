import { TASK_PRIORITIES as CORE_PRIORITIES } from '@arc/core';
import type { TaskInfo } from '@arc/core/client';
import { agentsOf, siblingUrl } from '../src/commands/agents';
import { TASK_PRIORITIES } from '../src/commands/task';
import { parsePort } from '../src/commands/webhook';
import { partText, seconds, taskLines } from '../src/format';
import { colours } from '../src/output';

test('the priorities are the protocol core ones', () => {
  expect([...TASK_PRIORITIES]).toEqual([...CORE_PRIORITIES]);
});

describe('siblingUrl: /agent-info and /health next to the /arc URL', () => {
  test.each([
    ['http://localhost:8000/arc', 'http://localhost:8000/agent-info'],
    ['http://localhost:8000/arc/', 'http://localhost:8000/agent-info'],
    ['http://gw.example.com/finance/arc?x=1', 'http://gw.example.com/finance/agent-info'],
    ['http://localhost:8000', 'http://localhost:8000/agent-info'],
    ['http://localhost:8000/archive', 'http://localhost:8000/archive/agent-info'],
  ])('%s → %s', (arcUrl, expected) => expect(siblingUrl(arcUrl, '/agent-info')).toBe(expected));
});

describe('agentsOf', () => {
  test('the multi-agent form (registeredAgents)', () => {
    const info = {
      registeredAgents: {
        'finance-agent': { supportedMethods: ['chat.start', 7], status: 'active', description: 'Invoices' },
        'hr-agent': { status: 'active' },
      },
    };
    expect(agentsOf(info)).toEqual([
      { id: 'finance-agent', status: 'active', description: 'Invoices', supportedMethods: ['chat.start'] },
      { id: 'hr-agent', status: 'active', description: undefined, supportedMethods: [] },
    ]);
  });
  test("the spec's single-agent form, and nothing", () => {
    expect(agentsOf({ agentId: 'solo', status: 'active', prompt: 'I help', supportedMethods: ['chat.start'] })).toEqual([
      { id: 'solo', status: 'active', description: 'I help', supportedMethods: ['chat.start'] },
    ]);
    expect(agentsOf({ server: 'x' })).toEqual([]);
  });
});

test('parsePort', () => {
  expect(parsePort('0')).toBe(0);
  expect(parsePort('9090')).toBe(9090);
  for (const bad of ['65536', '-1', 'http', '', '80.5']) expect(() => parsePort(bad)).toThrow(/^--port must be a port number/);
});

describe('parts and tasks for people', () => {
  test('partText', () => {
    expect(partText({ type: 'TextPart', content: 'hello' })).toBe('hello');
    expect(partText({ type: 'DataPart', content: { total: 12 } as never, mimeType: 'application/json' })).toBe(
      '[data application/json] {"total":12}',
    );
    expect(partText({ type: 'FilePart', content: 'aGVsbG8h', mimeType: 'text/plain', filename: 'a.txt' })).toBe(
      '[file a.txt text/plain, 6 bytes]',
    );
    expect(partText({ type: 'ImagePart', content: 'AAAA', mimeType: 'image/png' })).toBe('[image image/png, 3 bytes]');
  });

  test('taskLines: status, times, progress, error, messages, artifacts, webhooks', () => {
    const task: TaskInfo = {
      taskId: 'task-1',
      status: 'FAILED',
      priority: 'HIGH',
      createdAt: '2026-01-01T00:00:00Z',
      failedAt: '2026-01-01T00:00:02Z',
      statusMessage: 'Computing totals',
      error: { code: -42005, message: 'Task timed out', details: {} },
      messages: [{ role: 'user', parts: [{ type: 'TextPart', content: 'line one\nline two' }] }],
      artifacts: [
        {
          artifactId: 'a1',
          name: 'report',
          description: 'The report',
          createdAt: '2026-01-01T00:00:01Z',
          parts: [{ type: 'TextPart', content: 'r' }],
        },
      ],
      subscriptions: [
        {
          subscriptionId: 'sub-1',
          taskId: 'task-1',
          callbackUrl: 'http://127.0.0.1:9090/',
          events: ['TASK_FAILED'],
          createdAt: '2026-01-01T00:00:00Z',
          active: true,
          deliveries: { delivered: 1, failed: 0, attempts: 1 },
        },
      ],
    };
    expect(taskLines(task, colours(false))).toEqual([
      'task-1  FAILED  priority HIGH',
      'created 2026-01-01T00:00:00Z, failed 2026-01-01T00:00:02Z',
      'progress: Computing totals',
      'error: -42005 Task timed out',
      'messages (1):',
      '  user: line one\n    line two',
      'artifacts (1):',
      '  report — The report',
      '    r',
      'webhook sub-1 → http://127.0.0.1:9090/ [TASK_FAILED]: 1 delivered, 0 failed',
    ]);
  });

  test('seconds', () => {
    expect(seconds(0)).toBe('0.0s');
    expect(seconds(1549)).toBe('1.5s');
  });
});
