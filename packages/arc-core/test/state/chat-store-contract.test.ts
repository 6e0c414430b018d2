/**
 * Runs the ChatStore contract against MemoryChatStore and RedisChatStore.
 *
 * The Redis suite uses REDIS_URL (default redis://127.0.0.1:6379) under a key prefix unique to
 * this run, and deletes its keys afterwards. When Redis does not answer PING the suite is skipped
 * with a message, except in CI, where that is a failure (@arc/devkit's suiteNeeding).
 */
import { randomBytes } from 'node:crypto';
import { DEFAULT_REDIS_URL, redisAt, suiteNeeding, unmet } from '@arc/devkit';
import { Redis } from 'ioredis';
import { RedisChatStore } from '../../src/redis';
import type { ChatStore } from '../../src/state/chat-store';
import { MemoryChatStore } from '../../src/state/memory-chat-store';
import { describeChatStoreContract } from './chat-store.contract';

describeChatStoreContract(
  'MemoryChatStore',
  (options) => new MemoryChatStore(options),
  (store) => store.dispose(),
);

const REDIS_URL = process.env.REDIS_URL || DEFAULT_REDIS_URL;

const redisNeed = redisAt(REDIS_URL);

if (unmet([redisNeed]).length > 0) {
  // The one rule: skipped saying why, or failed in CI.
  suiteNeeding([redisNeed])('ChatStore contract: RedisChatStore', () => {
    it('needs a reachable Redis', () => undefined);
  });
} else {
  const keyPrefix = `arc-test:${randomBytes(6).toString('hex')}:`;
  let admin: Redis;

  beforeAll(() => {
    admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  });

  afterAll(async () => {
    const keys = await admin.keys(`${keyPrefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    expect(await admin.keys(`${keyPrefix}*`)).toEqual([]);
    await admin.quit();
  });

  describeChatStoreContract(
    'RedisChatStore',
    (options) => new RedisChatStore({ url: REDIS_URL, keyPrefix, ...options }),
    (store) => store.dispose(),
    {
      sharedBackend: true,
      ttlSeconds: (store: ChatStore, agentId, chatId) => admin.ttl((store as RedisChatStore).keyOf(agentId, chatId)),
    },
  );

  describe('RedisChatStore specifics', () => {
    let store: RedisChatStore;
    beforeEach(() => {
      store = new RedisChatStore({ url: REDIS_URL, keyPrefix });
    });
    afterEach(() => store.dispose());

    it('writes one hash per chat at <prefix>chat:<agentId>:<chatId>, with JSON reason and metadata', async () => {
      const now = new Date().toISOString();
      await store.create({
        chatId: 'chat-1',
        agentId: 'layout-agent',
        requestAgent: 'me',
        status: 'ACTIVE',
        createdAt: now,
        updatedAt: now,
        metadata: { a: 1 },
      });
      const key = `${keyPrefix}chat:layout-agent:chat-1`;
      expect(store.keyOf('layout-agent', 'chat-1')).toBe(key);
      expect(await admin.type(key)).toBe('hash');
      expect(await admin.hgetall(key)).toStrictEqual({
        chatId: 'chat-1',
        agentId: 'layout-agent',
        requestAgent: 'me',
        status: 'ACTIVE',
        createdAt: now,
        updatedAt: now,
        metadata: '{"a":1}',
      });
      await store.close('layout-agent', 'chat-1', null, now);
      expect(await admin.hget(key, 'reason')).toBe('null');
      expect(await admin.keys(`${keyPrefix}chat:layout-agent:*`)).toEqual([key]);
    });

    it('escapes ":" and "%" in ids', () => {
      expect(store.keyOf('a:b', 'c%d')).toBe(`${keyPrefix}chat:a%3Ab:c%25d`);
    });

    it('recovers when Redis forgot the Lua scripts (NOSCRIPT → EVAL)', async () => {
      // SCRIPT FLUSH is server-wide; it only costs other clients one EVAL each.
      await admin.script('FLUSH');
      const now = new Date().toISOString();
      await expect(
        store.create({ chatId: 'ns', agentId: 'noscript-agent', requestAgent: 'me', status: 'ACTIVE', createdAt: now, updatedAt: now }),
      ).resolves.toBe(true);
      await admin.script('FLUSH');
      await expect(store.close('noscript-agent', 'ns', 'r', now)).resolves.toMatchObject({ ok: true });
    });

    it('a wrong-type key is an error, not a crash or a wrong answer', async () => {
      await admin.set(store.keyOf('wrongtype-agent', 'x'), 'not a hash');
      await expect(store.get('wrongtype-agent', 'x')).rejects.toThrow(/Redis chat store get failed: WRONGTYPE/);
      await expect(store.close('wrongtype-agent', 'x', null, new Date().toISOString())).rejects.toThrow(/Redis chat store close failed/);
    });

    it('dispose leaves an injected client open and does not quit it', async () => {
      const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
      const injected = new RedisChatStore({ client, keyPrefix });
      await injected.ping();
      await injected.dispose();
      await expect(injected.ping()).rejects.toThrow(/disposed/);
      await expect(client.ping()).resolves.toBe('PONG');
      await client.quit();
    });

    it('refuses url and client together, and a non-positive TTL', () => {
      const client = new Redis(REDIS_URL, { lazyConnect: true });
      expect(() => new RedisChatStore({ client, url: REDIS_URL })).toThrow(TypeError);
      client.disconnect();
      expect(() => new RedisChatStore({ url: REDIS_URL, closedTtlSeconds: 0 })).toThrow(RangeError);
    });
  });
}
