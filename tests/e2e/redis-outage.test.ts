/**
 * Redis goes away under two finance replicas behind nginx, and comes back. The test runs its own
 * redis-server (nothing kept on disk) on a port the OS picked, so it can SIGKILL it without
 * touching the machine's Redis.
 *
 * What must hold while Redis is down: every ARC request gets a clear ARC error, -41002 with HTTP
 * 503 and Retry-After (through nginx too, after its one retry on the other replica, as JSON, not
 * an HTML error page), no request hangs (each answers within 3 s), /health is 503 while
 * /health/live stays 200, and no service process dies. When redis-server is back on the same
 * port the services recover by themselves within ~10 s.
 *
 * Needs nginx and redis-server: without them the suite fails in CI and is skipped, saying so,
 * elsewhere.
 */
import { findRedisServer, freePort, startRedisServer, suiteNeeding, type RedisServer } from '@arc/devkit';
import { startGateway, startReplica, type Gateway, type Replica } from '../../scripts/lib/cluster.cjs';
import { conversation, send, type Sent } from './support/conversations';
import { arcRequest, readAnswer, userText } from './support/processes';

const suite = suiteNeeding(['nginx', 'redis-server']);

/** No request may take longer than this while Redis is down. */
const ANSWER_WITHIN_MS = 3000;
/** The services must be back this soon after redis-server is (reconnect backoff is at most 2 s). */
const RECOVERY_WITHIN_MS = 10_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Answer {
  status: number;
  headers: Headers;
  json: any;
  text: string;
  ms: number;
}

/** POST an ARC request (or GET when `body` is undefined), failing if no answer comes within ANSWER_WITHIN_MS. */
async function call(url: string, body?: unknown): Promise<Answer> {
  const t0 = performance.now();
  const res = await fetch(url, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/arc+json' } }),
    signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
  }).catch((err: unknown) => {
    throw new Error(`${url}: no answer within ${ANSWER_WITHIN_MS} ms (${err instanceof Error ? err.message : String(err)})`);
  });
  return { ...(await readAnswer(res)), ms: performance.now() - t0 };
}

const startBody = () => arcRequest('chat.start', 'finance-agent', { initialMessage: userText('invoice') });
const messageBody = (chatId: string) => arcRequest('chat.message', 'finance-agent', { chatId, message: userText('INV-1') });
const endBody = (chatId: string) => arcRequest('chat.end', 'finance-agent', { chatId });

/** The ARC answer of a service that cannot reach its chat store. */
function expectUnavailable(a: Answer, what: string): void {
  expect({ what, status: a.status, contentType: a.headers.get('content-type'), retryAfter: a.headers.get('retry-after') }).toEqual({
    what,
    status: 503,
    contentType: expect.stringMatching(/^application\/json/),
    retryAfter: '1',
  });
  expect(a.json).toMatchObject({ arc: '1.0', result: null, responseAgent: 'finance-agent', error: { code: -41002 } });
  expect(a.json.error.message).toMatch(/temporarily unavailable/i);
}

