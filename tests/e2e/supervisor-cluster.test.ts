/**
 * The supervisor distributed: two supervisor replicas and two finance replicas behind the real
 * nginx gateway, all sharing chat state in Redis (the machine's, under this run's own key
 * prefix, deleted afterwards). nginx picks a replica per request, so one conversation's
 * requests reach both supervisors, each of which calls finance through the gateway
 * (ARC_GATEWAY_URL): every continuation must find its specialist from Redis alone.
 *
 * Needs nginx and Redis: without them the suite fails in CI and is skipped, saying so, elsewhere.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { suiteNeeding } from '@arc/devkit';
import { startCluster, startReplica, type Cluster, type Replica } from '../../scripts/lib/cluster.cjs';
import { servedBy } from './support/distributed-checks';
import { ROOT, arcRequest, userText } from './support/processes';
import { REDIS_URL, deleteKeysUnder, shortLivedClient, testKeyPrefix } from './support/redis';

const suite = suiteNeeding(['nginx', 'redis']);

suite('supervisor: two replicas route and continue conversations through nginx, sessions in Redis', () => {
  const prefix = testKeyPrefix();
  let cluster: Cluster;
  let redis: Redis;
  /** A short breaker reset, so that recovery after a specialist outage is seen within the test. */
  const clusterEnv = { REDIS_URL, REDIS_KEY_PREFIX: prefix, TASK_WORK_MS: '50', AGENT_CALL_BREAKER_RESET_MS: '1000' };
  /** Finance replicas this file restarted (stopped in afterAll). */
  const restarted: Replica[] = [];
  /** Every line the replicas wrote, by replica (bounded: the test sends a few hundred requests). */
  const output: Record<string, string[]> = {};

  beforeAll(async () => {
    redis = shortLivedClient();
    redis.on('error', () => undefined);
    await redis.connect();
    cluster = await startCluster({
      replicas: { supervisor: 2, finance: 2, hr: 1, support: 1 },
      env: clusterEnv,
      logLevel: 'info',
      onOutput: (name, text) => (output[name] ??= []).push(text),
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(restarted.map((r) => r.stop('SIGTERM')));
    await cluster?.stop();
    redis?.disconnect();
    await deleteKeysUnder(prefix).catch(() => -1);
  }, 60_000);

  const post = async (method: string, params: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    const res = await fetch(`${cluster.url}/arc/supervisor`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/arc+json' },
      body: JSON.stringify({ ...arcRequest(method, 'supervisor', params), ...extra }),
    });
    const text = await res.text();
    return {
      status: res.status,
      replica: servedBy(res.headers),
      text,
      json: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined,
    };
  };
  const reply = (json: any): string => json.result.chat.message.parts[0].content;
  const sessionOf = async (chatId: string) => {
    const state = await redis.hget(`${prefix}chat:supervisor:${chatId}`, 'state');
    return state === null ? undefined : (JSON.parse(state) as { agent: string; chatId: string });
  };

  it('20 conversations: routed once, continued by either supervisor, ended at the specialist too', async () => {
    const supervisors = new Set<string>();
    let crossed = 0;
    await Promise.all(
      Array.from({ length: 20 }, async (_, n) => {
        const served = new Set<string>();
        const start = await post('chat.start', { initialMessage: userText(`invoice question ${n}`) });
        expect(start.status).toBe(200);
        expect(reply(start.json)).toBe('I can help with invoice inquiries. Please provide invoice number.');
        served.add(start.replica);
        const chatId = start.json.result.chat.chatId as string;
        const session = await sessionOf(chatId);
        expect(session).toMatchObject({ agent: 'finance-agent', chatId: expect.stringMatching(/^chat-/) });
        for (let i = 1; i <= 3; i++) {
          // "salary" would route to HR; the conversation stays with finance.
          const msg = await post('chat.message', { chatId, message: userText(`salary INV-${n}-${i}`) });
          expect(msg.json.error).toBeNull();
          expect(msg.json.result.chat.chatId).toBe(chatId);
          expect(reply(msg.json)).toBe(`Processing your request: salary INV-${n}-${i}`);
          served.add(msg.replica);
        }
        const end = await post('chat.end', { chatId, reason: 'done' });
        expect(end.json.result.chat).toMatchObject({ chatId, status: 'CLOSED' });
        served.add(end.replica);
        expect(await redis.hget(`${prefix}chat:finance-agent:${session!.chatId}`, 'status')).toBe('CLOSED');
        for (const r of served) supervisors.add(r);
        if (served.size > 1) crossed++;
      }),
    );
    console.log(`supervisor: 20 conversations, ${crossed} continued on both replicas, replicas ${[...supervisors].join(' ')}`);
    expect(supervisors).toEqual(new Set(cluster.of('supervisor').map((r) => r.address)));
    expect(crossed).toBeGreaterThan(0);
  }, 60_000);

  it('an unknown supervisor chat is -43001', async () => {
    const res = await post('chat.message', { chatId: 'chat-never-started', message: userText('invoice') });
    expect(res.json.error).toMatchObject({ code: -43001, details: { chatId: 'chat-never-started' } });
  });

  it('relays a streamed chat.start and chat.message as SSE under the supervisor chatId', async () => {
    const start = await post('chat.start', { initialMessage: userText('payment status'), stream: true });
    expect(start.status).toBe(200);
    const frames = start.text.split('\n\n').filter(Boolean);
    expect(frames[0]).toMatch(/^event: stream\ndata: /);
    const first = JSON.parse(frames[0]!.split('\ndata: ')[1]!);
    const chatId = first.chatId as string;
    expect(first.message.parts[0].content).toBe("I can assist with payment processing. What's your payment ID?");
    expect(frames.at(-1)).toContain('event: done');
    expect(frames.at(-1)).toContain(`"chatId":"${chatId}"`);
    expect((await sessionOf(chatId))?.agent).toBe('finance-agent');
    const next = await post('chat.message', { chatId, message: userText('PAY-9'), stream: true });
    expect(next.text).toContain('Processing your request: PAY-9');
    expect(next.text).toContain(`"chatId":"${chatId}"`);
  });

  it.each(['chat_start.txt', 'chat_message.txt', 'chat_start_stream.txt', 'chat_message_stream.txt'])(
    "the Python client's captured %s, sent to the supervisor, gets an answer the client accepts",
    async (file) => {
      const text = readFileSync(join(ROOT, '..', 'shared', 'protocol', 'captures', file), 'latin1');
      const req = JSON.parse(
        text
          .split('=== REQUEST')[1]!
          .split('=== RESPONSE')[0]!
          .split('\r\n\r\n')[1]!
          .replace(/\r?\n$/, ''),
      );
      req.targetAgent = 'supervisor';
      if (req.method === 'chat.message') {
        // The captured chat id is not ours (and both message captures share one): open a chat
        // and send the captured request to it.
        const opened = await post('chat.start', { initialMessage: userText('invoice') });
        expect(opened.json.error).toBeNull();
        req.params.chatId = opened.json.result.chat.chatId;
      }
      const res = await fetch(`${cluster.url}/arc/supervisor`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/arc+json', 'User-Agent': 'arc-sdk-python' },
        body: JSON.stringify(req),
      });
      expect(res.status).toBe(200);
      if (req.params.stream) {
        const frames = (await res.text()).split('\n\n').filter(Boolean);
        expect(frames.some((f) => f.startsWith('event: stream\ndata: '))).toBe(true);
        expect(frames.at(-1)).toContain('event: done');
        expect(frames.at(-1)).toContain(`"requestId":"${req.id}"`);
      } else {
        const env: any = await res.json();
        expect(env).toMatchObject({ arc: '1.0', id: req.id, responseAgent: 'supervisor', error: null, result: { type: 'chat' } });
        if (req.traceId) expect(env.traceId).toBe(req.traceId);
      }
    },
  );

  it('forwards a task to the routed specialist and finds it again by its id on any replica', async () => {
    const created = await post('task.create', { initialMessage: userText('invoice report for INV-12345') });
    expect(created.json.error).toBeNull();
    const taskId = created.json.result.task.taskId as string;
    expect(taskId).toMatch(/^finance-agent~/);
    let info: any;
    for (let i = 0; i < 200; i++) {
      info = (await post('task.info', { taskId })).json;
      if (info.result?.task?.status === 'COMPLETED') break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(info.result.task).toMatchObject({ taskId, status: 'COMPLETED' });
    expect(JSON.stringify(info.result.task.artifacts)).toContain('invoice-summary');
  }, 30_000);

  it('carries the traceId from the caller through the supervisor to finance: one id in every log line', async () => {
    const traceId = `trace-sup-e2e-${Date.now()}`;
    const start = await post('chat.start', { initialMessage: userText('budget review') }, { traceId });
    expect(start.json.traceId).toBe(traceId);
    const lines = (name: string) =>
      Object.entries(output)
        .filter(([n]) => n.startsWith(name))
        .flatMap(([, texts]) => texts.join('').split('\n'))
        .filter((l) => l.includes(traceId));
    // The access log line of the supervisor, and of the finance replica it called (written as
    // the answers go out, and read from the processes' pipes: wait for them, bounded).
    const logged = () =>
      lines('supervisor').some((l) => /"agent":"supervisor"/.test(l) && /"method":"chat.start"/.test(l)) &&
      lines('finance').some((l) => /"agent":"finance-agent"/.test(l) && /"method":"chat.start"/.test(l));
    for (const until = Date.now() + 5_000; !logged() && Date.now() < until;) await new Promise((r) => setTimeout(r, 20));
    expect(lines('supervisor').join('\n')).toContain('"agent":"supervisor"');
    expect(lines('finance').join('\n')).toContain('"agent":"finance-agent"');
  });

  // Last: it takes finance away and brings it back.
  it('a specialist that is down: a clear ARC error within the call timeout, the breaker opens, and conversations recover after', async () => {
    const finance = cluster.of('finance');
    await Promise.all(finance.map((r) => r.stop('SIGTERM')));
    const outcomes: Array<{ code: number | undefined; message: string; ms: number }> = [];
    // Until both supervisors' breakers have opened. A breaker opens when more than half of the
    // calls of its last 10 s failed (at least 5), and the conversations above succeeded within
    // that window: it takes as many failures as there were successes, or the window to pass.
    const open = new Set<string>();
    for (const until = Date.now() + 30_000; open.size < 2 && Date.now() < until;) {
      const t0 = performance.now();
      const res = await post('chat.start', { initialMessage: userText('invoice while finance is down') });
      const message = String(res.json?.error?.message ?? '');
      outcomes.push({ code: res.json?.error?.code, message, ms: performance.now() - t0 });
      if (/^Circuit open/.test(message)) open.add(res.replica);
    }
    const byCode = outcomes.reduce<Record<string, number>>((m, o) => ((m[String(o.code)] = (m[String(o.code)] ?? 0) + 1), m), {});
    const slowest = Math.max(...outcomes.map((o) => o.ms));
    console.log(
      `finance down: ${outcomes.length} calls ${JSON.stringify(byCode)}, slowest ${Math.round(slowest)} ms, breaker open on ${open.size} supervisors`,
    );
    for (const o of outcomes) expect(o.code).toBe(-41003);
    expect(slowest).toBeLessThan(10_000); // AGENT_CALL_TIMEOUT_MS
    expect(open.size).toBe(2);
    expect(outcomes.find((o) => /^Circuit open/.test(o.message))?.message).toMatch(/finance-agent .*not called; tried again in 1 s/);

    // Finance back on the same addresses: nginx and the breaker let calls through again.
    for (const r of finance)
      restarted.push(await startReplica('finance', r.index, { port: r.port, env: { ...clusterEnv, ARC_GATEWAY_URL: cluster.url } }));
    let recovered: any;
    for (const until = Date.now() + 20_000; Date.now() < until;) {
      recovered = (await post('chat.start', { initialMessage: userText('invoice after the outage') })).json;
      if (recovered?.error === null) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(recovered.error).toBeNull();
    expect(reply(recovered)).toBe('I can help with invoice inquiries. Please provide invoice number.');
  }, 60_000);
});
