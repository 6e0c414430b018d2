/**
 * ArcClient reading streams as the Python SDK's server sends them (ARC-PROTOCOL.md §8, "TS client
 * reading an SDK server stream"): the recorded responses of arc-sdk 1.3.1 replayed byte for byte
 * (chunked encoding kept) from a raw TCP server, and hand-made variants: CRLF framing, `data:`
 * without a space, comments, both error shapes, EOF without `done`, a JSON answer in place of
 * SSE, an event too large, a connection that breaks, and a stream cut by the client.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ArcClient,
  ArcResponseError,
  ArcStreamError,
  ArcTransportError,
  type ArcClientOptions,
  type ArcStreamEvent,
} from '../../src/client';
import { section } from '../support/captures';
import { rejection } from '../support/util';
import { LAST_CHUNK, SSE_HEAD, chunk, jsonResponse, rawServer, requestId, type RawHttpRequest, type RawServer } from './raw-server';

const FIXTURES = join(__dirname, '../fixtures/captures');

/** The verbatim response bytes of a capture (head, chunk sizes, CRLFs and all). */
function recordedResponse(name: string): Buffer {
  return section(readFileSync(join(FIXTURES, name)), 'RESPONSE');
}

const streamFrame = (chatId: string, text: string, eol = '\n', space = ' '): string =>
  `event:${space}stream${eol}data:${space}${JSON.stringify({ chatId, message: { role: 'agent', parts: [{ type: 'TextPart', content: text }] } })}${eol}${eol}`;

