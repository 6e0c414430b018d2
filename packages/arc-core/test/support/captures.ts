/**
 * Reads the byte-level captures in shared/protocol/captures: each holds one HTTP request and its
 * response, verbatim between `=== REQUEST (n bytes) ===`, `=== RESPONSE (n bytes) ===` and
 * `=== END ===` marker lines.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const CAPTURES_DIR = resolve(__dirname, '../../../../../shared/protocol/captures');

export interface HttpMessage {
  startLine: string;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  body: Buffer;
}

export interface Capture {
  name: string;
  request: HttpMessage;
  response: HttpMessage & { status: number };
}

export function section(file: Buffer, marker: 'REQUEST' | 'RESPONSE'): Buffer {
  const text = file.toString('latin1');
  const m = new RegExp(`=== ${marker} \\((\\d+) bytes\\) ===\\n`).exec(text);
  if (!m) throw new Error(`no ${marker} marker`);
  const start = m.index + m[0].length;
  return file.subarray(start, start + Number(m[1]));
}

function dechunk(raw: Buffer): Buffer {
  const out: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', pos);
    const size = parseInt(raw.subarray(pos, eol).toString('latin1'), 16);
    if (Number.isNaN(size)) throw new Error(`bad chunk size at ${pos}`);
    if (size === 0) return Buffer.concat(out);
    out.push(raw.subarray(eol + 2, eol + 2 + size));
    pos = eol + 2 + size + 2;
  }
}

function parseMessage(raw: Buffer): HttpMessage {
  const headEnd = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, headEnd).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = raw.subarray(headEnd + 4);
  if (headers['transfer-encoding'] === 'chunked') body = dechunk(body);
  else if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
  return { startLine: head[0]!, headers, body };
}

export function loadCapture(name: string): Capture {
  const file = readFileSync(join(CAPTURES_DIR, name));
  const request = parseMessage(section(file, 'REQUEST'));
  const response = parseMessage(section(file, 'RESPONSE'));
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(response.startLine)?.[1]);
  return { name, request, response: { ...response, status } };
}

export function captureNames(): string[] {
  return readdirSync(CAPTURES_DIR)
    .filter((f) => f.endsWith('.txt'))
    .sort();
}
