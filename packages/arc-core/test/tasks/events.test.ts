/** Event → data keys (ARC-PROTOCOL.md §6): status and message always, the optional keys that apply. */
import { TASK_EVENTS, type TaskEvent } from '../../src/protocol/types';
import type { TaskRecord } from '../../src/state/task-store';
import { subscribed, taskEvent } from '../../src/tasks/events';

const AT = '2026-12-01T12:00:10.000Z';
function task(extra: Partial<TaskRecord> = {}): TaskRecord {
  return {
    taskId: 'task-1',
    agentId: 'finance-agent',
    requestAgent: 'caller',
    status: 'WORKING',
    priority: 'HIGH',
    createdAt: '2026-12-01T12:00:00.000Z',
    updatedAt: AT,
    startedAt: '2026-12-01T12:00:01.000Z',
    messages: [{ role: 'user', parts: [{ type: 'TextPart', content: 'x' }] }],
    artifacts: [],
    attempt: 1,
    subscriptions: [],
    version: 3,
    traceId: 'trace-1',
    ...extra,
  };
}

const OPTIONAL_KEYS = new Set([
  'priority',
  'assignedAgent',
  'createdAt',
  'startedAt',
  'pausedAt',
  'resumedAt',
  'completedAt',
  'failedAt',
  'canceledAt',
  'changedAt',
  'duration',
  'pauseDuration',
  'estimatedDuration',
  'artifactCount',
  'messageCount',
  'canceledBy',
  'reason',
  'requiredInput',
  'previousStatus',
  'error',
  'messageContent',
  'artifact',
  'attempt',
]);

describe('task events', () => {
  it.each([...TASK_EVENTS])('%s carries status, a message, and only §6 keys', (event) => {
    const e = taskEvent(task(), event as TaskEvent, AT, { previousStatus: 'SUBMITTED' });
    expect(e).toMatchObject({ event, agentId: 'finance-agent', taskId: 'task-1', timestamp: AT, traceId: 'trace-1' });
    expect(typeof e.data.status).toBe('string');
    expect(typeof e.data.message).toBe('string');
    expect(e.data.message.length).toBeGreaterThan(0);
    for (const key of Object.keys(e.data)) if (key !== 'status' && key !== 'message') expect(OPTIONAL_KEYS).toContain(key);
  });

  it('TASK_COMPLETED: completedAt, duration from startedAt (ms), counts', () => {
    const e = taskEvent(task({ status: 'COMPLETED', completedAt: AT, artifacts: [] }), 'TASK_COMPLETED', AT);
    expect(e.data).toEqual({
      status: 'COMPLETED',
      message: 'Task completed',
      completedAt: AT,
      duration: 9000,
      artifactCount: 0,
      messageCount: 1,
    });
  });

  it('TASK_FAILED carries the error; TASK_CANCELED the reason and who; TASK_PAUSED what is required', () => {
    const failed = taskEvent(
      task({ status: 'FAILED', failedAt: AT, error: { code: -42005, message: 'too slow', details: {} } }),
      'TASK_FAILED',
      AT,
    );
    expect(failed.data).toMatchObject({
      status: 'FAILED',
      message: 'too slow',
      failedAt: AT,
      error: { code: -42005, message: 'too slow' },
    });
    const canceled = taskEvent(task({ status: 'CANCELED', canceledAt: AT, reason: 'not needed' }), 'TASK_CANCELED', AT, {
      canceledBy: 'boss',
    });
    expect(canceled.data).toMatchObject({ status: 'CANCELED', reason: 'not needed', canceledBy: 'boss', canceledAt: AT });
    const paused = taskEvent(task({ status: 'INPUT_REQUIRED', requiredInput: 'Which dates?' }), 'TASK_PAUSED', AT);
    expect(paused.data).toMatchObject({ status: 'INPUT_REQUIRED', message: 'Which dates?', requiredInput: 'Which dates?', pausedAt: AT });
    const resumed = taskEvent(task({ pausedAt: '2026-12-01T12:00:05.000Z' }), 'TASK_RESUMED', AT);
    expect(resumed.data).toMatchObject({ status: 'WORKING', resumedAt: AT, pauseDuration: 5000 });
  });

  it('STATUS_CHANGE matches every event; other subscriptions only their own', () => {
    expect(subscribed(['STATUS_CHANGE'], 'NEW_ARTIFACT')).toBe(true);
    expect(subscribed(['TASK_COMPLETED', 'TASK_FAILED'], 'TASK_FAILED')).toBe(true);
    expect(subscribed(['TASK_COMPLETED', 'TASK_FAILED'], 'NEW_MESSAGE')).toBe(false);
  });
});
