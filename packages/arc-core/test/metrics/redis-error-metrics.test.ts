/**
 * arc_redis_errors_total on a real ArcServer whose RedisChatStore points at a port where nothing
 * listens (no Redis needed): every chat operation fails, the caller gets -41002, and each failed
 * operation is counted under its store and op. A server without Redis stores has the counter and
 * no series.
 */
import { freePort } from '@arc/devkit';
import { createArcServer, type ArcServer } from '../../src/express';
import { RedisChatStore } from '../../src/redis';
import { ArcAgent } from '../../src/router/agent';
import { httpRequest, postJson, type RawResponse } from '../support/http';
import { envelope, userMessage } from '../support/util';
import { parsePrometheusText, type Scrape } from './prometheus-text';

const AGENT = 'finance-agent';

async function scrape(url: string): Promise<Scrape> {
  const res = await httpRequest(url, { method: 'GET', path: '/metrics' });
  expect(res.status).toBe(200);
  return parsePrometheusText(res.text);
}

const call = (url: string, method: string, params: unknown): Promise<RawResponse> =>
  postJson(url, envelope(method, params, { targetAgent: AGENT }));

describe('Redis error metrics', () => {
  let server: ArcServer;
  let url: string;

  beforeAll(async () => {
    const port = await freePort();
    const chatStore = new RedisChatStore({ url: `redis://127.0.0.1:${port}`, commandTimeoutMs: 200, connectTimeoutMs: 200 });
    server = createArcServer({ serverId: 'redis-error-metrics-test', chatStore, metrics: { defaultMetrics: false } });
    server.addAgent(new ArcAgent(AGENT).on('chat.start', () => 'Welcome'));
    ({ url } = await server.listen(0, '127.0.0.1'));
  });

  afterAll(async () => {
    await server.close({ graceMs: 0 });
  });

  it('counts each failed operation of the chat store by op, while callers get -41002', async () => {
    expect((await scrape(url)).samples.filter((s) => s.name === 'arc_redis_errors_total')).toEqual([]);
    for (let i = 0; i < 2; i++) {
      const start = await call(url, 'chat.start', { initialMessage: userMessage('hi') });
      expect(start.status).toBe(503);
      expect(start.json().error.code).toBe(-41002);
    }
    const end = await call(url, 'chat.end', { chatId: 'some-chat' });
    expect(end.json().error.code).toBe(-41002);

    const m = await scrape(url);
    expect(m.types.get('arc_redis_errors_total')).toBe('counter');
    const errors = m.samples.filter((s) => s.name === 'arc_redis_errors_total');
    expect(errors.map((s) => [s.labels.store, s.labels.op, s.value]).sort()).toEqual([
      ['chat', 'create', 2],
      ['chat', 'get', 1],
    ]);
    // No chat was opened.
    expect(m.samples.filter((s) => s.name === 'arc_chats_opened_total')).toEqual([]);
  });
});
