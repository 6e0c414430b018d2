/**
 * Retries of streamed calls, and what is never retried: a stream is sent again only while it was
 * certainly not accepted (a refused connection, 429, 503 -41011: the same policy as request()),
 * and no call — plain or streamed — is sent again once the server read it and then reset the
 * connection or did not answer in time. Against raw TCP servers that count what they received.
 */
import { ArcClient, ArcResponseError, ArcTimeoutError, ArcTransportError, type ArcExchange } from '../../src/client';
import { freePort } from '../support/http';
import { rejection } from '../support/util';
import { LAST_CHUNK, SSE_HEAD, chunk, jsonResponse, rawServer, requestId, type RawHttpRequest, type RawServer } from './raw-server';

const DONE = 'event: done\ndata: {"chatId":"chat-r","status":"ACTIVE","done":true}\n\n';
const STREAM =
  SSE_HEAD +
  chunk('event: stream\ndata: {"chatId":"chat-r","message":{"role":"agent","parts":[{"type":"TextPart","content":"ok"}]}}\n\n') +
  chunk(DONE) +
  LAST_CHUNK;

function refusal(req: RawHttpRequest, status: number, code: number, retryAfter: string): string {
  return jsonResponse(
    status,
    {
      arc: '1.0',
      id: requestId(req),
      responseAgent: 'a',
      targetAgent: 'c',
      traceId: null,
      result: null,
      error: { code, message: 'refused', details: {} },
    },
    { 'retry-after': retryAfter },
  );
}

describe('ArcClient stream retries', () => {
  let server: RawServer | undefined;
  const clients: ArcClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server?.close();
    server = undefined;
  });

  function client(url: string, options: ConstructorParameters<typeof ArcClient>[1] = {}): ArcClient {
    const c = new ArcClient(url, { requestAgent: 'retry-client', timeoutMs: 5000, ...options });
    clients.push(c);
    return c;
  }

  it.each([
    ['429 -44007', 429, -44007],
    ['503 -41011', 503, -41011],
  ])('%s with Retry-After is sent again (same id) and the stream of the second attempt is read', async (_name, status, code) => {
    server = await rawServer((req, n) => req.socket.write(n === 1 ? refusal(req, status, code, '0') : STREAM));
    const seen: ArcExchange[] = [];
    const stream = await client(server.url, { onExchange: (e) => seen.push(e) }).chat.startStream('a', 'hi', { id: 'same' });
    await expect(stream.collect()).resolves.toEqual({ chatId: 'chat-r', status: 'ACTIVE', text: 'ok' });
    expect(server.requests.map(requestId)).toEqual(['same', 'same']);
    expect(seen.map((e) => [e.status, e.stream ?? false])).toEqual([
      [status, false],
      [200, true],
    ]);
  });

  it('retries: false → the refusal is thrown as it came, one request', async () => {
    server = await rawServer((req) => req.socket.write(refusal(req, 429, -44007, '0')));
    const err = (await rejection(client(server.url, { retries: false }).chat.startStream('a', 'hi'))) as ArcResponseError;
    expect(err).toBeInstanceOf(ArcResponseError);
    expect(err).toMatchObject({ code: -44007, httpStatus: 429 });
    expect(server.requests).toHaveLength(1);
  });

  it('a refused connection is retried: the second attempt reaches a server started after the first failed', async () => {
    const port = await freePort();
    let attempts = 0;
    const seen: ArcExchange[] = [];
    // The token provider runs before each attempt: its second call proves the first one failed.
    const tokenProvider = async (): Promise<string> => {
      attempts += 1;
      if (attempts === 2) server = await rawServer((req) => req.socket.write(STREAM), port);
      return `t${attempts}`;
    };
    const c = client(`http://127.0.0.1:${port}/arc`, { tokenProvider, onExchange: (e) => seen.push(e) });
    const stream = await c.chat.startStream('a', 'hi');
    await expect(stream.collect()).resolves.toMatchObject({ text: 'ok' });
    expect(attempts).toBe(2);
    expect(server!.requests.map((r) => r.headers.authorization)).toEqual(['Bearer t2']);
    expect(seen[0]!.status).toBeUndefined();
    expect(seen[0]!.error).toBeInstanceOf(ArcTransportError);
    expect(seen[0]!.error!.message).toContain('ECONNREFUSED');
    expect(seen[1]).toMatchObject({ status: 200, stream: true });
  });

  describe('never sent again once the server read it', () => {
    it.each(['request', 'stream'])(
      '%s: the server resets the connection after reading the body → ArcTransportError, one request',
      async (kind) => {
        server = await rawServer((req) => req.socket.resetAndDestroy());
        const c = client(server.url);
        const call = kind === 'request' ? c.chat.start('a', 'hi') : c.chat.startStream('a', 'hi');
        const err = await rejection(call);
        expect(err).toBeInstanceOf(ArcTransportError);
        expect(server.requests).toHaveLength(1);
      },
    );

    it.each(['request', 'stream'])('%s: no answer within the timeout → ArcTimeoutError, one request', async (kind) => {
      server = await rawServer(() => undefined);
      const c = client(server.url, { timeoutMs: 300 });
      const call = kind === 'request' ? c.chat.start('a', 'hi') : c.chat.startStream('a', 'hi');
      const err = await rejection(call);
      expect(err).toBeInstanceOf(ArcTimeoutError);
      expect(server.requests).toHaveLength(1);
      await server.requests[0]!.closed;
    });

    it('a stream accepted and then broken off is not sent again', async () => {
      server = await rawServer((req) => req.socket.write(SSE_HEAD, () => req.socket.resetAndDestroy()));
      const stream = await client(server.url).chat.startStream('a', 'hi');
      expect(await rejection(stream.collect())).toBeInstanceOf(ArcTransportError);
      expect(server.requests).toHaveLength(1);
    });
  });

  it('the signal aborts the wait before a retry: the reason is thrown, nothing more is sent', async () => {
    const controller = new AbortController();
    server = await rawServer((req) => {
      req.socket.write(refusal(req, 503, -41011, '60'), () => controller.abort(new Error('gave up')));
    });
    const c = client(server.url, { retries: { maxDelayMs: 120_000 }, timeoutMs: 120_000 });
    const err = await rejection(c.chat.startStream('a', 'hi', { signal: controller.signal }));
    expect((err as Error).message).toBe('gave up');
    expect(server.requests).toHaveLength(1);
  });
});
