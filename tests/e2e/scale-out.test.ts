/**
 * Scale-out without sticky sessions: three finance replicas behind the real nginx gateway share
 * their chats through Redis (the machine's, 127.0.0.1:6379, under a key prefix of this run's
 * own that is deleted afterwards). nginx picks a replica per request (round robin, no
 * stickiness), so a conversation's requests land on different replicas, and every one of them
 * must work; so must every chat across a rolling restart and a crash of a replica.
 *
 * Needs nginx and Redis: without them the suite fails in CI and is skipped, saying so, elsewhere.
 */
import type { Redis } from 'ioredis';
import { noOpenConnectionsTo, suiteNeeding } from '@arc/devkit';
import { startCluster, startReplica, type Cluster, type Replica } from '../../scripts/lib/cluster.cjs';
import { ConversationLoad, conversation, countByReplica, finishChats, pool, send, type Sent } from './support/conversations';
import { REDIS_URL, deleteKeysUnder, shortLivedClient, testKeyPrefix } from './support/redis';

const suite = suiteNeeding(['nginx', 'redis']);

/** Replicas drain for at most this long on SIGTERM (nginx's upstream keepalive_timeout is shorter). */
const SHUTDOWN_GRACE_MS = 3000;
const FINANCE_REPLICAS = 3;

