/**
 * RedisChatStore against a Redis that hangs, dies and comes back. The test runs its own
 * redis-server (no persistence) on a port the OS picked, so it can SIGSTOP / SIGKILL it
 * without touching any shared Redis.
 *
 * What must hold: while Redis is unusable every operation rejects in bounded time (no hang, no
 * crash, nothing queued); the router turns that into -41002 / 503 with retryAfter and /health
 * into 503; when redis-server is back the same store recovers by itself.
 *
 * Set ARC_REDIS_TIMINGS=1 to print the measured timings.
 */
import { findRedisServer, freePort, startRedisServer, suiteNeeding, type RedisServer } from '@arc/devkit';
import { Redis } from 'ioredis';
import { createArcServer, type ArcServer } from '../../src/express/server';
import { RedisChatStore } from '../../src/redis';
import { ArcAgent } from '../../src/router/agent';
import { ArcRouter, type ArcReply } from '../../src/router/router';
import type { ChatRecord } from '../../src/state/chat-store';
import { recordingLogger } from '../support/recording-logger';

/** A bounded operation must settle well within this (1 s connect wait + 1 s command timeout at most). */
const HANG_LIMIT_MS = 3000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A private redis-server (no persistence) on `port`, resolved once it accepts connections. */
const startRedis = (port: number): Promise<RedisServer> => startRedisServer({ binary: findRedisServer(), port });

async function kill(server: RedisServer | undefined): Promise<void> {
  await server?.stop('SIGKILL');
}

/** How an operation settled, and when; 'hung' if it did not settle within `limitMs`. */
async function settle(
  op: Promise<unknown>,
  limitMs = HANG_LIMIT_MS,
): Promise<{ outcome: 'resolved' | 'rejected' | 'hung'; ms: number; error?: Error }> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((r) => {
    timer = setTimeout(() => r('hung'), limitMs);
  });
  try {
    const r = await Promise.race([op.then(() => 'resolved' as const), hung]);
    return { outcome: r, ms: performance.now() - start };
  } catch (err) {
    return { outcome: 'rejected', ms: performance.now() - start, error: err as Error };
  } finally {
    clearTimeout(timer);
  }
}

const timings: string[] = [];
function note(what: string, ms: number): void {
  timings.push(`${what}: ${Math.round(ms)} ms`);
}

function chat(chatId: string): ChatRecord {
  const now = new Date().toISOString();
  return { chatId, agentId: 'outage-agent', requestAgent: 'tester', status: 'ACTIVE', createdAt: now, updatedAt: now };
}

function chatStart(id: string, chatId?: string): Record<string, unknown> {
  return {
    arc: '1.0',
    id,
    method: 'chat.start',
    requestAgent: 'tester',
    targetAgent: 'outage-agent',
    params: { initialMessage: { role: 'user', parts: [{ type: 'TextPart', content: 'hello' }] }, ...(chatId ? { chatId } : {}) },
  };
}

async function json(
  p: Promise<ArcReply>,
): Promise<{ status: number; body: { result: unknown; error: { code: number } | null }; retryAfter?: number }> {
  const r = await p;
  if (r.kind !== 'json') throw new Error('expected a JSON reply');
  return r as never;
}

const describeIfRedis = suiteNeeding(['redis-server']);