describe('ArcClient reading an SDK server stream', () => {
  let server: RawServer | undefined;
  const clients: ArcClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server?.close();
    server = undefined;
  });

  async function serve(answer: (req: RawHttpRequest, n: number) => void): Promise<RawServer> {
    server = await rawServer(answer);
    return server;
  }

  function client(options: ArcClientOptions = {}): ArcClient {
    const c = new ArcClient(server!.url, { requestAgent: 'sdk-reader', timeoutMs: 5000, retries: false, ...options });
    clients.push(c);
    return c;
  }

  async function events(stream: AsyncIterable<ArcStreamEvent>): Promise<ArcStreamEvent[]> {
    const out: ArcStreamEvent[] = [];
    for await (const e of stream) out.push(e);
    return out;
  }

  /** Writes `bytes` one at a time, each in its own TCP write. */
  function trickle(req: RawHttpRequest, bytes: Buffer): void {
    let i = 0;
    const next = (): void => {
      if (i >= bytes.length || req.socket.destroyed) return;
      req.socket.write(bytes.subarray(i, ++i), () => setImmediate(next));
    };
    next();
  }

  it.each([
    ['chat.start', 'chat_start_stream.txt', "I can assist with payment processing. What's your payment ID?", 'chat-dd241459', 10],
    ['chat.message', 'chat_message_stream.txt', 'Processing your request: Invoice number INV-12345', 'chat-14500772', 6],
  ])('replays the recorded %s stream (%s): the whole text, chatId, status, requestId', async (method, file, text, chatId, deltas) => {
    const bytes = recordedResponse(file);
    const s = await serve((req) => req.socket.write(bytes));
    const c = client();
    const stream =
      method === 'chat.start'
        ? await c.chat.startStream('finance-agent', 'Any news on my payment?')
        : await c.chat.messageStream('finance-agent', chatId, 'Invoice number INV-12345');
    const got = await events(stream);
    expect(got.map((e) => e.type)).toEqual([...Array<string>(deltas).fill('stream'), 'done']);
    expect(stream.text).toBe(text);
    expect(stream.chatId).toBe(chatId);
    expect(stream.status).toBe('ACTIVE');
    expect(got.at(-1)).toMatchObject({ type: 'done', chatId, status: 'ACTIVE', requestId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    // What the client sent: the method with stream: true, as the SDK server expects it.
    expect(s.requests).toHaveLength(1);
    const sent = JSON.parse(s.requests[0]!.body) as { method: string; params: { stream?: boolean } };
    expect(sent.method).toBe(method);
    expect(sent.params.stream).toBe(true);
    expect(s.requests[0]!.headers['content-type']).toBe('application/arc+json');
  });

  it('the recorded stream sent one byte per TCP write reads the same', async () => {
    const bytes = recordedResponse('chat_message_stream.txt');
    await serve((req) => trickle(req, bytes));
    const stream = await client().chat.messageStream('finance-agent', 'chat-14500772', 'Invoice number INV-12345');
    await expect(stream.collect()).resolves.toEqual({
      chatId: 'chat-14500772',
      status: 'ACTIVE',
      text: 'Processing your request: Invoice number INV-12345',
    });
  });

  it('CRLF framing, `data:` without a space, comments and unknown events', async () => {
    await serve((req) =>
      req.socket.write(
        SSE_HEAD +
          chunk(': a comment\r\n\r\n') +
          chunk(streamFrame('chat-crlf', 'Hello ', '\r\n')) +
          chunk(streamFrame('chat-crlf', 'there', '\r\n', '')) +
          chunk('data: {"a frame":"without an event line"}\r\n\r\n') +
          chunk('event: metadata\r\ndata: {"x":1}\r\n\r\n') +
          chunk('event:done\r\ndata:{"chatId":"chat-crlf","status":"ACTIVE","done":true}\r\n\r\n') +
          LAST_CHUNK,
      ),
    );
    const stream = await client().chat.startStream('finance-agent', 'hi');
    const got = await events(stream);
    expect(got.map((e) => e.type)).toEqual(['stream', 'stream', 'done']);
    expect(stream.text).toBe('Hello there');
    expect(stream.chatId).toBe('chat-crlf');
    expect(got[0]!.raw).toEqual({ event: 'stream', data: expect.stringContaining('"Hello "') });
  });

  it('the chat stream error shape: error, then done with status ERROR', async () => {
    await serve((req) =>
      req.socket.write(
        SSE_HEAD +
          chunk(streamFrame('chat-e', 'Half ')) +
          chunk('event: error\ndata: {"chatId":"chat-e","error":{"code":-43005,"message":"Stream error: boom"}}\n\n') +
          chunk(`event: done\ndata: {"chatId":"chat-e","status":"ERROR","done":true,"requestId":${JSON.stringify(requestId(req))}}\n\n`) +
          LAST_CHUNK,
      ),
    );
    const stream = await client().chat.startStream('finance-agent', 'hi', { id: 'req-e' });
    const got = await events(stream);
    expect(got.map((e) => e.type)).toEqual(['stream', 'error', 'done']);
    expect(got[1]).toMatchObject({ type: 'error', chatId: 'chat-e', error: { code: -43005, message: 'Stream error: boom' } });
    expect(got[2]).toMatchObject({ type: 'done', status: 'ERROR', requestId: 'req-e' });
    expect(stream.status).toBe('ERROR');
    expect(stream.error).toMatchObject({ code: -43005, chatId: 'chat-e' });
  });

  it("the SDK SSE wrapper's error shape ({message, code}) and then EOF: the stream ends there", async () => {
    await serve((req) =>
      req.socket.write(
        SSE_HEAD +
          chunk(streamFrame('chat-w', 'Half ')) +
          chunk('event: error\ndata: {"message":"wrapped failure","code":-43005}\n\n') +
          LAST_CHUNK,
      ),
    );
    const stream = await client().chat.startStream('finance-agent', 'hi');
    const err = (await rejection(stream.collect())) as ArcStreamError;
    expect(err).toBeInstanceOf(ArcStreamError);
    expect(err).toMatchObject({ code: -43005, message: 'wrapped failure', chatId: 'chat-w' });
    expect(stream.status).toBe('ERROR');
    expect(stream.text).toBe('Half ');
  });

  it('EOF without done ends the stream quietly (status unknown)', async () => {
    await serve((req) => req.socket.write(SSE_HEAD + chunk(streamFrame('chat-eof', 'only this')) + LAST_CHUNK));
    const stream = await client().chat.startStream('finance-agent', 'hi');
    await expect(stream.collect()).resolves.toEqual({ chatId: 'chat-eof', status: undefined, text: 'only this' });
  });

  it('a JSON answer in place of SSE: an error envelope (any status) → ArcResponseError; a result → one event and done', async () => {
    await serve((req, n) => {
      const id = requestId(req);
      const base = { arc: '1.0', id, responseAgent: 'finance-agent', targetAgent: 'sdk-reader', traceId: null };
      req.socket.write(
        n === 1
          ? jsonResponse(200, {
              ...base,
              result: null,
              error: { code: -43001, message: 'Chat not found: c-1', details: { chatId: 'c-1' } },
            })
          : jsonResponse(200, {
              ...base,
              result: {
                type: 'chat',
                chat: { chatId: 'c-2', status: 'ACTIVE', message: { role: 'agent', parts: [{ type: 'TextPart', content: 'whole' }] } },
              },
              error: null,
            }),
      );
    });
    const c = client();
    const err = (await rejection(c.chat.messageStream('finance-agent', 'c-1', 'hi'))) as ArcResponseError;
    expect(err).toBeInstanceOf(ArcResponseError);
    expect(err).toMatchObject({ code: -43001, httpStatus: 200, details: { chatId: 'c-1' } });
    const stream = await c.chat.startStream('finance-agent', 'hi', { id: 'json-1' });
    const got = await events(stream);
    expect(got.map((e) => e.type)).toEqual(['stream', 'done']);
    expect(got[1]).toMatchObject({ type: 'done', chatId: 'c-2', status: 'ACTIVE', requestId: 'json-1' });
    expect(stream.text).toBe('whole');
  });

  it('an answer that is neither SSE nor JSON (a proxy page) → ArcTransportError with the status', async () => {
    await serve((req) =>
      req.socket.write('HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\ncontent-length: 13\r\n\r\n<h1>502</h1>\n'),
    );
    const err = (await rejection(client().chat.startStream('finance-agent', 'hi'))) as ArcTransportError;
    expect(err).toBeInstanceOf(ArcTransportError);
    expect(err.httpStatus).toBe(502);
    expect(err.message).toContain('not JSON');
  });

  it.each(['in one piece', 'in two pieces'])(
    'an event larger than maxStreamEventChars (%s) breaks the stream off and closes the connection',
    async (how) => {
      const body = chunk(streamFrame('chat-big', 'x'.repeat(5000)));
      const s = await serve((req) => {
        if (how === 'in one piece') req.socket.write(SSE_HEAD + body);
        else req.socket.write(SSE_HEAD + body.slice(0, 3000), () => req.socket.write(body.slice(3000)));
      });
      const stream = await client({ maxStreamEventChars: 1000 }).chat.startStream('finance-agent', 'hi');
      const err = (await rejection(stream.collect())) as ArcTransportError;
      expect(err).toBeInstanceOf(ArcTransportError);
      expect(err.message).toContain('larger than 1000 characters');
      await s.requests[0]!.closed;
    },
  );

  it('a connection that breaks mid-stream → ArcTransportError after the events that came', async () => {
    await serve((req) => req.socket.write(SSE_HEAD + chunk(streamFrame('chat-rst', 'before ')), () => req.socket.destroy()));
    const stream = await client().chat.startStream('finance-agent', 'hi');
    const seen: string[] = [];
    const err = await rejection(
      (async () => {
        for await (const e of stream) if (e.type === 'stream') seen.push(e.text);
      })(),
    );
    expect(err).toBeInstanceOf(ArcTransportError);
    expect((err as Error).message).toContain('broke off');
    expect(seen).toEqual(['before ']);
  });

  it.each(['break', 'signal'])('a stream cut by the client (%s) closes the connection: the server sees it', async (how) => {
    const s = await serve((req) => req.socket.write(SSE_HEAD + chunk(streamFrame('chat-cut', 'first '))));
    const controller = new AbortController();
    const stream = await client().chat.startStream('finance-agent', 'hi', { signal: controller.signal });
    const reading = (async () => {
      for await (const e of stream) {
        expect(e.type).toBe('stream');
        if (how === 'break') break;
        controller.abort(new Error('stop'));
      }
    })();
    if (how === 'break') await reading;
    else expect(((await rejection(reading)) as Error).message).toBe('stop');
    await s.requests[0]!.closed;
  });
});
