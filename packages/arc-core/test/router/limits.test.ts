/**
 * Issue 8, holes 2, 3 and 7: what a client may send, and what the core keeps, logs and echoes of it.
 */
import { ArcErrorCode } from '../../src/errors/codes';
import { MAX_ID_LENGTH } from '../../src/protocol/limits';
import { ArcAgent } from '../../src/router/agent';
import { ArcRouter } from '../../src/router/router';
import { MemoryChatStore } from '../../src/state/memory-chat-store';
import { recordingLogger } from '../support/recording-logger';
import { envelope, jsonReply, userMessage } from '../support/util';

const routers: ArcRouter[] = [];
function newRouter(options: Partial<ConstructorParameters<typeof ArcRouter>[0]> = {}): ArcRouter {
  const r = new ArcRouter({ serverId: 'limits-server', ...options });
  r.addAgent(
    new ArcAgent('agent-a')
      .on('chat.start', () => 'hi')
      .on('chat.message', () => 'ok')
      .on('echo', (p) => p),
  );
  routers.push(r);
  return r;
}
afterAll(async () => {
  for (const r of routers) await r.chatStore.dispose();
});

const start = (params: Record<string, unknown> = {}, env: Record<string, unknown> = {}) =>
  envelope('chat.start', { initialMessage: userMessage('hello'), ...params }, env);
const MiB = 1024 * 1024;

describe('envelope strings are at most 256 characters (DECISIONS.md 12)', () => {
  it.each(['id', 'requestAgent', 'targetAgent', 'method', 'traceId'])(
    '%s of 257 characters → -32600 / 400 naming the field',
    async (field) => {
      const router = newRouter();
      const { status, body } = await jsonReply(router.handle(start({}, { [field]: 'x'.repeat(MAX_ID_LENGTH + 1) })));
      expect(status).toBe(400);
      expect(body.error.code).toBe(ArcErrorCode.InvalidRequest);
      expect(body.error.message).toBe(`${field} must be at most 256 characters`);
      expect(body.error.details).toEqual({ field });
    },
  );

  it('256 characters are accepted', async () => {
    const router = newRouter();
    const { status, body } = await jsonReply(
      router.handle(start({}, { id: 'i'.repeat(256), requestAgent: 'r'.repeat(256), traceId: 't'.repeat(256) })),
    );
    expect(status).toBe(200);
    expect(body.id).toBe('i'.repeat(256));
    expect(body.traceId).toBe('t'.repeat(256));
  });

  it('a 9 MiB targetAgent gets a small answer that does not echo it', async () => {
    const router = newRouter();
    const reply = await jsonReply(
      router.handle(start({}, { targetAgent: 'a'.repeat(9 * MiB), id: 'q'.repeat(MiB), traceId: 't'.repeat(MiB) })),
    );
    const text = JSON.stringify(reply.body);
    expect(reply.status).toBe(400);
    expect(text.length).toBeLessThan(1000);
    expect(reply.body.responseAgent).toBe('limits-server');
    expect(reply.body.id).toBeNull();
    expect(reply.body.traceId).toBeNull();
  });

  it('never logs more than a bounded prefix of a client string, nor an object id whole', async () => {
    const logger = recordingLogger();
    const router = newRouter({ logger });
    await router.handle(
      start({}, { id: 'q'.repeat(MiB), targetAgent: 'a'.repeat(MiB), traceId: 't'.repeat(MiB), method: 'm'.repeat(MiB) }),
    );
    await router.handle(start({}, { id: { nested: { deep: 'x'.repeat(MiB) } } }));
    await router.handle(start({}, { arc: 'v'.repeat(MiB) }));
    const logged = JSON.stringify(logger.lines);
    expect(logged.length).toBeLessThan(3000);
    const first = logger.lines[0]!.meta!;
    expect(first.id).toBe(`${'q'.repeat(64)}…(${MiB} chars)`);
    expect(first.agent).toBe(`${'a'.repeat(64)}…(${MiB} chars)`);
    expect(logger.lines[1]!.meta!.id).toBe('[object]');
  });

  it('an invalid arc version is named with a bounded prefix only', async () => {
    const router = newRouter();
    const { status, body } = await jsonReply(router.handle(start({}, { arc: 'v'.repeat(MiB) })));
    expect(status).toBe(400);
    expect(body.error.code).toBe(ArcErrorCode.InvalidArcVersion);
    expect(body.error.message.length).toBeLessThan(100);
  });
});