suite('scale-out: finance replicas share chats through Redis, behind nginx', () => {
  const prefix = testKeyPrefix();
  const env = { REDIS_URL, REDIS_KEY_PREFIX: prefix, SHUTDOWN_GRACE_MS: String(SHUTDOWN_GRACE_MS) };
  let cluster: Cluster;
  let redis: Redis;
  /** The finance replicas now running (a restarted one replaces its predecessor). */
  let finance: Replica[] = [];
  /** Every replica the tests started themselves, stopped in afterAll. */
  const started: Replica[] = [];
  const url = (): string => cluster.url;

  beforeAll(async () => {
    redis = shortLivedClient();
    redis.on('error', () => undefined);
    await redis.connect();
    cluster = await startCluster({ replicas: { finance: FINANCE_REPLICAS, hr: 1, support: 1 }, env });
    finance = cluster.of('finance');
  }, 60_000);

  afterAll(async () => {
    const results = await Promise.allSettled([cluster?.stop(), ...started.map((r) => r.stop('SIGTERM'))]);
    redis?.disconnect();
    const deleted = await deleteKeysUnder(prefix).catch(() => -1);
    console.log(`scale-out: deleted ${deleted} keys under ${prefix}`);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  }, 60_000);

  const hash = (chatId: string) => redis.hgetall(`${prefix}chat:finance-agent:${chatId}`);
  const ttl = (chatId: string) => redis.ttl(`${prefix}chat:finance-agent:${chatId}`);
  const failuresOf = (sent: Sent[]) =>
    sent.filter((s) => s.failure).map((s) => `${s.method} ${s.chatId ?? ''} via ${s.upstream}: ${s.failure}`);

  it('serves one chat from three replicas: chat.start, chat.message and chat.end each on another one', async () => {
    // Round robin gives consecutive requests to consecutive replicas; a few tries in case
    // something else moved it.
    let spread: Sent[] | undefined;
    for (let attempt = 0; attempt < 5 && !spread; attempt++) {
      const start = await send(url(), 'chat.start', undefined);
      expect(start.failure).toBeUndefined();
      const chatId = start.chatId!;
      // The chat is in Redis under the documented key, active, expiring after 24 h without use.
      expect(await hash(chatId)).toMatchObject({ chatId, agentId: 'finance-agent', status: 'ACTIVE' });
      const idle = await ttl(chatId);
      expect(idle).toBeGreaterThan(24 * 3600 - 120);
      expect(idle).toBeLessThanOrEqual(24 * 3600);

      const message = await send(url(), 'chat.message', chatId, 'INV-12345');
      expect(message.failure).toBeUndefined();
      const end = await send(url(), 'chat.end', chatId);
      expect(end.failure).toBeUndefined();
      // Closed atomically, remembered for 24 h.
      expect(await hash(chatId)).toMatchObject({ status: 'CLOSED', reason: '"done"' });
      const left = await ttl(chatId);
      expect(left).toBeGreaterThan(24 * 3600 - 120);
      expect(left).toBeLessThanOrEqual(24 * 3600);

      // Whoever gets the next message knows the chat is closed.
      const late = await send(url(), 'chat.message', chatId, 'one more');
      expect(late).toMatchObject({ status: 200, code: -43002 });

      const replicas = [start, message, end].map((s) => s.servedBy);
      console.log(
        `chat ${chatId}: start on ${replicas[0]}, message on ${replicas[1]}, end on ${replicas[2]}, late message on ${late.servedBy}`,
      );
      if (new Set(replicas).size === 3) spread = [start, message, end];
    }
    expect(spread).toBeDefined();
    for (const s of spread!) expect(finance.map((r) => r.address)).toContain(s.servedBy);
  });

  it('runs 200 conversations (start, 3 messages, end), 12 at a time, over all replicas without a failure', async () => {
    const log: Sent[] = [];
    const conversations = await pool(200, 12, () => conversation(url(), 3, log));
    const counts = countByReplica(log);
    const spanning = conversations.filter((steps) => new Set(steps.map((s) => s.servedBy)).size >= 2).length;
    console.log(
      `200 conversations: ${log.length} requests, ${failuresOf(log).length} failed, ` +
        `${spanning} conversations served by 2+ replicas, requests per replica ${JSON.stringify(counts)}`,
    );

    expect(failuresOf(log)).toEqual([]);
    expect(log).toHaveLength(200 * 5);
    // nginx chose the replica of every request: each one served a share, and most conversations
    // were served by more than one replica (all of them work: the state is shared).
    expect(Object.keys(counts).sort()).toEqual(finance.map((r) => r.address).sort());
    expect(spanning).toBeGreaterThanOrEqual(100);

    // Every chat is closed in Redis.
    const chatIds = conversations.map((steps) => steps[0]!.chatId!);
    expect(new Set(chatIds).size).toBe(200);
    const statuses = await Promise.all(chatIds.map((id) => redis.hget(`${prefix}chat:finance-agent:${id}`, 'status')));
    expect(new Set(statuses)).toEqual(new Set(['CLOSED']));
  }, 120_000);

  it('loses no request and no chat while every finance replica is restarted in turn (SIGTERM, same port)', async () => {
    // Six clients for the whole restart (a short pause between requests keeps the volume moderate).
    const load = new ConversationLoad(url(), { clients: 6, pauseMs: 5 }).start();
    const exits: Array<{ replica: string; code: number | null; signal: string | null; drainMs: number }> = [];
    try {
      await load.waitForRequests(60);
      for (let i = 0; i < finance.length; i++) {
        const old = finance[i]!;
        const t0 = performance.now();
        const { code, signal } = await old.stop('SIGTERM', 30_000);
        exits.push({ replica: old.address, code, signal, drainMs: Math.round(performance.now() - t0) });
        const fresh = await startReplica('finance', old.index, { port: old.port, env });
        started.push(fresh);
        finance[i] = fresh;
        // Back in nginx's rotation (after its fail_timeout for the refused connections) before
        // the next one goes down.
        const back = performance.now();
        await load.waitUntil(
          () => load.log.some((s) => s.startedAt > back && s.servedBy === fresh.address && !s.failure),
          30_000,
          `request served by the restarted ${fresh.address}`,
        );
      }
      await load.waitForRequests(60);
    } finally {
      await load.stop();
    }
    const finished = await finishChats(url(), load.chats);
    const open = [...load.chats.values()].filter((s) => s !== 'closed').length;
    console.log(
      `rolling restart: ${load.log.length} requests, ${failuresOf(load.log).length} failed, ${load.chats.size} chats ` +
        `(${finished.sent.length} requests to continue and end the open ones, ${finished.lost.length} lost), ` +
        `exits ${JSON.stringify(exits)}, requests per replica ${JSON.stringify(countByReplica(load.log))}`,
    );

    expect(exits.map((e) => [e.code, e.signal])).toEqual(finance.map(() => [0, null]));
    expect(failuresOf(load.log)).toEqual([]);
    expect(finished.lost).toEqual([]);
    expect(failuresOf(finished.sent)).toEqual([]);
    expect(open).toBe(0);
    // Every chat of the load is closed in Redis.
    const statuses = await Promise.all([...load.chats.keys()].map((id) => redis.hget(`${prefix}chat:finance-agent:${id}`, 'status')));
    expect(new Set(statuses)).toEqual(new Set(['CLOSED']));
  }, 180_000);

  it('keeps every chat usable from the other replicas when one is SIGKILLed mid-load', async () => {
    const victim = finance[0]!;
    const load = new ConversationLoad(url(), { clients: 6 }).start();
    let deadAt = 0;
    try {
      await load.waitForRequests(60);
      await victim.stop('SIGKILL');
      // Gone for the gateway once nginx has closed its kept-alive connections to it (until its
      // event loop has seen their close, it may still write a request on one).
      await noOpenConnectionsTo(victim.address);
      deadAt = performance.now();
      await load.waitForRequests(150);
    } finally {
      await load.stop();
    }
    const failures = load.failures();
    const after = load.log.filter((s) => s.startedAt > deadAt);
    const finished = await finishChats(url(), load.chats);
    console.log(
      `SIGKILL of ${victim.address}: ${load.log.length} requests, ${failures.length} failed ` +
        `(${failures.map((f) => `${f.method} ${f.status} ${f.code ?? f.failure}`).join(', ') || 'none'}), ` +
        `${after.length} started after it, served after it by ${JSON.stringify(countByReplica(after))}; ` +
        `${load.chats.size} chats, ${finished.sent.length} requests to continue and end the open ones, ${finished.lost.length} lost`,
    );

    // Only requests nginx had already written to the victim may fail — at most one per client —
    // as an ARC 502 -41003, and never a request started once it was gone.
    expect(failures.length).toBeLessThanOrEqual(load.clients);
    for (const f of failures) {
      expect(f).toMatchObject({ status: 502, code: -41003, servedBy: victim.address });
      expect(f.startedAt).toBeLessThan(deadAt);
    }
    expect(failuresOf(after)).toEqual([]);
    expect(Object.keys(countByReplica(after))).not.toContain(victim.address);
    expect(Object.keys(countByReplica(after)).length).toBe(FINANCE_REPLICAS - 1);
    // Every chat, including those the victim started or was serving, goes on elsewhere.
    expect(finished.lost).toEqual([]);
    expect(failuresOf(finished.sent)).toEqual([]);
    expect(Object.keys(countByReplica(finished.sent))).not.toContain(victim.address);
    expect(cluster.gateway.isRunning()).toBe(true);
  }, 120_000);
});
