/**
 * verifyWebhook: the SDK's captured delivery (golden vector), our own deliveries under both
 * schemes, the compact-body fallback, replay refusal, and every way an input can be wrong.
 */
import { serializeWebhookBody } from '../../src/webhooks/payload';
import { signatureV1, signatureV2, webhookHeaders } from '../../src/webhooks/signature';
import { verifyWebhook, type WebhookHeaders } from '../../src/webhooks/verify';
import { loadWebhookCapture } from './webhook-capture';

const capture = loadWebhookCapture();
const SECRET = capture.secret;
const NOW_S = 1796128182;
const now = (): number => NOW_S * 1000 + 250;

/** One of our deliveries, signed at `timestamp`. */
function ourDelivery(timestamp = NOW_S): { body: string; headers: Record<string, string> } {
  const body = serializeWebhookBody({
    requestAgent: 'hr-agent',
    taskId: 'task-0a1b2c3d',
    event: 'NEW_ARTIFACT',
    timestamp: NOW_S * 1000,
    data: { status: 'WORKING', artifact: { name: 'Résumé 📄', parts: [{ type: 'TextPart', content: 'ok\n' }] }, ratio: 0.25 },
    traceId: 'trace-1',
    subscriptionId: 'sub-00112233',
  });
  const headers = webhookHeaders({
    body,
    secret: SECRET,
    event: 'NEW_ARTIFACT',
    deliveryId: 'd-1',
    subscriptionId: 'sub-00112233',
    timestamp,
  });
  return { body, headers };
}

function withoutV2(headers: Record<string, string>): Record<string, string> {
  const { 'X-ARC-Timestamp': _t, 'X-ARC-Signature-V2': _s, ...rest } = headers;
  return rest;
}

describe('verifyWebhook: the SDK capture (golden vector)', () => {
  it('accepts webhook_delivery.txt with its secret (v1, raw bytes) and normalises the payload', () => {
    const result = verifyWebhook(capture.body, capture.headers, SECRET);
    expect(result).toEqual({
      valid: true,
      scheme: 'v1',
      payload: {
        taskId: 'task-7f3a9c2e',
        event: 'TASK_COMPLETED',
        timestamp: '2026-12-01T12:29:42.591364Z',
        data: { status: 'COMPLETED', completedAt: '2026-01-01T00:00:00Z', artifactCount: 1, messageCount: 2, duration: 7000 },
        subscriptionId: 'sub-55780abd',
        requestAgent: 'finance-agent',
        traceId: 'trace-capture-0003',
      },
    });
  });

  it('reads header names in any case, and the body as a string or bytes', () => {
    const headers = { 'X-ARC-Signature': capture.headers['x-arc-signature'] };
    expect(verifyWebhook(capture.body.toString('utf8'), headers, SECRET).valid).toBe(true);
    expect(verifyWebhook(new Uint8Array(capture.body) as Buffer, { 'x-Arc-SIGNATURE': [headers['X-ARC-Signature']!] }, SECRET).valid).toBe(
      true,
    );
  });

  it('refuses it with another secret', () => {
    expect(verifyWebhook(capture.body, capture.headers, 'not-the-secret')).toEqual({
      valid: false,
      reason: 'X-ARC-Signature does not match the body',
    });
  });

  it.each([
    ['a digit of the data', '"duration": 7000', '"duration": 7001'],
    ['the task id', 'task-7f3a9c2e', 'task-7f3a9c2f'],
    ['a letter of the agent', 'finance-agent', 'finance-agenT'],
  ])('refuses it when one byte changes: %s', (_name, from, to) => {
    const changed = capture.body.toString('utf8').replace(from, to);
    expect(changed).not.toBe(capture.body.toString('utf8'));
    expect(verifyWebhook(changed, capture.headers, SECRET)).toEqual({ valid: false, reason: 'X-ARC-Signature does not match the body' });
  });

  it('accepts the compact form the SDK sends with httpx >= 0.28 (v1 over the Python re-serialisation)', () => {
    const compact = JSON.stringify(JSON.parse(capture.body.toString('utf8')));
    expect(signatureV1(SECRET, compact)).not.toBe(capture.headers['x-arc-signature']); // only the fallback can accept it
    const result = verifyWebhook(compact, capture.headers, SECRET);
    expect(result.valid && result.scheme).toBe('v1');
  });

  it('accepts whitespace-only changes under v1: the fallback signs the JSON value in Python form, not the bytes', () => {
    const spaced = capture.body.toString('utf8').replace('"event": ', '"event":\n  ');
    expect(verifyWebhook(spaced, capture.headers, SECRET).valid).toBe(true);
  });

  it('refuses a compact body with a changed value, and a body that is not JSON', () => {
    const compact = JSON.stringify(JSON.parse(capture.body.toString('utf8'))).replace('7000', '7001');
    expect(verifyWebhook(compact, capture.headers, SECRET).valid).toBe(false);
    expect(verifyWebhook('not json', capture.headers, SECRET)).toEqual({ valid: false, reason: 'X-ARC-Signature does not match the body' });
  });

  it('is refused when only v2 signatures are accepted (allowV1: false)', () => {
    expect(verifyWebhook(capture.body, capture.headers, SECRET, { allowV1: false })).toEqual({
      valid: false,
      reason: 'no X-ARC-Signature-V2 header, and v1 signatures are not accepted',
    });
  });
});

