/**
 * Signature schemes and delivery headers. Golden values: the SDK's X-ARC-Signature from
 * webhook_delivery.txt, and v2 values computed independently with Python's hmac module.
 */
import { signatureV1, signatureV2, webhookHeaders, WEBHOOK_HEADERS } from '../../src/webhooks/signature';
import { loadWebhookCapture } from './webhook-capture';

const capture = loadWebhookCapture();
/** The capture's event time, 2026-12-01T12:29:42Z, in unix seconds. */
const CAPTURE_TIME = 1796128182;

describe('signatureV1 (the SDK scheme)', () => {
  it("reproduces the SDK's X-ARC-Signature of the captured delivery", () => {
    expect(signatureV1(capture.secret, capture.body)).toBe(capture.headers['x-arc-signature']);
    expect(signatureV1(capture.secret, capture.body.toString('utf8'))).toBe('sha256=JJ0n5mwykfrgt0SXq9+LRlM1pFSU+uxZgN/I2RaCQzw=');
  });

  it('hashes a string body as UTF-8', () => {
    expect(signatureV1('s3cr3t', '{"a": "é"}')).toBe('sha256=+z82LJvdIiBwOxEzJiwZk9KiWkXu7fWWrqbkxRnRSJg=');
  });

  it('depends on the secret', () => {
    expect(signatureV1('another-secret', capture.body)).not.toBe(capture.headers['x-arc-signature']);
  });
});

describe('signatureV2 (timestamped)', () => {
  it('is HMAC-SHA256 over "<timestamp>.<body>" (vector computed with Python)', () => {
    expect(signatureV2(capture.secret, CAPTURE_TIME, capture.body)).toBe('sha256=0zpma0tN7S8bSDkxXYJa72Rx8D6yNOqy7FAL/RpmPTM=');
    expect(signatureV2(capture.secret, String(CAPTURE_TIME), capture.body.toString('utf8'))).toBe(
      'sha256=0zpma0tN7S8bSDkxXYJa72Rx8D6yNOqy7FAL/RpmPTM=',
    );
  });

  it('changes with the timestamp', () => {
    expect(signatureV2(capture.secret, CAPTURE_TIME + 1, capture.body)).not.toBe(signatureV2(capture.secret, CAPTURE_TIME, capture.body));
  });
});

describe('webhookHeaders', () => {
  const fields = {
    body: capture.body.toString('utf8'),
    secret: capture.secret,
    event: 'TASK_COMPLETED',
    deliveryId: 'c7660dac-730a-4740-9a6e-e73b02e9accd',
    subscriptionId: 'sub-55780abd',
  } as const;

  it("gives every delivery header: the SDK's, ours, and both signatures", () => {
    expect(webhookHeaders({ ...fields, timestamp: CAPTURE_TIME })).toEqual({
      'Content-Type': 'application/json',
      'User-Agent': 'arc-webhooks/sub-55780abd',
      'X-ARC-Event': 'TASK_COMPLETED',
      'X-ARC-Delivery': 'c7660dac-730a-4740-9a6e-e73b02e9accd',
      'X-ARC-Signature': 'sha256=JJ0n5mwykfrgt0SXq9+LRlM1pFSU+uxZgN/I2RaCQzw=',
      'X-ARC-Timestamp': '1796128182',
      'X-ARC-Signature-V2': 'sha256=0zpma0tN7S8bSDkxXYJa72Rx8D6yNOqy7FAL/RpmPTM=',
    });
  });

  it('stamps the current unix second when no timestamp is given', () => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(CAPTURE_TIME * 1000 + 999);
    try {
      expect(webhookHeaders(fields)[WEBHOOK_HEADERS.timestamp]).toBe(String(CAPTURE_TIME));
    } finally {
      now.mockRestore();
    }
  });

  it('sends no signature headers without a secret (as the SDK does)', () => {
    for (const secret of [undefined, '']) {
      const headers = webhookHeaders({ ...fields, secret });
      expect(Object.keys(headers)).toEqual(['Content-Type', 'User-Agent', 'X-ARC-Event', 'X-ARC-Delivery']);
    }
  });
});