describe('what a chat stores is bounded (hole 2)', () => {
  it('chatId over 256 characters → -32602 naming params.chatId, for start, message and end', async () => {
    const router = newRouter();
    const long = 'c'.repeat(257);
    for (const body of [
      start({ chatId: long }),
      envelope('chat.message', { chatId: long, message: userMessage('x') }),
      envelope('chat.end', { chatId: long }),
    ]) {
      const r = await jsonReply(router.handle(body));
      expect(r.body.error).toEqual({
        code: ArcErrorCode.InvalidParams,
        message: 'params.chatId must be at most 256 characters',
        details: { field: 'params.chatId' },
      });
    }
  });

  it('metadata over MAX_METADATA_BYTES (default 16 KiB) → -32602 naming params.metadata; nothing is stored', async () => {
    const store = new MemoryChatStore();
    const router = newRouter({ chatStore: store });
    const big = { blob: 'x'.repeat(16 * 1024) };
    const r = await jsonReply(router.handle(start({ chatId: 'big', metadata: big })));
    expect(r.body.error.code).toBe(ArcErrorCode.InvalidParams);
    expect(r.body.error.details).toEqual({ field: 'params.metadata', limitBytes: 16 * 1024 });
    expect(r.body.error.message).toMatch(/^params\.metadata is 16395 bytes of JSON; at most 16384 are accepted$/);
    expect(store.size).toBe(0);
    const ok = await jsonReply(router.handle(start({ chatId: 'small', metadata: { blob: 'x'.repeat(16 * 1024 - 20) } })));
    expect(ok.body.error).toBeNull();
  });

  it('the metadata limit is an option (maxMetadataBytes), counted in UTF-8 bytes', async () => {
    const router = newRouter({ maxMetadataBytes: 20 });
    // {"k":"éééé"} is 16 bytes; {"k":"ééééééé"} is 15 characters but 22 bytes.
    expect((await jsonReply(router.handle(start({ metadata: { k: 'éééé' } })))).body.error).toBeNull();
    expect((await jsonReply(router.handle(start({ metadata: { k: 'ééééééé' } })))).body.error.code).toBe(ArcErrorCode.InvalidParams);
  });

  it('a chat.end reason over 1024 characters → -32602', async () => {
    const router = newRouter();
    const opened = await jsonReply(router.handle(start()));
    const r = await jsonReply(router.handle(envelope('chat.end', { chatId: opened.body.result.chat.chatId, reason: 'r'.repeat(1025) })));
    expect(r.body.error.details).toEqual({ field: 'params.reason' });
  });

  it('an agent at MAX_ACTIVE_CHATS_PER_AGENT → -41011 / 503 with Retry-After; ending a chat frees room', async () => {
    const router = newRouter({ chatStore: new MemoryChatStore({ maxActivePerAgent: 2 }) });
    const a = await jsonReply(router.handle(start()));
    await jsonReply(router.handle(start()));
    const full = await jsonReply(router.handle(start()));
    expect(full.status).toBe(503);
    expect(full.retryAfter).toBe(10);
    expect(full.body.error.code).toBe(ArcErrorCode.AgentCapacityExceeded);
    expect(full.body.error.message).toMatch(/too many active chats \(2\)/);
    expect(full.body.error.details).toEqual({ agentId: 'agent-a', limit: 2 });
    await router.handle(envelope('chat.end', { chatId: a.body.result.chat.chatId }));
    expect((await jsonReply(router.handle(start()))).body.error).toBeNull();
  });

  it('an expired chat answers -43001 (documented choice) and chat.message keeps a chat alive', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const router = newRouter({ chatStore: new MemoryChatStore({ idleTtlSeconds: 60, now: () => now }) });
    const kept = (await jsonReply(router.handle(start()))).body.result.chat.chatId;
    const idle = (await jsonReply(router.handle(start()))).body.result.chat.chatId;
    now += 50_000;
    expect((await jsonReply(router.handle(envelope('chat.message', { chatId: kept, message: userMessage('x') })))).body.error).toBeNull();
    now += 20_000;
    expect((await jsonReply(router.handle(envelope('chat.message', { chatId: kept, message: userMessage('x') })))).body.error).toBeNull();
    const gone = await jsonReply(router.handle(envelope('chat.message', { chatId: idle, message: userMessage('x') })));
    expect(gone.status).toBe(200);
    expect(gone.body.error.code).toBe(ArcErrorCode.ChatNotFound);
  });
});

