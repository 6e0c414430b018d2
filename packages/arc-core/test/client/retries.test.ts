/**
 * ArcClient's retries (src/client/retry.ts): sent again only when the request certainly did
 * nothing (429, 503 -41011, a refused connection), after the server's Retry-After, bounded by
 * `retries.max`, `retries.maxDelayMs` and the call's timeout and signal; `retries: false` off.
 * Against plain local servers that answer from a script and record what they got.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ArcClient, ArcResponseError, ArcTransportError } from '../../src/client';
import { retryDelayMs, retryPolicy } from '../../src/client/retry';
import type { ArcErrorResponse } from '../../src/protocol/types';
import { freePort, listenPlain } from '../support/http';
import { rejection } from '../support/util';

interface Scripted {
  status: number;
  headers?: Record<string, string>;
  error?: { code: number; message: string; details?: Record<string, unknown> };
}

interface Seen {
  id: unknown;
  authorization: string | undefined;
  at: number;
}

const tooMany = (retryAfter?: string): Scripted => ({
  status: 429,
  headers: retryAfter === undefined ? {} : { 'Retry-After': retryAfter },
  error: { code: -44007, message: 'Rate limit exceeded', details: { limit: 1, windowMs: 1000 } },
});
const ok: Scripted = { status: 200 };

function answer(req: IncomingMessage, res: ServerResponse, seen: Seen[], script: (n: number) => Scripted): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: unknown; requestAgent: string };
    seen.push({ id: body.id, authorization: req.headers.authorization, at: performance.now() });
    const r = script(seen.length);
    const envelope = {
      arc: '1.0',
      id: body.id,
      responseAgent: 'finance-agent',
      targetAgent: body.requestAgent,
      traceId: null,
      result: r.error ? null : { ok: true },
      error: r.error ? { details: {}, ...r.error } : null,
    };
    res.writeHead(r.status, { 'Content-Type': 'application/json', ...r.headers });
    res.end(JSON.stringify(envelope));
  });
}

/** A server answering its n-th request (from 1) with `script(n)`; the last entry of a list repeats. */
async function scripted(script: Scripted[] | ((n: number) => Scripted)) {
  const seen: Seen[] = [];
  const pick = typeof script === 'function' ? script : (n: number) => script[Math.min(n, script.length) - 1]!;
  const plain = await listenPlain((req, res) => answer(req, res, seen, pick));
  return { url: `${plain.url}/arc`, seen, close: plain.close };
}