suite('Redis outage under finance replicas behind nginx', () => {
  let redis: RedisServer | undefined;
  let port: number;
  let finance: Replica[] = [];
  let gateway: Gateway | undefined;
  let chatBefore: string;

  beforeAll(async () => {
    port = await freePort();
    redis = await startRedisServer({ binary: findRedisServer(), port });
    const env = { REDIS_URL: redis.url, SHUTDOWN_GRACE_MS: '3000' };
    finance = await Promise.all([1, 2].map((i) => startReplica('finance', i, { env })));
    gateway = await startGateway({ services: { finance: { servers: finance.map((r) => r.address), agents: ['finance-agent'] } } });
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await Promise.all(finance.map((r) => r.stop('SIGTERM')));
    await redis?.stop('SIGKILL');
  }, 30_000);

  it('serves conversations across both replicas while Redis is up', async () => {
    const steps = await conversation(gateway!.url, 1);
    expect(steps.filter((s) => s.failure)).toEqual([]);
    expect(new Set(steps.map((s) => s.servedBy)).size).toBe(2);
    const open = await send(gateway!.url, 'chat.start', undefined);
    expect(open.failure).toBeUndefined();
    chatBefore = open.chatId!;
  });

  it('answers -41002 / 503 with Retry-After, quickly, while Redis is down, and stays alive', async () => {
    const outageStart = performance.now();
    await redis!.stop('SIGKILL');
    const times: number[] = [];

    // Straight to each replica: every method that needs the chat store.
    for (const replica of finance) {
      for (const [what, body] of [
        ['chat.start', startBody()],
        ['chat.message', messageBody(chatBefore)],
        ['chat.end', endBody(chatBefore)],
      ] as const) {
        const a = await call(`${replica.url}/arc`, body);
        times.push(a.ms);
        expectUnavailable(a, `${what} on ${replica.name}`);
        expect(a.json.id).toBe(body.id);
      }
      // Readiness says "not ready", liveness "alive".
      const health = await call(`${replica.url}/health`);
      expect(health.status).toBe(503);
      expect(health.json).toMatchObject({ status: 'unavailable', reason: 'chat store unreachable' });
      expect((await call(`${replica.url}/health/live`)).status).toBe(200);
    }

    // Through nginx: the first replica's 503 is retried once on the other one, whose 503 (the
    // service's own ARC JSON) reaches the caller.
    const addresses = finance.map((r) => r.address).sort();
    for (let i = 0; i < 10; i++) {
      const a = await call(`${gateway!.url}/arc/finance`, startBody());
      times.push(a.ms);
      expectUnavailable(a, `chat.start #${i} through nginx`);
      const tried = (a.headers.get('x-upstream-addr') ?? '').split(' : ');
      expect(tried.sort()).toEqual(addresses);
    }
    // nginx's /health/<service>: the replica's 503, passed through as JSON.
    const viaGateway = await call(`${gateway!.url}/health/finance`);
    expect(viaGateway.status).toBe(503);
    expect(viaGateway.json).toMatchObject({ status: 'unavailable' });

    // A while later (the services keep reconnecting in the background), still the same answers
    // and both processes still up.
    await sleep(1500);
    for (const replica of finance) expectUnavailable(await call(`${replica.url}/arc`, startBody()), `${replica.name} after 1.5 s`);
    for (const replica of finance) expect(replica.isRunning()).toBe(true);
    expect(gateway!.isRunning()).toBe(true);
    console.log(
      `Redis down: ${times.length} requests answered -41002/503, slowest ${Math.round(Math.max(...times))} ms, ` +
        `outage so far ${Math.round(performance.now() - outageStart)} ms`,
    );
  }, 30_000);

  it('recovers by itself once redis-server is back on the same port', async () => {
    redis = await startRedisServer({ binary: findRedisServer(), port });
    const back = performance.now();
    const healthyAt: Record<string, number> = {};
    let conversationOk: Sent[] | undefined;
    while (performance.now() - back < RECOVERY_WITHIN_MS && (Object.keys(healthyAt).length < finance.length || !conversationOk)) {
      for (const replica of finance) {
        if (healthyAt[replica.name] === undefined && (await call(`${replica.url}/health`)).status === 200) {
          healthyAt[replica.name] = Math.round(performance.now() - back);
        }
      }
      if (Object.keys(healthyAt).length === finance.length && !conversationOk) {
        const steps = await conversation(gateway!.url, 2);
        if (steps.every((s) => !s.failure) && steps.length === 4) conversationOk = steps;
      }
      if (!conversationOk) await sleep(200);
    }
    const recoveredMs = Math.round(performance.now() - back);
    console.log(`Redis back: replicas healthy after ${JSON.stringify(healthyAt)} ms, a conversation worked after ${recoveredMs} ms`);
    expect(Object.keys(healthyAt).sort()).toEqual(finance.map((r) => r.name).sort());
    expect(conversationOk).toBeDefined();
    expect(new Set(conversationOk!.map((s) => s.servedBy)).size).toBe(2);

    // This redis-server kept nothing on disk, so the chat from before the outage is gone: the
    // services say so with -43001, they do not fail.
    const lost = await send(gateway!.url, 'chat.message', chatBefore, 'hello again');
    expect(lost).toMatchObject({ status: 200, code: -43001 });
    for (const replica of finance) expect(replica.isRunning()).toBe(true);
  }, 30_000);
});