describe('deep nesting is refused before it is parsed (hole 7)', () => {
  const nested = (depth: number, leaf = '1'): string => '['.repeat(depth) + leaf + ']'.repeat(depth);
  const raw = (fields: Record<string, string>): string => {
    const base: Record<string, string> = {
      arc: '"1.0"',
      id: '"d"',
      method: '"echo"',
      requestAgent: '"t"',
      targetAgent: '"agent-a"',
      params: '{}',
      ...fields,
    };
    return `{${Object.entries(base)
      .map(([k, v]) => `"${k}":${v}`)
      .join(',')}}`;
  };

  it('an id nested 10,000 deep → -32600 / 400 naming id', async () => {
    const logger = recordingLogger();
    const router = newRouter({ logger });
    const r = await jsonReply(router.handleBody(raw({ id: nested(10_000) })));
    expect(r.status).toBe(400);
    expect(r.body.error).toEqual({
      code: ArcErrorCode.InvalidRequest,
      message: 'id is nested deeper than 64 levels',
      details: { field: 'id', maxDepth: 64 },
    });
    expect(logger.lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('metadata nested 10,000 deep → -32600 / 400 naming params, not a store outage', async () => {
    const router = newRouter();
    const r = await jsonReply(
      router.handleBody(
        raw({
          method: '"chat.start"',
          params: `{"initialMessage":{"role":"user","parts":[{"type":"text","content":"x"}]},"metadata":{"m":${nested(10_000)}}}`,
        }),
      ),
    );
    expect(r.status).toBe(400);
    expect(r.body.error.details).toEqual({ field: 'params', maxDepth: 64 });
    expect(r.retryAfter).toBeUndefined();
  });

  it('a bare array nested too deep has no field; 64 levels (envelope included) pass', async () => {
    const router = newRouter();
    expect((await jsonReply(router.handleBody(nested(65)))).body.error.details).toEqual({ maxDepth: 64 });
    const ok = await jsonReply(router.handleBody(raw({ params: `{"v":${nested(62)}}` })));
    expect(ok.body.error).toBeNull();
    const tooDeep = await jsonReply(router.handleBody(raw({ params: `{"v":${nested(63)}}` })));
    expect(tooDeep.body.error.details).toEqual({ field: 'params', maxDepth: 64 });
  });

  it('brackets and escaped quotes inside strings do not count', async () => {
    const router = newRouter();
    const tricky = JSON.stringify({ s: '['.repeat(500) + '\\"' + '{'.repeat(500), t: '"]]]' });
    const r = await jsonReply(router.handleBody(raw({ params: tricky })));
    expect(r.body.error).toBeNull();
    expect(r.body.result.s).toBe('['.repeat(500) + '\\"' + '{'.repeat(500));
  });
});
