/**
 * client.chat.startStream / messageStream against a real ArcServer: the whole text, chatId and
 * status, an error event mid-stream, a JSON error answer (ArcResponseError), a JSON result to a
 * streamed call, the onExchange observer, keep-alive, and every way a stream is cut (break,
 * close(), the call's signal, its timeout) — seen by the server's handler as an abort.
 */
import {
  ArcClient,
  ArcResponseError,
  ArcStreamError,
  ArcTimeoutError,
  ArcTransportError,
  type ArcExchange,
  type ArcStreamEvent,
} from '../../src/client';
import { ArcError } from '../../src/errors/arc-error';
import { ArcServer } from '../../src/express';
import { messageText } from '../../src/protocol/parts';
import { ArcAgent } from '../../src/router/agent';
import { deferred, rejection, type Deferred } from '../support/util';

describe('ArcClient streams against a real ArcServer', () => {
  let server: ArcServer;
  let url: string;
  /** Per test: the handler of a 'hang' stream signals here when it started, and when its signal aborted. */
  let started: Deferred<void>;
  let aborted: Deferred<string>;
  const clients: ArcClient[] = [];

  beforeAll(async () => {
    server = new ArcServer({ serverId: 'client-stream-test' });
    const reply = async function* (text: string, signal: AbortSignal): AsyncGenerator<string> {
      if (text === 'hang') {
        signal.addEventListener('abort', () => aborted.resolve(String((signal.reason as Error | undefined)?.message ?? 'aborted')));
        yield 'first ';
        started.resolve();
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        return;
      }
      if (text === 'fail') {
        yield 'partial ';
        throw new ArcError(-42004, 'payment refused', { invoice: 'INV-1' });
      }
      for (const word of ['Hello ', 'from ', 'the ', 'stream']) yield word;
    };
    server.addAgent(
      new ArcAgent('writer')
        .on('chat.start', (p, ctx) => {
          const text = messageText(p.initialMessage);
          return text === 'plain' ? 'a plain answer' : reply(text, ctx.signal);
        })
        .on('chat.message', (p, ctx) => reply(messageText(p.message), ctx.signal)),
    );
    ({ url } = await server.listen(0, '127.0.0.1'));
  });

  beforeEach(() => {
    started = deferred();
    aborted = deferred();
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  afterAll(async () => {
    await server.close({ graceMs: 1000 });
  });

  function client(options: ConstructorParameters<typeof ArcClient>[1] = {}): ArcClient {
    const c = new ArcClient(`${url}/arc`, { requestAgent: 'stream-client', timeoutMs: 5000, ...options });
    clients.push(c);
    return c;
  }

  it('startStream: the deltas, the whole text, chatId and status; messageStream continues the chat', async () => {
    const c = client();
    const stream = await c.chat.startStream('writer', 'hello', { id: 'stream-1' });
    const events: ArcStreamEvent[] = [];
    for await (const e of stream) events.push(e);
    expect(events.map((e) => e.type)).toEqual(['stream', 'stream', 'stream', 'stream', 'done']);
    expect(events.filter((e) => e.type === 'stream').map((e) => e.text)).toEqual(['Hello ', 'from ', 'the ', 'stream']);
    expect(stream.text).toBe('Hello from the stream');
    expect(stream.chatId).toMatch(/^chat-/);
    expect(stream.status).toBe('ACTIVE');
    expect(stream.error).toBeUndefined();
    const done = events[4]!;
    expect(done).toMatchObject({ type: 'done', chatId: stream.chatId, status: 'ACTIVE', requestId: 'stream-1' });
    expect(done.raw.event).toBe('done');
    expect(JSON.parse(done.raw.data)).toMatchObject({ done: true, status: 'ACTIVE' });

    const next = await c.chat.messageStream('writer', stream.chatId!, 'again');
    await expect(next.collect()).resolves.toEqual({ chatId: stream.chatId, status: 'ACTIVE', text: 'Hello from the stream' });
  });

  it('an error mid-stream is yielded, kept as stream.error, and collect() rejects with ArcStreamError', async () => {
    const c = client();
    const stream = await c.chat.startStream('writer', 'fail');
    const events: ArcStreamEvent[] = [];
    for await (const e of stream) events.push(e);
    expect(events.map((e) => e.type)).toEqual(['stream', 'error', 'done']);
    // The server reports a handler's failure after streaming began as -43005 (as the SDK does).
    expect(events[1]).toMatchObject({
      type: 'error',
      chatId: stream.chatId,
      error: { code: -43005, message: 'Stream error: payment refused' },
    });
    expect(stream.text).toBe('partial ');
    expect(stream.status).toBe('ERROR');
    expect(stream.error).toBeInstanceOf(ArcStreamError);
    expect(stream.error).toBeInstanceOf(ArcError);
    expect(stream.error).toMatchObject({ code: -43005, message: 'Stream error: payment refused', chatId: stream.chatId });

    const again = await c.chat.startStream('writer', 'fail');
    const err = (await rejection(again.collect())) as ArcStreamError;
    expect(err).toBeInstanceOf(ArcStreamError);
    expect(err.code).toBe(-43005);
  });

  it('a JSON error answer rejects with ArcResponseError (the chat is unknown)', async () => {
    const err = (await rejection(client().chat.messageStream('writer', 'chat-nope', 'hi'))) as ArcResponseError;
    expect(err).toBeInstanceOf(ArcResponseError);
    expect(err.code).toBe(-43001);
    expect(err.httpStatus).toBe(400);
  });

  it('a JSON result to a streamed call is a stream of one event and done', async () => {
    const stream = await client().chat.startStream('writer', 'plain');
    const events: ArcStreamEvent[] = [];
    for await (const e of stream) events.push(e);
    expect(events.map((e) => e.type)).toEqual(['stream', 'done']);
    expect(stream.text).toBe('a plain answer');
    expect(stream.status).toBe('ACTIVE');
    expect(stream.chatId).toMatch(/^chat-/);
  });

  it('onExchange sees each attempt: a stream without body, a JSON answer with it', async () => {
    const seen: ArcExchange[] = [];
    const c = client({ onExchange: (e) => seen.push(e) });
    const stream = await c.chat.startStream('writer', 'hello', { id: 'obs-1' });
    await stream.collect();
    await rejection(c.chat.messageStream('writer', 'chat-nope', 'hi', { id: 'obs-2' }));
    await c.chat.start('writer', 'plain', { id: 'obs-3' });
    expect(seen).toHaveLength(3);
    expect(seen[0]).toMatchObject({ url: `${url}/arc`, status: 200, stream: true, request: { id: 'obs-1', method: 'chat.start' } });
    expect(seen[0]!.request.params).toMatchObject({ stream: true });
    expect(seen[0]!.headers!['content-type']).toMatch(/^text\/event-stream/);
    expect(seen[0]!.body).toBeUndefined();
    expect(seen[1]).toMatchObject({ status: 400, body: { error: { code: -43001 } }, request: { id: 'obs-2' } });
    expect(seen[1]!.stream).toBeUndefined();
    expect(seen[2]).toMatchObject({ status: 200, body: { id: 'obs-3', result: { type: 'chat' } } });
  });

  it('keep-alive: calls and streams in a row share one connection; keepAlive: false opens one each', async () => {
    const ports = new Set<number>();
    const onConnection = (socket: { remotePort?: number }): void => void ports.add(socket.remotePort!);
    server.httpServer!.on('connection', onConnection);
    try {
      const c = client();
      await (await c.chat.startStream('writer', 'hello')).collect();
      await c.chat.start('writer', 'plain');
      await (await c.chat.startStream('writer', 'hello')).collect();
      expect(ports.size).toBe(1);
      ports.clear();
      const single = client({ keepAlive: false });
      await single.chat.start('writer', 'plain');
      await (await single.chat.startStream('writer', 'hello')).collect();
      expect(ports.size).toBe(2);
    } finally {
      server.httpServer!.off('connection', onConnection);
    }
  });

  it('break out of for-await cuts the connection: the handler sees the abort', async () => {
    const stream = await client().chat.startStream('writer', 'hang');
    for await (const e of stream) {
      expect(e).toMatchObject({ type: 'stream', text: 'first ' });
      break;
    }
    await aborted.promise;
    expect(stream.text).toBe('first ');
    expect(stream.status).toBeUndefined();
  });

  it('close() cuts the connection and ends the iteration quietly', async () => {
    const stream = await client().chat.startStream('writer', 'hang');
    const iterator = stream[Symbol.asyncIterator]();
    await expect(iterator.next()).resolves.toMatchObject({ done: false, value: { text: 'first ' } });
    const pending = iterator.next();
    stream.close();
    stream.close();
    await expect(pending).resolves.toEqual({ done: true, value: undefined });
    await aborted.promise;
  });

  it("the call's AbortSignal cuts the connection and rejects the iteration with its reason", async () => {
    const controller = new AbortController();
    const stream = await client().chat.startStream('writer', 'hang', { signal: controller.signal });
    await started.promise;
    const reading = rejection(stream.collect());
    controller.abort(new Error('user went away'));
    expect(((await reading) as Error).message).toBe('user went away');
    await aborted.promise;
  });

  it('client.close() ends its connections, a stream under way included', async () => {
    const c = client();
    const stream = await c.chat.startStream('writer', 'hang');
    await started.promise;
    const reading = rejection(stream.collect());
    c.close();
    expect(await reading).toBeInstanceOf(ArcTransportError);
    await aborted.promise;
  });

  it('the call timeout bounds each wait for an event: ArcTimeoutError, connection cut', async () => {
    const stream = await client().chat.startStream('writer', 'hang', { timeoutMs: 300 });
    const err = await rejection(stream.collect());
    expect(err).toBeInstanceOf(ArcTimeoutError);
    expect(stream.text).toBe('first ');
    await aborted.promise;
  });
});
