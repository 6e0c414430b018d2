/** Small helpers shared by the arc-core unit tests (not a test file: no `.test.ts`). */
import type { ArcReply } from '../../src/router/router';
import type { SseEvent } from '../../src/protocol/sse';

export type Json = any;

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A request envelope with defaults that tests override. */
export function envelope(method: string, params: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { arc: '1.0', id: 'req-1', method, requestAgent: 'tester', targetAgent: 'agent-a', params, ...extra };
}

export function userMessage(text: string, type = 'TextPart'): Json {
  return { role: 'user', parts: [{ type, content: text }] };
}

/** Awaits a router reply that must be JSON. */
export async function jsonReply(p: Promise<ArcReply>): Promise<{ status: number; body: Json; retryAfter: number | undefined }> {
  const r = await p;
  if (r.kind !== 'json') throw new Error('expected a JSON reply, got a stream');
  return { status: r.status, body: r.body as Json, retryAfter: r.retryAfter };
}

/** Awaits a router reply that must be a stream, and drains it. */
export async function streamEvents(p: Promise<ArcReply>): Promise<SseEvent[]> {
  const r = await p;
  if (r.kind !== 'stream') throw new Error(`expected a stream, got HTTP ${r.status} ${JSON.stringify(r.body)}`);
  const out: SseEvent[] = [];
  for await (const e of r.events) out.push(e);
  return out;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Awaits a promise (or a value) that must reject, and returns the error. */
export async function rejection(p: Promise<unknown> | unknown): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}