describe('ArcClient retries', () => {
  it('429 with Retry-After: 1, then 200 → success, after waiting the second, with the same id', async () => {
    const s = await scripted([tooMany('1'), ok]);
    try {
      const res = await new ArcClient(s.url).request('chat.start', 'finance-agent', {}, { id: 'same-id' });
      expect(res.result).toEqual({ ok: true });
      expect(s.seen.map((x) => x.id)).toEqual(['same-id', 'same-id']);
      // Timer granularity: a few ms early at most.
      expect(s.seen[1]!.at - s.seen[0]!.at).toBeGreaterThanOrEqual(980);
    } finally {
      await s.close();
    }
  });

  it('always 429: the typed ArcResponseError -44007 after max retries (default 3, or as set)', async () => {
    const s = await scripted([tooMany('0')]);
    try {
      const err = (await rejection(new ArcClient(s.url).request('x', 'finance-agent', {}))) as ArcResponseError;
      expect(err).toBeInstanceOf(ArcResponseError);
      expect(err.code).toBe(-44007);
      expect(err.httpStatus).toBe(429);
      expect(err.retryAfter).toBe(0);
      expect(err.details).toEqual({ limit: 1, windowMs: 1000 });
      expect(s.seen).toHaveLength(4);

      s.seen.length = 0;
      const two = await rejection(new ArcClient(s.url, { retries: { max: 2 } }).request('x', 'finance-agent', {}));
      expect((two as ArcResponseError).code).toBe(-44007);
      expect(s.seen).toHaveLength(3);
    } finally {
      await s.close();
    }
  });

  it('retries: false (or max 0) → one request, the 429 thrown as it came', async () => {
    const s = await scripted([tooMany('0')]);
    try {
      const err = (await rejection(new ArcClient(s.url, { retries: false }).request('x', 'finance-agent', {}))) as ArcResponseError;
      expect(err).toBeInstanceOf(ArcResponseError);
      expect(err.code).toBe(-44007);
      expect(s.seen).toHaveLength(1);
      const again = await rejection(new ArcClient(s.url, { retries: { max: 0 } }).request('x', 'finance-agent', {}));
      expect(again).toBeInstanceOf(ArcResponseError);
      expect(s.seen).toHaveLength(2);
    } finally {
      await s.close();
    }
  });

  it('503 -41011 (at capacity: the handler never ran) is retried', async () => {
    const busy: Scripted = { status: 503, headers: { 'Retry-After': '0' }, error: { code: -41011, message: 'Agent at capacity' } };
    const s = await scripted([busy, ok]);
    try {
      await expect(new ArcClient(s.url).request('x', 'finance-agent', {})).resolves.toMatchObject({ result: { ok: true } });
      expect(s.seen).toHaveLength(2);
    } finally {
      await s.close();
    }
  });

  it.each<[string, Scripted]>([
    [
      '503 -41002 (state store unreachable: a write may have happened)',
      { status: 503, headers: { 'Retry-After': '0' }, error: { code: -41002, message: 'unavailable' } },
    ],
    ['500 -32603', { status: 500, error: { code: -32603, message: 'Internal error' } }],
    ['200 with a domain error', { status: 200, error: { code: -43001, message: 'Chat not found: c' } }],
    ['401 -44001', { status: 401, error: { code: -44001, message: 'Authentication failed' } }],
  ])('%s is not retried', async (_name, reply) => {
    const s = await scripted([reply, ok]);
    try {
      const err = (await rejection(new ArcClient(s.url).request('x', 'finance-agent', {}))) as ArcResponseError;
      expect(err.code).toBe(reply.error!.code);
      expect(s.seen).toHaveLength(1);
    } finally {
      await s.close();
    }
  });

  it('a Retry-After longer than maxDelayMs, or past the call timeout, is not waited for', async () => {
    const s = await scripted([tooMany('30'), ok]);
    try {
      const err = (await rejection(new ArcClient(s.url).request('x', 'finance-agent', {}))) as ArcResponseError;
      expect(err.retryAfter).toBe(30);
      expect(s.seen).toHaveLength(1);

      s.seen.length = 0;
      const c = new ArcClient(s.url, { retries: { maxDelayMs: 60_000 } });
      const late = (await rejection(c.request('x', 'finance-agent', {}, { timeoutMs: 2000 }))) as ArcResponseError;
      expect(late.code).toBe(-44007);
      expect(s.seen).toHaveLength(1);
    } finally {
      await s.close();
    }
  });

  it('an abort during the wait rejects with the reason at once and sends nothing more', async () => {
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    // Retry-After 60 s, allowed by the options: only the abort can end the wait early.
    const s = await scripted((n) => {
      if (n === 1) setTimeout(() => controller.abort(reason), 50);
      return n === 1 ? tooMany('60') : ok;
    });
    let guard: NodeJS.Timeout | undefined;
    try {
      const c = new ArcClient(s.url, { retries: { maxDelayMs: 120_000 }, timeoutMs: 120_000 });
      const ignored = new Promise((resolve) => {
        guard = setTimeout(() => resolve('the abort did not end the wait'), 20_000);
      });
      const err = await Promise.race([rejection(c.request('x', 'finance-agent', {}, { signal: controller.signal })), ignored]);
      expect(err).toBe(reason);
      expect(s.seen).toHaveLength(1);
    } finally {
      clearTimeout(guard);
      await s.close();
    }
  });

  it('a refused connection is retried: the second attempt reaches a server started after the first failed', async () => {
    const port = await freePort();
    let server: Awaited<ReturnType<typeof listenOn>> | undefined;
    let attempts = 0;
    const seen: Seen[] = [];
    // The provider runs before each attempt: its second call proves the first attempt failed.
    const tokenProvider = async (): Promise<string> => {
      attempts += 1;
      if (attempts === 2) server = await listenOn(port, seen);
      return `t${attempts}`;
    };
    try {
      const res = await new ArcClient(`http://127.0.0.1:${port}/arc`, { tokenProvider }).request('x', 'finance-agent', {});
      expect(res.result).toEqual({ ok: true });
      expect(attempts).toBe(2);
      expect(seen.map((x) => x.authorization)).toEqual(['Bearer t2']);
    } finally {
      await server?.close();
    }
  });

  it('a refused connection with retries off → ArcTransportError at once', async () => {
    const port = await freePort();
    const err = await rejection(new ArcClient(`http://127.0.0.1:${port}/arc`, { retries: false }).request('x', 'finance-agent', {}));
    expect(err).toBeInstanceOf(ArcTransportError);
    expect((err as Error).message).toContain('ECONNREFUSED');
  });
});

