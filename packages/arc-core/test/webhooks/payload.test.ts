/**
 * The delivery body: built from typed fields it must equal, byte for byte, what the SDK sent in
 * webhook_delivery.txt; read back, both the flat body and the ARC envelope give one shape.
 */
import { parseWebhookNotification, serializeWebhookBody, webhookBody, webhookTimestamp } from '../../src/webhooks/payload';
import { loadWebhookCapture } from './webhook-capture';

const captureFields = {
  requestAgent: 'finance-agent',
  taskId: 'task-7f3a9c2e',
  event: 'TASK_COMPLETED',
  timestamp: '2026-12-01T12:29:42.591364Z',
  data: { status: 'COMPLETED', completedAt: '2026-01-01T00:00:00Z', artifactCount: 1, messageCount: 2, duration: 7000 },
  traceId: 'trace-capture-0003',
  subscriptionId: 'sub-55780abd',
} as const;

describe('serializeWebhookBody', () => {
  it("equals the SDK's delivery body byte for byte (key order, separators, timestamp)", () => {
    expect(serializeWebhookBody(captureFields)).toBe(loadWebhookCapture().body.toString('utf8'));
  });

  it('puts the keys in the SDK order, whatever order the fields come in', () => {
    const { subscriptionId, traceId, data, ...rest } = captureFields;
    const body = webhookBody({ subscriptionId, traceId, data, ...rest });
    expect(Object.keys(body)).toEqual([
      'arc',
      'method',
      'requestAgent',
      'taskId',
      'event',
      'timestamp',
      'data',
      'traceId',
      'subscriptionId',
    ]);
  });

  it('leaves traceId out when there is none, subscriptionId still last', () => {
    const { traceId: _omit, ...fields } = captureFields;
    const text = serializeWebhookBody({ ...fields, timestamp: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)), data: { status: 'Ünïcode' } });
    expect(text).toBe(
      '{"arc": "1.0", "method": "task.notification", "requestAgent": "finance-agent", "taskId": "task-7f3a9c2e", ' +
        '"event": "TASK_COMPLETED", "timestamp": "2026-01-02T03:04:05.006000Z", "data": {"status": "\\u00dcn\\u00efcode"}, ' +
        '"subscriptionId": "sub-55780abd"}',
    );
  });
});

describe('webhookTimestamp', () => {
  it('writes microseconds and Z, as the SDK does, from a Date, epoch ms or an ISO string', () => {
    const ms = Date.UTC(2026, 11, 1, 12, 29, 42, 591);
    expect(webhookTimestamp(new Date(ms))).toBe('2026-12-01T12:29:42.591000Z');
    expect(webhookTimestamp(ms)).toBe('2026-12-01T12:29:42.591000Z');
    expect(webhookTimestamp('2026-12-01T12:29:42.591Z')).toBe('2026-12-01T12:29:42.591000Z');
    expect(webhookTimestamp('2026-12-01T13:29:42.591+01:00')).toBe('2026-12-01T12:29:42.591000Z');
  });

  it('keeps a timestamp already in the SDK form (microseconds are not lost)', () => {
    expect(webhookTimestamp('2026-12-01T12:29:42.591364Z')).toBe('2026-12-01T12:29:42.591364Z');
  });

  it('throws a RangeError on something that is not a time', () => {
    expect(() => webhookTimestamp('yesterday')).toThrow(RangeError);
    expect(() => webhookTimestamp(Number.NaN)).toThrow(/not a time/);
  });
});

describe('parseWebhookNotification', () => {
  it('reads the flat webhook body', () => {
    const parsed = parseWebhookNotification(JSON.parse(loadWebhookCapture().body.toString('utf8')));
    expect(parsed).toEqual({
      ok: true,
      notification: {
        taskId: 'task-7f3a9c2e',
        event: 'TASK_COMPLETED',
        timestamp: '2026-12-01T12:29:42.591364Z',
        data: captureFields.data,
        subscriptionId: 'sub-55780abd',
        requestAgent: 'finance-agent',
        traceId: 'trace-capture-0003',
      },
    });
  });

  it('reads an ARC task.notification request (DECISIONS.md 8): the notification is in params', () => {
    const envelope = {
      arc: '1.0',
      id: 'n-1',
      method: 'task.notification',
      requestAgent: 'hr-agent',
      targetAgent: 'caller',
      params: {
        taskId: 'task-1',
        event: 'TASK_FAILED',
        timestamp: '2026-01-01T00:00:00Z',
        data: { status: 'FAILED' },
        subscriptionId: 'ignored',
      },
    };
    expect(parseWebhookNotification(envelope)).toEqual({
      ok: true,
      notification: {
        taskId: 'task-1',
        event: 'TASK_FAILED',
        timestamp: '2026-01-01T00:00:00Z',
        data: { status: 'FAILED' },
        requestAgent: 'hr-agent',
      },
    });
  });

  const flat = { method: 'task.notification', taskId: 't', event: 'NEW_MESSAGE', timestamp: 'ts', data: {} };

  it.each([
    ['an array', [], 'body is not a JSON object'],
    ['null', null, 'body is not a JSON object'],
    ['a string', 'x', 'body is not a JSON object'],
    ['another method', { ...flat, method: 'task.info' }, 'method is not "task.notification"'],
    ['no method', { ...flat, method: undefined }, 'method is not "task.notification"'],
    ['no taskId', { ...flat, taskId: undefined }, 'taskId is missing or not a string'],
    ['an empty taskId', { ...flat, taskId: '' }, 'taskId is missing or not a string'],
    ['an unknown event', { ...flat, event: 'TASK_EXPLODED' }, 'event is missing or not a known task event'],
    ['a numeric timestamp', { ...flat, timestamp: 1 }, 'timestamp is missing or not a string'],
    ['data as an array', { ...flat, data: [] }, 'data is missing or not an object'],
    ['a numeric subscriptionId', { ...flat, subscriptionId: 5 }, 'subscriptionId is not a string'],
    ['a null traceId', { ...flat, traceId: null }, 'traceId is not a string'],
    ['an object requestAgent', { ...flat, requestAgent: {} }, 'requestAgent is not a string'],
    [
      'an envelope without params.taskId',
      { method: 'task.notification', params: { event: 'NEW_MESSAGE' } },
      'params.taskId is missing or not a string',
    ],
  ])('refuses %s, saying why', (_name, body, reason) => {
    expect(parseWebhookNotification(body)).toEqual({ ok: false, reason });
  });
});