describeIfRedis('RedisChatStore when Redis hangs, dies and comes back', () => {
  let port: number;
  let redis: RedisServer | undefined;
  let store: RedisChatStore;
  const recorder = recordingLogger();
  const log = recorder.lines;
  let router: ArcRouter;
  let server: ArcServer | undefined;
  let healthUrl: string;

  beforeAll(async () => {
    port = await freePort();
    redis = await startRedis(port);
    store = new RedisChatStore({ url: `redis://127.0.0.1:${port}`, keyPrefix: 'outage:', logger: recorder });
    router = new ArcRouter({ serverId: 'outage-server', chatStore: store });
    router.addAgent(new ArcAgent('outage-agent').on('chat.start', async () => 'hi').on('chat.message', async () => 'ok'));
    // An HTTP server with its own store, for /health (closing it disposes that store).
    server = createArcServer({ serverId: 'outage-http', chatStore: new RedisChatStore({ url: `redis://127.0.0.1:${port}` }) });
    const addr = await server.listen(0, '127.0.0.1');
    healthUrl = `${addr.url}/health`;
  });

  afterAll(async () => {
    await server?.close({ graceMs: 0 });
    await store?.dispose();
    await kill(redis);
    if (process.env.ARC_REDIS_TIMINGS === '1') process.stderr.write(`redis outage timings:\n  ${timings.join('\n  ')}\n`);
  });

  it('serves while Redis is up', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
    await expect(store.create(chat('up-1'))).resolves.toBe(true);
    expect((await store.get('outage-agent', 'up-1'))?.status).toBe('ACTIVE');
    await expect(store.close('outage-agent', 'up-1', null, new Date().toISOString())).resolves.toMatchObject({ ok: true });
    const reply = await json(router.handle(chatStart('r-up', 'up-2')));
    expect(reply.status).toBe(200);
    expect(reply.body.error).toBeNull();
    expect((await fetch(healthUrl)).status).toBe(200);
  });

  it('a hung Redis (SIGSTOP) makes operations time out instead of hanging, and they work after SIGCONT', async () => {
    redis?.kill('SIGSTOP');
    try {
      for (const [name, op] of [
        ['get', () => store.get('outage-agent', 'up-2')],
        ['create', () => store.create(chat('hung-1'))],
        ['close', () => store.close('outage-agent', 'up-2', null, new Date().toISOString())],
        ['ping', () => store.ping()],
      ] as const) {
        const r = await settle(op());
        note(`hung redis: ${name} rejected after`, r.ms);
        expect(r.outcome).toBe('rejected');
        expect(r.error?.message).toMatch(new RegExp(`^Redis chat store ${name} failed: .*(timed out|no answer)`));
      }
      const health = await fetch(healthUrl);
      expect(health.status).toBe(503);
    } finally {
      redis?.kill('SIGCONT');
    }
    await expect(store.ping()).resolves.toBeUndefined();
    expect((await store.get('outage-agent', 'up-2'))?.status).toBeDefined();
  });

  it('an operation in flight when Redis dies rejects on the connection loss (not resent, no timeout wait)', async () => {
    const slow = new RedisChatStore({ url: `redis://127.0.0.1:${port}`, keyPrefix: 'outage:', commandTimeoutMs: 20_000 });
    try {
      await slow.ping();
      redis?.kill('SIGSTOP');
      const inFlight = settle(slow.get('outage-agent', 'up-2'), 10_000);
      await sleep(200);
      await kill(redis);
      const r = await inFlight;
      note('in-flight get rejected after kill (incl. 200 ms before the kill)', r.ms);
      expect(r.outcome).toBe('rejected');
      expect(r.error?.message).not.toMatch(/timed out|no answer/);
    } finally {
      await slow.dispose();
    }
  });

  it('while Redis is down every operation and ping reject promptly, and nothing crashes', async () => {
    expect(redis?.child.signalCode).toBe('SIGKILL');
    for (const [name, op] of [
      ['create', () => store.create(chat('down-1'))],
      ['get', () => store.get('outage-agent', 'up-2')],
      ['close', () => store.close('outage-agent', 'up-2', 'r', new Date().toISOString())],
      ['delete', () => store.delete('outage-agent', 'up-2')],
      ['ping', () => store.ping()],
    ] as const) {
      const r = await settle(op());
      note(`redis down: ${name} rejected after`, r.ms);
      expect(r.outcome).toBe('rejected');
      expect(r.error?.message).toMatch(new RegExp(`^Redis chat store ${name} failed: `));
      // Refused at once because the connection is down (nothing queued), not after a timeout.
      expect(r.error?.message).not.toMatch(/timed out|no answer/);
    }
    // The connection loss was logged once as a warning, not once per reconnect attempt.
    await sleep(1000);
    expect(log.filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(log.find((l) => l.level === 'warn')?.message).toMatch(/connection lost/);
  });

  it('while Redis is down chat.start is -41002 with HTTP 503 and retryAfter, and /health is 503', async () => {
    const start = await json(router.handle(chatStart('r-down')));
    expect(start.status).toBe(503);
    expect(start.body.error?.code).toBe(-41002);
    expect(start.retryAfter).toBe(1);

    const message = await json(
      router.handle({
        ...chatStart('r-down-2'),
        method: 'chat.message',
        params: { chatId: 'up-2', message: { role: 'user', parts: [{ type: 'TextPart', content: 'x' }] } },
      }),
    );
    expect(message.status).toBe(503);
    expect(message.body.error?.code).toBe(-41002);

    const health = await fetch(healthUrl);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'unavailable' });
  });

  it('recovers by itself once redis-server is back on the same port', async () => {
    redis = await startRedis(port);
    const started = performance.now();
    let recovered = false;
    while (!recovered && performance.now() - started < 15_000) {
      recovered = (await settle(store.ping())).outcome === 'resolved';
      if (!recovered) await sleep(100);
    }
    note('store ping ok again after redis-server was ready', performance.now() - started);
    expect(recovered).toBe(true);
    expect(log.filter((l) => l.level === 'info').map((l) => l.message)).toContain('redis chat store: connection restored');

    // The new server has no data and no cached scripts (the store falls back to EVAL).
    await expect(store.get('outage-agent', 'up-2')).resolves.toBeUndefined();
    await expect(store.create(chat('back-1'))).resolves.toBe(true);
    expect((await store.get('outage-agent', 'back-1'))?.status).toBe('ACTIVE');
    await expect(store.close('outage-agent', 'back-1', 'done', new Date().toISOString())).resolves.toMatchObject({ ok: true });

    const reply = await json(router.handle(chatStart('r-back', 'back-2')));
    expect(reply.status).toBe(200);
    expect(reply.body.error).toBeNull();

    let healthy = false;
    const t = performance.now();
    while (!healthy && performance.now() - t < 15_000) {
      healthy = (await fetch(healthUrl)).status === 200;
      if (!healthy) await sleep(100);
    }
    expect(healthy).toBe(true);

    const check = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
    try {
      expect(await check.hget('outage:chat:outage-agent:back-2', 'status')).toBe('ACTIVE');
    } finally {
      await check.quit();
    }
  });
});
