/**
 * Issue 8, hole 1, on the Redis store: a streaming chat.start whose caller disconnects while the
 * service waits on Redis must give its concurrency slot back. Before the fix every such call
 * kept its slot forever and the agent answered -41011 to everyone after `maxConcurrentPerAgent`
 * of them. Redis answers through a proxy that holds each reply back 150 ms, and the client
 * disconnects as soon as the service's command has reached Redis, so the disconnect always
 * lands while the service waits.
 */
import http from 'node:http';
import { TEST_REDIS_URL, deleteKeysUnder, suiteNeeding, testKeyPrefix } from '@arc/devkit';
import { ArcAgent } from '../../src/router/agent';
import { createArcServer, type ArcServer } from '../../src/express/server';
import { RedisChatStore } from '../../src/redis';
import { delayingProxy, type DelayingProxy } from '../support/delaying-proxy';
import { postJson } from '../support/http';
import { envelope, sleep, userMessage } from '../support/util';

const suite = suiteNeeding(['redis']);

suite('a disconnect while the service waits on Redis frees the slot (Redis store)', () => {
  const keyPrefix = testKeyPrefix('arc-test-disc');
  const redis = new URL(TEST_REDIS_URL);
  let proxy: DelayingProxy;
  let server: ArcServer;
  let url: string;
  let store: RedisChatStore;
  let handlerCalls = 0;

  beforeAll(async () => {
    proxy = await delayingProxy(Number(redis.port || 6379), 150, redis.hostname);
    store = new RedisChatStore({ url: proxy.url, keyPrefix, commandTimeoutMs: 5000 });
    server = createArcServer({ serverId: 'disc', chatStore: store, maxConcurrentPerAgent: 3 });
    server.addAgent(
      new ArcAgent('agent-a').on('chat.start', async function* () {
        handlerCalls++;
        yield 'hello';
      }),
    );
    ({ url } = await server.listen(0, '127.0.0.1'));
    await store.ping();
  });

  afterAll(async () => {
    await server?.close({ graceMs: 0 });
    await proxy?.close();
    await deleteKeysUnder(keyPrefix);
  });

  /** Resolves true once no request holds a slot, false after `ms`. */
  async function slotsFree(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (server.router.inFlight > 0 && Date.now() < deadline) await sleep(10);
    return server.router.inFlight === 0;
  }

  it('20 streaming chat.starts cut while waiting on Redis leave no slot taken; the agent still answers', async () => {
    const body = JSON.stringify(envelope('chat.start', { initialMessage: userMessage('hi'), stream: true }, { targetAgent: 'agent-a' }));
    for (let i = 0; i < 20; i++) {
      const req = http.request(`${url}/arc`, { method: 'POST', agent: false, headers: { 'Content-Type': 'application/json' } });
      req.on('error', () => undefined);
      const reached = proxy.nextRequest();
      req.end(body);
      await reached; // the service's create is on its way to Redis: it is waiting now
      req.destroy();
      expect(server.router.inFlight).toBe(1);
      // Redis answers 150 ms later; then the slot must be free again (before the fix: never).
      expect(await slotsFree(3000)).toBe(true);
    }
    const after = await postJson(url, envelope('chat.start', { initialMessage: userMessage('still there?') }, { targetAgent: 'agent-a' }));
    expect(after.status).toBe(200);
    expect((after.json() as { error: unknown }).error).toBeNull();
    expect(handlerCalls).toBe(1); // only the last one: the cut streams were never read
  });
});