/** listenPlain on a given port (for the refused-connection test). */
async function listenOn(port: number, seen: Seen[]): Promise<{ close(): Promise<void> }> {
  const http = await import('node:http');
  const server = http.createServer((req, res) => answer(req, res, seen, () => ok));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('retryDelayMs and retryPolicy', () => {
  const envelope = (code: number, details: Record<string, unknown> = {}): ArcErrorResponse => ({
    arc: '1.0',
    id: 'r',
    responseAgent: 's',
    targetAgent: 'c',
    traceId: null,
    result: null,
    error: { code, message: 'm', details },
  });

  it('honours Retry-After in seconds or as an HTTP date, else details.retryAfterMs', () => {
    expect(retryDelayMs(new ArcResponseError(envelope(-44007), 429, '2'), 0)).toBe(2000);
    const date = new Date(Date.now() + 5000).toUTCString();
    const fromDate = retryDelayMs(new ArcResponseError(envelope(-44007), 429, date), 0)!;
    // HTTP dates have whole seconds.
    expect(fromDate).toBeGreaterThan(3000);
    expect(fromDate).toBeLessThanOrEqual(5000);
    expect(retryDelayMs(new ArcResponseError(envelope(-44007), 429, new Date(0).toUTCString()), 0)).toBe(0);
    expect(retryDelayMs(new ArcResponseError(envelope(-44007, { retryAfterMs: 1234 }), 429), 0)).toBe(1234);
  });

  it('backs off (doubling, jittered) when the server names no wait', () => {
    const refused = new ArcTransportError('refused', 'u', undefined, { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) });
    for (const [retry, low, high] of [
      [0, 50, 100],
      [2, 200, 400],
    ] as const) {
      const ms = retryDelayMs(refused, retry)!;
      expect(ms).toBeGreaterThanOrEqual(low);
      expect(ms).toBeLessThanOrEqual(high);
    }
    const noHeader = retryDelayMs(new ArcResponseError(envelope(-44007), 429), 1)!;
    expect(noHeader).toBeGreaterThanOrEqual(100);
    expect(noHeader).toBeLessThanOrEqual(200);
  });

  it('refuses to retry anything that may have done something', () => {
    const reset = new ArcTransportError('reset', 'u', undefined, { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) });
    expect(retryDelayMs(reset, 0)).toBeUndefined();
    expect(retryDelayMs(new ArcTransportError('html', 'u', 429), 0)).toBeUndefined();
    expect(retryDelayMs(new ArcResponseError(envelope(-41002), 503, '1'), 0)).toBeUndefined();
    expect(retryDelayMs(new ArcResponseError(envelope(-41011), 200, '1'), 0)).toBeUndefined();
    expect(retryDelayMs(new Error('boom'), 0)).toBeUndefined();
  });

  it('retryPolicy: defaults, off, and bad values', () => {
    expect(retryPolicy(undefined)).toEqual({ max: 3, maxDelayMs: 10_000 });
    expect(retryPolicy({ max: 5 })).toEqual({ max: 5, maxDelayMs: 10_000 });
    expect(retryPolicy(false)).toBeUndefined();
    expect(retryPolicy({ max: 0 })).toBeUndefined();
    expect(() => retryPolicy({ max: 1.5 })).toThrow(/retries.max/);
    expect(() => retryPolicy({ maxDelayMs: -1 })).toThrow(/retries.maxDelayMs/);
    expect(() => new ArcClient('http://127.0.0.1:1/arc', { retries: { max: -1 } })).toThrow(TypeError);
  });
});
