/**
 * The ChatStore contract, run against every implementation (chat-store-contract.test.ts):
 * whatever the store, the chat lifecycle must see the same behaviour.
 */
import type { ChatRecord, ChatStore } from '../../src/state/chat-store';

export interface ContractStoreOptions {
  /** Set by the expiry tests only; other tests use the store's defaults (24 h). */
  closedTtlSeconds?: number;
  idleTtlSeconds?: number;
}

export interface ContractExtras {
  /**
   * The remaining time to live of a chat in seconds as the backend reports it (Redis TTL:
   * -1 no expiry, -2 no such key). Stores without a native TTL leave it out.
   */
  ttlSeconds?: (store: ChatStore, agentId: string, chatId: string) => Promise<number>;
  /** True when stores from makeStore share their data (one Redis): then closers race from separate instances. */
  sharedBackend?: boolean;
}

let seq = 0;
/** Ids unique within the run, so tests never see each other's chats. */
function uid(label: string): string {
  seq += 1;
  return `${label}-${process.pid}-${seq}-${Math.random().toString(36).slice(2, 8)}`;
}

function record(agentId: string, chatId: string, extra: Partial<ChatRecord> = {}): ChatRecord {
  const now = new Date().toISOString();
  return { chatId, agentId, requestAgent: 'contract-client', status: 'ACTIVE', createdAt: now, updatedAt: now, ...extra };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function describeChatStoreContract(
  name: string,
  makeStore: (options: ContractStoreOptions) => ChatStore | Promise<ChatStore>,
  cleanup: (store: ChatStore) => void | Promise<void>,
  extras: ContractExtras = {},
): void {
  describe(`ChatStore contract: ${name}`, () => {
    const made: ChatStore[] = [];
    const open = async (options: ContractStoreOptions = {}): Promise<ChatStore> => {
      const store = await makeStore(options);
      made.push(store);
      return store;
    };
    let store: ChatStore;
    let agent: string;

    beforeEach(async () => {
      store = await open();
      agent = uid('agent');
    });

    afterEach(async () => {
      for (const s of made.splice(0)) await cleanup(s);
    });

    it('creates a chat and gets it back unchanged', async () => {
      const chat = record(agent, uid('chat'));
      await expect(store.create(chat)).resolves.toBe(true);
      const got = await store.get(agent, chat.chatId);
      expect(got).toStrictEqual(chat);
      expect(got).not.toHaveProperty('closedAt');
      expect(got).not.toHaveProperty('reason');
      expect(got).not.toHaveProperty('metadata');
    });

    it('get of an unknown chat resolves undefined', async () => {
      await expect(store.get(agent, uid('nope'))).resolves.toBeUndefined();
    });

    it('refuses a duplicate create and keeps the first record', async () => {
      const chat = record(agent, uid('chat'), { requestAgent: 'first' });
      await expect(store.create(chat)).resolves.toBe(true);
      await expect(store.create({ ...chat, requestAgent: 'second', metadata: { x: 1 } })).resolves.toBe(false);
      const got = await store.get(agent, chat.chatId);
      expect(got?.requestAgent).toBe('first');
      expect(got).not.toHaveProperty('metadata');
    });

    it('returns copies: mutating a returned record does not change the store', async () => {
      const chat = record(agent, uid('chat'), { metadata: { n: 1 } });
      await store.create(chat);
      chat.status = 'CLOSED';
      const got = await store.get(agent, chat.chatId);
      expect(got?.status).toBe('ACTIVE');
      if (got) got.requestAgent = 'changed';
      expect((await store.get(agent, chat.chatId))?.requestAgent).toBe('contract-client');
    });

    it('closes an active chat: status, closedAt, updatedAt and reason', async () => {
      const chat = record(agent, uid('chat'), { createdAt: '2020-01-01T00:00:00.000Z', updatedAt: '2020-01-01T00:00:00.000Z' });
      await store.create(chat);
      const closedAt = new Date().toISOString();
      const outcome = await store.close(agent, chat.chatId, 'done here', closedAt);
      const expected: ChatRecord = { ...chat, status: 'CLOSED', closedAt, updatedAt: closedAt, reason: 'done here' };
      expect(outcome).toStrictEqual({ ok: true, chat: expected });
      expect(await store.get(agent, chat.chatId)).toStrictEqual(expected);
    });

    it('keeps a null reason as null (not undefined, not "null")', async () => {
      const chat = record(agent, uid('chat'));
      await store.create(chat);
      const outcome = await store.close(agent, chat.chatId, null, new Date().toISOString());
      expect(outcome.ok).toBe(true);
      if (outcome.ok) expect(outcome.chat.reason).toBeNull();
      const got = await store.get(agent, chat.chatId);
      expect(got).toHaveProperty('reason', null);
    });

    it('a second close is already-closed and changes nothing', async () => {
      const chat = record(agent, uid('chat'));
      await store.create(chat);
      const first = await store.close(agent, chat.chatId, 'first', '2030-01-01T00:00:00.000Z');
      expect(first.ok).toBe(true);
      const before = await store.get(agent, chat.chatId);
      await expect(store.close(agent, chat.chatId, 'second', '2030-01-02T00:00:00.000Z')).resolves.toStrictEqual({
        ok: false,
        reason: 'already-closed',
      });
      expect(await store.get(agent, chat.chatId)).toStrictEqual(before);
    });

    it('closing an unknown chat is not-found and creates nothing', async () => {
      const chatId = uid('nope');
      await expect(store.close(agent, chatId, null, new Date().toISOString())).resolves.toStrictEqual({ ok: false, reason: 'not-found' });
      await expect(store.get(agent, chatId)).resolves.toBeUndefined();
    });

    it('a closed chat cannot be created again', async () => {
      const chat = record(agent, uid('chat'));
      await store.create(chat);
      await store.close(agent, chat.chatId, null, new Date().toISOString());
      await expect(store.create(record(agent, chat.chatId))).resolves.toBe(false);
      expect((await store.get(agent, chat.chatId))?.status).toBe('CLOSED');
    });

    it('deletes a chat; the id can then be created again; deleting an unknown chat is fine', async () => {
      const chat = record(agent, uid('chat'));
      await store.create(chat);
      await store.delete(agent, chat.chatId);
      await expect(store.get(agent, chat.chatId)).resolves.toBeUndefined();
      await expect(store.close(agent, chat.chatId, null, new Date().toISOString())).resolves.toStrictEqual({
        ok: false,
        reason: 'not-found',
      });
      await expect(store.create(chat)).resolves.toBe(true);
      await expect(store.delete(agent, uid('nope'))).resolves.toBeUndefined();
    });

    it('namespaces chats by agent: one chatId at two agents is two chats', async () => {
      const other = uid('other-agent');
      const chatId = uid('chat');
      await expect(store.create(record(agent, chatId, { requestAgent: 'to-agent' }))).resolves.toBe(true);
      await expect(store.create(record(other, chatId, { requestAgent: 'to-other' }))).resolves.toBe(true);
      expect((await store.get(agent, chatId))?.requestAgent).toBe('to-agent');
      expect((await store.get(other, chatId))?.requestAgent).toBe('to-other');

      expect((await store.close(agent, chatId, null, new Date().toISOString())).ok).toBe(true);
      expect((await store.get(other, chatId))?.status).toBe('ACTIVE');
      expect((await store.close(other, chatId, null, new Date().toISOString())).ok).toBe(true);

      await store.delete(agent, chatId);
      await expect(store.get(agent, chatId)).resolves.toBeUndefined();
      expect((await store.get(other, chatId))?.status).toBe('CLOSED');
    });

    it('does not confuse ids that contain the separator', async () => {
      // agent "<a>:b" + chat "c" and agent "<a>" + chat "b:c" must be two chats.
      await expect(store.create(record(`${agent}:b`, 'c', { requestAgent: 'one' }))).resolves.toBe(true);
      await expect(store.create(record(agent, 'b:c', { requestAgent: 'two' }))).resolves.toBe(true);
      expect((await store.get(`${agent}:b`, 'c'))?.requestAgent).toBe('one');
      expect((await store.get(agent, 'b:c'))?.requestAgent).toBe('two');
      await expect(store.create(record(`${agent}%3Ab`, 'c'))).resolves.toBe(true);
      expect((await store.get(`${agent}:b`, 'c'))?.requestAgent).toBe('one');
    });

    it('round-trips metadata as JSON', async () => {
      const metadata = {
        text: 'héllo "quoted" \n 🚀',
        n: 42.5,
        neg: -1,
        yes: true,
        no: false,
        nothing: null,
        list: [1, 'two', { three: [3] }],
        nested: { deep: { deeper: { value: 'x' } } },
        empty: {},
      };
      const chat = record(agent, uid('chat'), { metadata });
      await store.create(chat);
      expect((await store.get(agent, chat.chatId))?.metadata).toStrictEqual(metadata);
      const outcome = await store.close(agent, chat.chatId, 'bye', new Date().toISOString());
      expect(outcome.ok && outcome.chat.metadata).toStrictEqual(metadata);
      expect((await store.get(agent, chat.chatId))?.metadata).toStrictEqual(metadata);
    });

    it('keeps active chats and closed chats within the TTL, forgets closed chats after it', async () => {
      const short = await open({ closedTtlSeconds: 1 });
      const active = record(agent, uid('active'));
      const closed = record(agent, uid('closed'));
      await short.create(active);
      await short.create(closed);
      expect((await short.close(agent, closed.chatId, null, new Date().toISOString())).ok).toBe(true);
      if (extras.ttlSeconds) {
        expect(await extras.ttlSeconds(short, agent, active.chatId)).toBeGreaterThan(24 * 60 * 60 - 60);
        const ttl = await extras.ttlSeconds(short, agent, closed.chatId);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(1);
      }
      expect((await short.get(agent, closed.chatId))?.status).toBe('CLOSED');

      await sleep(1500);

      await expect(short.get(agent, closed.chatId)).resolves.toBeUndefined();
      await expect(short.close(agent, closed.chatId, null, new Date().toISOString())).resolves.toStrictEqual({
        ok: false,
        reason: 'not-found',
      });
      expect((await short.get(agent, active.chatId))?.status).toBe('ACTIVE');
      if (extras.ttlSeconds) {
        expect(await extras.ttlSeconds(short, agent, closed.chatId)).toBe(-2);
        expect(await extras.ttlSeconds(short, agent, active.chatId)).toBeGreaterThan(0);
      }
      // Once forgotten, the id is free again.
      await expect(short.create(record(agent, closed.chatId))).resolves.toBe(true);
    });

    it('forgets an active chat after the idle TTL without use; a closed one keeps its own TTL', async () => {
      const short = await open({ idleTtlSeconds: 1 });
      const idle = record(agent, uid('idle'));
      const closed = record(agent, uid('closed'));
      await short.create(idle);
      await short.create(closed);
      expect((await short.close(agent, closed.chatId, null, new Date().toISOString())).ok).toBe(true);

      await sleep(1500);

      await expect(short.get(agent, idle.chatId)).resolves.toBeUndefined();
      await expect(short.touch(agent, idle.chatId)).resolves.toBeUndefined();
      expect((await short.get(agent, closed.chatId))?.status).toBe('CLOSED');
      // Once forgotten, the id is free again.
      await expect(short.create(record(agent, idle.chatId))).resolves.toBe(true);
    });

    it("keeps an agent's state with an active chat: get and touch return it, a new save replaces it", async () => {
      const chat = record(agent, uid('chat'));
      await store.create(chat);
      expect(await store.get(agent, chat.chatId)).not.toHaveProperty('state');
      const state = { agent: 'finance-agent', chatId: 'chat-1', n: 1, nested: { list: [1, 'two', null] } };
      await expect(store.saveState(agent, chat.chatId, state)).resolves.toBe('ok');
      expect((await store.get(agent, chat.chatId))?.state).toStrictEqual(state);
      expect((await store.touch(agent, chat.chatId))?.state).toStrictEqual(state);
      await expect(store.saveState(agent, chat.chatId, { n: 2 })).resolves.toBe('ok');
      expect((await store.get(agent, chat.chatId))?.state).toStrictEqual({ n: 2 });
      // The rest of the record is untouched.
      const { state: _, ...rest } = (await store.get(agent, chat.chatId))!;
      expect(rest).toStrictEqual(chat);
    });

    it('saves no state for an unknown or closed chat, and creates nothing', async () => {
      const missing = uid('nope');
      await expect(store.saveState(agent, missing, { a: 1 })).resolves.toBe('not-found');
      await expect(store.get(agent, missing)).resolves.toBeUndefined();
      const chat = record(agent, uid('chat'));
      await store.create(chat);
      await store.saveState(agent, chat.chatId, { a: 1 });
      await store.close(agent, chat.chatId, null, new Date().toISOString());
      await expect(store.saveState(agent, chat.chatId, { a: 2 })).resolves.toBe('closed');
      expect((await store.get(agent, chat.chatId))?.state).toStrictEqual({ a: 1 });
    });

    it('state is copied: changing a saved or returned state does not change the store', async () => {
      const chat = record(agent, uid('chat'));
      await store.create(chat);
      const state: Record<string, unknown> = { inner: { x: 1 } };
      await store.saveState(agent, chat.chatId, state);
      (state.inner as { x: number }).x = 2;
      const got = await store.get(agent, chat.chatId);
      (got!.state!.inner as { x: number }).x = 3;
      expect((await store.get(agent, chat.chatId))?.state).toStrictEqual({ inner: { x: 1 } });
    });

    it('touch returns the chat like get does', async () => {
      const chat = record(agent, uid('chat'), { metadata: { a: 1 } });
      await store.create(chat);
      await expect(store.touch(agent, chat.chatId)).resolves.toStrictEqual(chat);
      await expect(store.touch(agent, uid('nope'))).resolves.toBeUndefined();
      await store.close(agent, chat.chatId, 'bye', new Date().toISOString());
      expect((await store.touch(agent, chat.chatId))?.status).toBe('CLOSED');
    });

    const ttlSeconds = extras.ttlSeconds;
    if (ttlSeconds) {
      it('an active chat gets the idle TTL (24 h), a closed one the closed TTL (24 h)', async () => {
        const chat = record(agent, uid('chat'));
        await store.create(chat);
        const active = await ttlSeconds(store, agent, chat.chatId);
        expect(active).toBeGreaterThan(24 * 60 * 60 - 60);
        expect(active).toBeLessThanOrEqual(24 * 60 * 60);
        await store.close(agent, chat.chatId, null, new Date().toISOString());
        const ttl = await ttlSeconds(store, agent, chat.chatId);
        expect(ttl).toBeGreaterThan(24 * 60 * 60 - 60);
        expect(ttl).toBeLessThanOrEqual(24 * 60 * 60);
      });

      it('touch restarts the idle TTL of an active chat; get does not', async () => {
        const s = await open({ idleTtlSeconds: 4 });
        const used = record(agent, uid('used'));
        const read = record(agent, uid('read'));
        await s.create(used);
        await s.create(read);
        await sleep(1600);
        await s.touch(agent, used.chatId);
        await s.get(agent, read.chatId);
        // Read back at once: the touched chat has (about) the whole TTL again, the other ~1.6 s less.
        const usedTtl = await ttlSeconds(s, agent, used.chatId);
        const readTtl = await ttlSeconds(s, agent, read.chatId);
        expect(usedTtl).toBe(4);
        expect(readTtl).toBeLessThanOrEqual(3);
      });
    }

    it.each([2, 20])('of %i concurrent closers exactly one wins', async (n) => {
      const chat = record(agent, uid('chat'));
      await store.create(chat);
      // With a shared backend, half the closers are separate instances: closers on different replicas.
      const closers = await Promise.all(Array.from({ length: n }, (_, i) => (i % 2 === 1 && extras.sharedBackend ? open() : store)));
      const outcomes = await Promise.all(closers.map((s, i) => s.close(agent, chat.chatId, `closer-${i}`, new Date().toISOString())));
      const winners = outcomes.filter((o) => o.ok);
      expect(winners).toHaveLength(1);
      expect(outcomes.filter((o) => !o.ok)).toStrictEqual(Array.from({ length: n - 1 }, () => ({ ok: false, reason: 'already-closed' })));
      const winner = winners[0];
      const stored = await store.get(agent, chat.chatId);
      expect(stored?.status).toBe('CLOSED');
      expect(winner?.ok && winner.chat).toStrictEqual(stored);
    });

    it('of concurrent creators of one id exactly one wins', async () => {
      const chatId = uid('chat');
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => store.create(record(agent, chatId, { requestAgent: `creator-${i}` }))),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect((await store.get(agent, chatId))?.requestAgent).toBe(`creator-${winner}`);
    });

    it('ping resolves when the store can serve', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('dispose resolves and may be called twice', async () => {
      const s = await makeStore({});
      await expect(s.dispose()).resolves.toBeUndefined();
      await expect(s.dispose()).resolves.toBeUndefined();
    });
  });
}
