/**
 * Reads captures/webhook_delivery.txt: a delivery by the Python SDK's WebhookManager, verbatim
 * between `=== REQUEST (n bytes) ===` and `=== END ===`, its secret named in the header comment.
 * (support/captures.ts reads request/response pairs; this capture has no response.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CAPTURES_DIR } from '../support/captures';

export interface WebhookCapture {
  secret: string;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  body: Buffer;
}

export function loadWebhookCapture(): WebhookCapture {
  const file = readFileSync(join(CAPTURES_DIR, 'webhook_delivery.txt'));
  const text = file.toString('latin1');
  const secret = /^# webhook secret: '([^']+)'/m.exec(text)?.[1];
  const marker = /=== REQUEST \((\d+) bytes\) ===\n/.exec(text);
  if (secret === undefined || !marker) throw new Error('webhook_delivery.txt: no secret or no REQUEST marker');
  const start = marker.index + marker[0].length;
  const request = file.subarray(start, start + Number(marker[1]));
  const headEnd = request.indexOf('\r\n\r\n');
  const headers: Record<string, string> = {};
  for (const line of request.subarray(0, headEnd).toString('latin1').split('\r\n').slice(1)) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const body = request.subarray(headEnd + 4, headEnd + 4 + Number(headers['content-length']));
  return { secret, headers, body };
}
