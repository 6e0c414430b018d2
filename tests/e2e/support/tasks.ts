/**
 * Task helpers for the end-to-end tests: ARC calls over HTTP, waiting for a task status, the
 * Python client's recorded task requests (captures/task_*.txt) replayed with fresh ids, and a
 * webhook receiver that verifies every delivery with the shared secret.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { verifyWebhook } from '@arc/core';

export const CAPTURES_DIR = resolve(__dirname, '../../../../shared/protocol/captures');
/** The task id the recorded session used; replays put ours in its place. */
export const RECORDED_TASK = 'task-487af811';

export type Json = any;

let seq = 0;
/** One ARC call; resolves the envelope (error envelopes too) and the HTTP status. */
export async function arc(url: string, method: string, targetAgent: string, params: object): Promise<{ status: number; body: Json }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/arc+json' },
    body: JSON.stringify({ arc: '1.0', id: `tasks-e2e-${++seq}`, method, requestAgent: 'tasks-e2e', targetAgent, params }),
  });
  return { status: res.status, body: await res.json() };
}

export const text = (content: string) => ({ role: 'user', parts: [{ type: 'text', content }] });

/** Polls task.info until the task is in one of `statuses` (resolves it) or `ms` passed (rejects with what it was). */
export async function waitForTask(url: string, agent: string, taskId: string, statuses: string[], ms = 20_000): Promise<Json> {
  const deadline = Date.now() + ms;
  let last: Json;
  for (;;) {
    const r = await arc(url, 'task.info', agent, { taskId }).catch((err: Error) => ({ status: 0, body: { error: err.message } }));
    last = r.body.result?.task ?? r.body;
    if (last?.status && statuses.includes(last.status)) return last;
    if (Date.now() > deadline)
      throw new Error(`task ${taskId} not ${statuses.join('|')} within ${ms} ms: ${JSON.stringify(last).slice(0, 400)}`);
    await new Promise((r2) => setTimeout(r2, 100));
  }
}

/** A recorded request body (captures/<name>), for `agent`, with our task id in place of the recorded one. */
export function capturedBody(name: string, agent: string, taskId?: string): { body: string; headers: Record<string, string> } {
  const file = readFileSync(join(CAPTURES_DIR, name)).toString('latin1');
  const m = /=== REQUEST \((\d+) bytes\) ===\n/.exec(file);
  if (!m) throw new Error(`${name}: no REQUEST marker`);
  const raw = Buffer.from(file, 'latin1')
    .subarray(m.index + m[0].length, m.index + m[0].length + Number(m[1]))
    .toString('utf8');
  const headEnd = raw.indexOf('\r\n\r\n');
  const headers: Record<string, string> = {};
  for (const line of raw.slice(0, headEnd).split('\r\n').slice(1)) {
    const i = line.indexOf(':');
    const name2 = line.slice(0, i).trim().toLowerCase();
    if (name2 === 'content-type' || name2 === 'accept' || name2 === 'user-agent') headers[name2] = line.slice(i + 1).trim();
  }
  let body = raw.slice(headEnd + 4);
  body = body.replace('"targetAgent": "finance-agent"', `"targetAgent": "${agent}"`);
  if (taskId) body = body.split(RECORDED_TASK).join(taskId);
  return { body, headers };
}

export async function replay(url: string, name: string, agent: string, taskId?: string, edit: (body: string) => string = (b) => b) {
  const { body, headers } = capturedBody(name, agent, taskId);
  const res = await fetch(url, { method: 'POST', headers, body: edit(body) });
  return { status: res.status, body: (await res.json()) as Json };
}

export interface Receiver {
  url: string;
  /** Verified deliveries, in arrival order. */
  got: { event: string; taskId: string; data: Json; deliveryId: string; scheme: string }[];
  /** Deliveries whose signature did not verify. */
  refused: number;
  close(): Promise<void>;
}

/** A webhook receiver on 127.0.0.1 (port 0, or `port`) that verifies each delivery and answers 204 (401 when it does not verify). */
export async function webhookReceiver(secret: string, port = 0): Promise<Receiver> {
  const receiver: Receiver = { url: '', got: [], refused: 0, close: async () => undefined };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const check = verifyWebhook(Buffer.concat(chunks), req.headers, secret);
      if (!check.valid) {
        receiver.refused++;
        res.writeHead(401).end();
        return;
      }
      const p = check.payload;
      receiver.got.push({
        event: p.event,
        taskId: p.taskId,
        data: p.data,
        deliveryId: String(req.headers['x-arc-delivery']),
        scheme: check.scheme,
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  receiver.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return receiver;
}

export async function until(check: () => boolean | Promise<boolean>, ms = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
