/**
 * Chat metrics on a real ArcServer (port 0, in-memory chat store): after N chats started and M
 * ended, opened N, closed M, active N − M; a chat.start whose handler fails counts as neither.
 */
import { ArcError } from '../../src/errors/arc-error';
import { createArcServer, type ArcServer } from '../../src/express';
import { ArcAgent } from '../../src/router/agent';
import { MemoryChatStore } from '../../src/state/memory-chat-store';
import { httpRequest, postJson, type RawResponse } from '../support/http';
import { envelope, userMessage } from '../support/util';
import { parsePrometheusText, type Scrape } from './prometheus-text';

const AGENT = 'finance-agent';
const OTHER = 'travel-agent';

async function scrape(url: string): Promise<Scrape> {
  const res = await httpRequest(url, { method: 'GET', path: '/metrics' });
  expect(res.status).toBe(200);
  return parsePrometheusText(res.text);
}

const call = (url: string, agent: string, method: string, params: unknown): Promise<RawResponse> =>
  postJson(url, envelope(method, params, { targetAgent: agent }));

describe('chat metrics', () => {
  let server: ArcServer;
  let url: string;

  beforeAll(async () => {
    server = createArcServer({ serverId: 'chat-metrics-test', metrics: { defaultMetrics: false } });
    server.addAgent(
      new ArcAgent(AGENT).on('chat.start', (params) => {
        if ((params as { chatId?: string }).chatId === 'refused') throw new ArcError(-32602, 'not this one');
        return 'Welcome';
      }),
    );
    server.addAgent(new ArcAgent(OTHER).on('chat.start', () => 'Hi'));
    ({ url } = await server.listen(0, '127.0.0.1'));
  });

  afterAll(async () => {
    await server.close({ graceMs: 1000 });
  });

  it('starts with no chat series', async () => {
    const m = await scrape(url);
    expect(m.types.get('arc_chats_opened_total')).toBe('counter');
    expect(m.types.get('arc_chats_closed_total')).toBe('counter');
    expect(m.types.get('arc_active_chats')).toBe('gauge');
    expect(m.samples.filter((s) => s.name.startsWith('arc_chats_') || s.name === 'arc_active_chats')).toEqual([]);
  });

  it('counts N chats opened, M closed and N − M active, per agent', async () => {
    const N = 5;
    const M = 2;
    for (let i = 0; i < N; i++) {
      const res = await call(url, AGENT, 'chat.start', { initialMessage: userMessage('hi'), chatId: `c-${i}` });
      expect(res.json().error).toBeNull();
    }
    for (let i = 0; i < M; i++) {
      const res = await call(url, AGENT, 'chat.end', { chatId: `c-${i}` });
      expect(res.json().error).toBeNull();
    }
    // Refused requests change nothing: a closed chat ended again, a duplicate id, a failing handler.
    expect((await call(url, AGENT, 'chat.end', { chatId: 'c-0' })).json().error.code).toBe(-43002);
    expect((await call(url, AGENT, 'chat.start', { initialMessage: userMessage('hi'), chatId: 'c-4' })).json().error.code).toBe(-32602);
    expect((await call(url, AGENT, 'chat.start', { initialMessage: userMessage('hi'), chatId: 'refused' })).json().error.code).toBe(-32602);
    expect((await call(url, OTHER, 'chat.start', { initialMessage: userMessage('hi') })).json().error).toBeNull();

    const m = await scrape(url);
    expect(m.value('arc_chats_opened_total', { agent: AGENT })).toBe(N);
    expect(m.value('arc_chats_closed_total', { agent: AGENT })).toBe(M);
    expect(m.value('arc_active_chats', { agent: AGENT })).toBe(N - M);
    expect(m.value('arc_chats_opened_total', { agent: OTHER })).toBe(1);
    expect(m.value('arc_chats_closed_total', { agent: OTHER })).toBe(0);
    expect(m.value('arc_active_chats', { agent: OTHER })).toBe(1);

    // Counts carry over between scrapes, and only what is new is added.
    expect((await call(url, AGENT, 'chat.end', { chatId: 'c-4' })).json().error).toBeNull();
    const again = await scrape(url);
    expect(again.value('arc_chats_opened_total', { agent: AGENT })).toBe(N);
    expect(again.value('arc_chats_closed_total', { agent: AGENT })).toBe(M + 1);
    expect(again.value('arc_active_chats', { agent: AGENT })).toBe(N - M - 1);
  });
});

describe('chat metrics with a store that cannot count active chats cheaply', () => {
  it('has the counters but no arc_active_chats gauge', async () => {
    const memory = new MemoryChatStore();
    // The ChatStore contract without activeChats, as the Redis store is.
    const store = {
      create: memory.create.bind(memory),
      get: memory.get.bind(memory),
      touch: memory.touch.bind(memory),
      close: memory.close.bind(memory),
      saveState: memory.saveState.bind(memory),
      delete: memory.delete.bind(memory),
      ping: memory.ping.bind(memory),
      dispose: memory.dispose.bind(memory),
    };
    const server = createArcServer({ serverId: 'chat-metrics-no-gauge', chatStore: store, metrics: { defaultMetrics: false } });
    server.addAgent(new ArcAgent(AGENT).on('chat.start', () => 'Welcome'));
    const { url } = await server.listen(0, '127.0.0.1');
    try {
      expect((await call(url, AGENT, 'chat.start', { initialMessage: userMessage('hi') })).json().error).toBeNull();
      const m = await scrape(url);
      expect(m.value('arc_chats_opened_total', { agent: AGENT })).toBe(1);
      expect(m.types.has('arc_active_chats')).toBe(false);
    } finally {
      await server.close({ graceMs: 1000 });
    }
  });
});