describe('verifyWebhook: our deliveries', () => {
  it('verify under v2, with the payload normalised', () => {
    const { body, headers } = ourDelivery();
    const result = verifyWebhook(body, headers, SECRET, { now });
    expect(result).toEqual({
      valid: true,
      scheme: 'v2',
      payload: {
        taskId: 'task-0a1b2c3d',
        event: 'NEW_ARTIFACT',
        timestamp: '2026-12-01T12:29:42.000000Z',
        data: { status: 'WORKING', artifact: { name: 'Résumé 📄', parts: [{ type: 'TextPart', content: 'ok\n' }] }, ratio: 0.25 },
        subscriptionId: 'sub-00112233',
        requestAgent: 'hr-agent',
        traceId: 'trace-1',
      },
    });
    expect(verifyWebhook(Buffer.from(body), headers, SECRET, { now, allowV1: false }).valid).toBe(true);
  });

  it('verify under v1 alone (what an SDK receiver checks): raw bytes, no fallback needed', () => {
    const { body, headers } = ourDelivery();
    expect(headers['X-ARC-Signature']).toBe(signatureV1(SECRET, body));
    const result = verifyWebhook(body, withoutV2(headers), SECRET);
    expect(result.valid && result.scheme).toBe('v1');
  });

  it('refuses a v2 timestamp older or newer than the tolerance (replay), accepts the edge', () => {
    const stale = ourDelivery(NOW_S - 301);
    expect(verifyWebhook(stale.body, stale.headers, SECRET, { now })).toEqual({
      valid: false,
      reason: 'X-ARC-Timestamp is 301 s from now, beyond the 300 s tolerance (a replay, or clocks out of sync)',
    });
    const future = ourDelivery(NOW_S + 400);
    expect(verifyWebhook(future.body, future.headers, SECRET, { now }).valid).toBe(false);
    const edge = ourDelivery(NOW_S - 300);
    expect(verifyWebhook(edge.body, edge.headers, SECRET, { now }).valid).toBe(true);
    expect(verifyWebhook(stale.body, stale.headers, SECRET, { now, toleranceSeconds: 600 }).valid).toBe(true);
  });

  it('uses the real clock by default: a fresh delivery passes, one from 2001 does not', () => {
    const fresh = ourDelivery(Math.floor(Date.now() / 1000));
    expect(verifyWebhook(fresh.body, fresh.headers, SECRET).valid).toBe(true);
    const old = ourDelivery(1_000_000_000);
    expect(verifyWebhook(old.body, old.headers, SECRET).valid).toBe(false);
  });

  it('does not fall back to v1 when a v2 signature is present but wrong', () => {
    const { body, headers } = ourDelivery();
    const forged = { ...headers, 'X-ARC-Signature-V2': signatureV2('other', NOW_S, body) };
    expect(verifyWebhook(body, forged, SECRET, { now })).toEqual({ valid: false, reason: 'X-ARC-Signature-V2 does not match the body' });
  });

  it('refuses a v2 signature over another timestamp (a replay with a fresh X-ARC-Timestamp)', () => {
    const old = ourDelivery(NOW_S - 3600);
    const replay = { ...old.headers, 'X-ARC-Timestamp': String(NOW_S) };
    expect(verifyWebhook(old.body, replay, SECRET, { now }).valid).toBe(false);
  });

  it.each([
    ['no X-ARC-Timestamp', { 'X-ARC-Signature-V2': 'sha256=x' }, 'X-ARC-Signature-V2 without X-ARC-Timestamp'],
    [
      'a timestamp that is not unix seconds',
      { 'X-ARC-Signature-V2': 'sha256=x', 'X-ARC-Timestamp': '2026-12-01' },
      'X-ARC-Timestamp is not a time in unix seconds',
    ],
    [
      'a negative timestamp',
      { 'X-ARC-Signature-V2': 'sha256=x', 'X-ARC-Timestamp': '-5' },
      'X-ARC-Timestamp is not a time in unix seconds',
    ],
    [
      'a short signature',
      { 'X-ARC-Signature-V2': 'sha256=', 'X-ARC-Timestamp': String(NOW_S) },
      'X-ARC-Signature-V2 does not match the body',
    ],
    [
      'two v2 signatures',
      { 'X-ARC-Signature-V2': ['a', 'b'], 'X-ARC-Timestamp': String(NOW_S) },
      'a signature header appears more than once',
    ],
    [
      'two timestamps',
      { 'x-arc-signature-v2': 'a', 'X-ARC-Timestamp': '1', 'x-arc-timestamp': '2' },
      'a signature header appears more than once',
    ],
    ['two v1 signatures', { 'X-ARC-Signature': 'a', 'x-arc-signature': 'b' }, 'a signature header appears more than once'],
    [
      'no signature at all',
      { 'Content-Type': 'application/json', 'X-ARC-Signature': undefined },
      'no X-ARC-Signature or X-ARC-Signature-V2 header',
    ],
  ])('refuses %s', (_name, headers, reason) => {
    expect(verifyWebhook(ourDelivery().body, headers as WebhookHeaders, SECRET, { now })).toEqual({ valid: false, reason });
  });
});

