import { CLOSED_CHAT_TTL_SECONDS, ChatStoreFullError, type ChatRecord } from '../../src/state/chat-store';
import { MemoryChatStore } from '../../src/state/memory-chat-store';

const T0 = Date.parse('2025-01-01T00:00:00Z');

function record(chatId: string, agentId = 'agent-a', extra: Partial<ChatRecord> = {}): ChatRecord {
  const at = new Date(T0).toISOString();
  return { chatId, agentId, requestAgent: 'caller', status: 'ACTIVE', createdAt: at, updatedAt: at, ...extra };
}

describe('MemoryChatStore', () => {
  let clock: number;
  let store: MemoryChatStore;

  beforeEach(() => {
    clock = T0;
    store = new MemoryChatStore({ closedTtlSeconds: 60, now: () => clock });
  });

  afterEach(async () => {
    await store.dispose();
  });

  it('creates and gets a chat', async () => {
    expect(await store.create(record('c1', 'agent-a', { metadata: { k: 'v' } }))).toBe(true);
    expect(await store.get('agent-a', 'c1')).toEqual(record('c1', 'agent-a', { metadata: { k: 'v' } }));
    expect(await store.get('agent-a', 'nope')).toBeUndefined();
    expect(store.size).toBe(1);
  });

  it('refuses to create an existing id and changes nothing', async () => {
    await store.create(record('c1', 'agent-a', { requestAgent: 'first' }));
    expect(await store.create(record('c1', 'agent-a', { requestAgent: 'second' }))).toBe(false);
    expect((await store.get('agent-a', 'c1'))?.requestAgent).toBe('first');
  });

  it('stores and returns copies, not live references', async () => {
    const r = record('c1');
    await store.create(r);
    r.status = 'CLOSED';
    const got = await store.get('agent-a', 'c1');
    expect(got?.status).toBe('ACTIVE');
    got!.status = 'CLOSED';
    expect((await store.get('agent-a', 'c1'))?.status).toBe('ACTIVE');
  });

  it('closes a chat once; a second close is already-closed; unknown is not-found', async () => {
    await store.create(record('c1'));
    const closedAt = new Date(T0 + 1000).toISOString();
    const first = await store.close('agent-a', 'c1', 'done', closedAt);
    expect(first).toEqual({ ok: true, chat: { ...record('c1'), status: 'CLOSED', closedAt, updatedAt: closedAt, reason: 'done' } });
    expect(await store.close('agent-a', 'c1', 'again', closedAt)).toEqual({ ok: false, reason: 'already-closed' });
    expect(await store.close('agent-a', 'ghost', null, closedAt)).toEqual({ ok: false, reason: 'not-found' });
    expect((await store.get('agent-a', 'c1'))?.reason).toBe('done');
  });

  it('a closed chat cannot be created again while remembered', async () => {
    await store.create(record('c1'));
    await store.close('agent-a', 'c1', null, new Date(T0).toISOString());
    expect(await store.create(record('c1'))).toBe(false);
    expect((await store.get('agent-a', 'c1'))?.status).toBe('CLOSED');
  });

  it('deletes a chat', async () => {
    await store.create(record('c1'));
    await store.delete('agent-a', 'c1');
    expect(await store.get('agent-a', 'c1')).toBeUndefined();
    expect(await store.create(record('c1'))).toBe(true);
    await expect(store.delete('agent-a', 'never-existed')).resolves.toBeUndefined();
  });

  it('forgets a closed chat after the TTL, not before', async () => {
    await store.create(record('c1'));
    await store.close('agent-a', 'c1', null, new Date(T0).toISOString());
    clock = T0 + 59_999;
    expect((await store.get('agent-a', 'c1'))?.status).toBe('CLOSED');
    expect(await store.close('agent-a', 'c1', null, new Date(clock).toISOString())).toEqual({ ok: false, reason: 'already-closed' });
    clock = T0 + 60_000;
    expect(await store.get('agent-a', 'c1')).toBeUndefined();
    expect(await store.close('agent-a', 'c1', null, new Date(clock).toISOString())).toEqual({ ok: false, reason: 'not-found' });
    // Expired: the id is free again.
    expect(await store.create(record('c1'))).toBe(true);
  });

  it('expires an active chat after the idle TTL without use (default 24 h), not before', async () => {
    await store.create(record('c1'));
    clock = T0 + 24 * 3600 * 1000 - 1;
    expect((await store.get('agent-a', 'c1'))?.status).toBe('ACTIVE');
    clock = T0 + 24 * 3600 * 1000;
    expect(await store.get('agent-a', 'c1')).toBeUndefined();
    expect(store.activeChats('agent-a')).toBe(0);
    // Expired: the id is free again.
    expect(await store.create(record('c1'))).toBe(true);
  });

  it('touch() restarts the idle expiry of an active chat; get() does not', async () => {
    const s = new MemoryChatStore({ idleTtlSeconds: 10, now: () => clock });
    try {
      await s.create(record('used'));
      await s.create(record('read'));
      clock = T0 + 9_000;
      expect((await s.touch('agent-a', 'used'))?.status).toBe('ACTIVE');
      expect((await s.get('agent-a', 'read'))?.status).toBe('ACTIVE');
      clock = T0 + 18_000;
      expect(await s.get('agent-a', 'read')).toBeUndefined();
      expect((await s.get('agent-a', 'used'))?.status).toBe('ACTIVE');
      expect(await s.touch('agent-a', 'nope')).toBeUndefined();
      clock = T0 + 19_000;
      expect(await s.touch('agent-a', 'used')).toBeUndefined();
    } finally {
      await s.dispose();
    }
  });

  it('touch() does not prolong a closed chat', async () => {
    await store.create(record('c1'));
    await store.close('agent-a', 'c1', null, new Date(T0).toISOString());
    clock = T0 + 59_000;
    expect((await store.touch('agent-a', 'c1'))?.status).toBe('CLOSED');
    clock = T0 + 60_000;
    expect(await store.get('agent-a', 'c1')).toBeUndefined();
  });

  it('caps active chats per agent: create rejects with ChatStoreFullError; closing, deleting or expiry frees room', async () => {
    const s = new MemoryChatStore({ maxActivePerAgent: 2, idleTtlSeconds: 10, now: () => clock });
    try {
      await s.create(record('a'));
      await s.create(record('b'));
      await expect(s.create(record('c'))).rejects.toEqual(new ChatStoreFullError('agent-a', 2));
      // Another agent has its own budget; an existing id is still "exists", not "full".
      expect(await s.create(record('a', 'agent-b'))).toBe(true);
      expect(await s.create(record('a'))).toBe(false);
      await s.close('agent-a', 'a', null, new Date(clock).toISOString());
      expect(await s.create(record('c'))).toBe(true);
      await expect(s.create(record('d'))).rejects.toBeInstanceOf(ChatStoreFullError);
      await s.delete('agent-a', 'b');
      expect(await s.create(record('d'))).toBe(true);
      expect(s.activeChats('agent-a')).toBe(2);
      clock = T0 + 10_000; // both active chats expire; no sweep has run yet
      expect(await s.create(record('e'))).toBe(true);
      expect(s.activeChats('agent-a')).toBe(1);
    } finally {
      await s.dispose();
    }
  });

  it('sweep() drops expired chats: closed after the closed TTL, active after the idle TTL', async () => {
    const s = new MemoryChatStore({ closedTtlSeconds: 60, idleTtlSeconds: 100, now: () => clock });
    try {
      await s.create(record('open'));
      await s.create(record('old'));
      await s.create(record('recent'));
      await s.close('agent-a', 'old', null, new Date(T0).toISOString());
      await s.close('agent-a', 'recent', null, new Date(T0 + 50_000).toISOString());
      clock = T0 + 70_000;
      expect(s.size).toBe(3);
      s.sweep();
      expect(s.size).toBe(2);
      expect(await s.get('agent-a', 'open')).toBeDefined();
      expect(await s.get('agent-a', 'recent')).toBeDefined();
      clock = T0 + 100_000;
      s.sweep();
      expect(s.size).toBe(1);
      expect(await s.get('agent-a', 'open')).toBeUndefined();
      expect(s.activeChats('agent-a')).toBe(0);
    } finally {
      await s.dispose();
    }
  });

  it('the sweep timer runs on its own', async () => {
    const s = new MemoryChatStore({ closedTtlSeconds: 1, sweepIntervalMs: 10, now: () => clock });
    try {
      await s.create(record('c1'));
      await s.close('agent-a', 'c1', null, new Date(T0).toISOString());
      clock = T0 + 5000;
      expect(s.size).toBe(1);
      for (let i = 0; i < 100 && s.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(s.size).toBe(0);
    } finally {
      await s.dispose();
    }
  });

  it('namespaces chats by agent', async () => {
    expect(await store.create(record('same-id', 'agent-a', { requestAgent: 'x' }))).toBe(true);
    expect(await store.create(record('same-id', 'agent-b', { requestAgent: 'y' }))).toBe(true);
    expect((await store.get('agent-a', 'same-id'))?.requestAgent).toBe('x');
    expect((await store.get('agent-b', 'same-id'))?.requestAgent).toBe('y');
    await store.close('agent-a', 'same-id', null, new Date(T0).toISOString());
    expect((await store.get('agent-b', 'same-id'))?.status).toBe('ACTIVE');
    await store.delete('agent-b', 'same-id');
    expect((await store.get('agent-a', 'same-id'))?.status).toBe('CLOSED');
    expect(await store.get('agent-c', 'same-id')).toBeUndefined();
  });

  it('keeps agent/chat keys apart even when ids contain separators', async () => {
    await store.create(record('b:c', 'a'));
    expect(await store.get('a:b', 'c')).toBeUndefined();
  });

  it('remembers closed chats 24 h by default', async () => {
    expect(CLOSED_CHAT_TTL_SECONDS).toBe(86_400);
    const s = new MemoryChatStore({ now: () => clock });
    try {
      await s.create(record('c1'));
      await s.close('agent-a', 'c1', null, new Date(T0).toISOString());
      clock = T0 + 86_400_000 - 1;
      expect(await s.get('agent-a', 'c1')).toBeDefined();
      clock = T0 + 86_400_000;
      expect(await s.get('agent-a', 'c1')).toBeUndefined();
    } finally {
      await s.dispose();
    }
  });

  it('ping() resolves', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
  });
});