describe('verifyWebhook: bad input gives a reason, never a throw', () => {
  const signed = (body: string) => ({ 'X-ARC-Signature': signatureV1(SECRET, body) });

  it('refuses a missing secret', () => {
    expect(verifyWebhook(capture.body, capture.headers, '')).toEqual({ valid: false, reason: 'no webhook secret configured' });
    expect(verifyWebhook(capture.body, capture.headers, undefined as unknown as string).valid).toBe(false);
  });

  it('refuses a body that is neither a string nor bytes', () => {
    expect(verifyWebhook(42 as unknown as string, capture.headers, SECRET)).toEqual({
      valid: false,
      reason: 'the raw body must be a string or a Buffer',
    });
  });

  it('tolerates a headers value that is not an object, and header values that are not strings', () => {
    expect(verifyWebhook(capture.body, null as unknown as WebhookHeaders, SECRET).valid).toBe(false);
    const odd = { 'X-ARC-Signature': 5, 'X-ARC-Event': [7] } as unknown as WebhookHeaders;
    expect(verifyWebhook(capture.body, odd, SECRET)).toEqual({ valid: false, reason: 'no X-ARC-Signature or X-ARC-Signature-V2 header' });
  });

  it('refuses a correctly signed body that is not JSON', () => {
    expect(verifyWebhook('{nope', signed('{nope'), SECRET)).toEqual({ valid: false, reason: 'the body is not JSON' });
  });

  it('refuses a correctly signed body that is not a task notification', () => {
    const body = '{"method": "task.info", "taskId": "t"}';
    expect(verifyWebhook(body, signed(body), SECRET)).toEqual({ valid: false, reason: 'method is not "task.notification"' });
  });

  it('accepts a correctly signed ARC task.notification request, normalised to the same shape', () => {
    const body = JSON.stringify({
      arc: '1.0',
      id: 'r1',
      method: 'task.notification',
      requestAgent: 'support-agent',
      targetAgent: 'me',
      params: { taskId: 'task-9', event: 'TASK_STARTED', timestamp: '2026-01-01T00:00:00Z', data: { status: 'WORKING' } },
    });
    expect(verifyWebhook(body, signed(body), SECRET)).toEqual({
      valid: true,
      scheme: 'v1',
      payload: {
        taskId: 'task-9',
        event: 'TASK_STARTED',
        timestamp: '2026-01-01T00:00:00Z',
        data: { status: 'WORKING' },
        requestAgent: 'support-agent',
      },
    });
  });

  it('answers even when the injected clock throws', () => {
    const { body, headers } = ourDelivery();
    const broken = (): number => {
      throw new Error('clock');
    };
    expect(verifyWebhook(body, headers, SECRET, { now: broken })).toEqual({ valid: false, reason: 'could not verify the delivery' });
  });
});
