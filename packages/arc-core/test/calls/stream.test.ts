/**
 * Streamed agent calls (`ctx.agents.chat.startStream` / `messageStream`): in process through the
 * router's StreamReply, and over HTTP (a real ArcServer, and a raw server sending exact bytes):
 * chunks, chatId and status, both error-event shapes, errors before streaming, a JSON answer to a
 * streamed call, and every way a stream is closed (end, break, cancel, signal, timeouts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AgentChatStream } from '../../src/calls/agent-stream';
import { AgentCallError } from '../../src/calls/errors';
import { HttpAgentTransport } from '../../src/calls/http-transport';
import type { AgentCallRequest } from '../../src/calls/transport';
import { ArcError } from '../../src/errors/arc-error';
import { ArcErrorCode } from '../../src/errors/codes';
import { createArcServer, type ArcServer } from '../../src/express';
import { messageText } from '../../src/protocol/parts';
import type { Part } from '../../src/protocol/types';
import { ArcAgent, type HandlerContext } from '../../src/router/agent';
import type { RequestState } from '../../src/router/request-state';
import { ArcRouter, type RouterOptions } from '../../src/router/router';
import { freePort, httpRequest, listenPlain, readAll } from '../support/http';
import { deferred, envelope, rejection, type Deferred } from '../support/util';

async function texts(stream: AgentChatStream): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of stream) out.push(chunk.text);
  return out;
}

/** Runs `fn` inside a handler of a new agent of `router` and settles with what it returned or threw. */
let probes = 0;
async function inHandler<T>(router: ArcRouter, fn: (ctx: HandlerContext) => Promise<T>): Promise<T> {
  const id = `probe-${++probes}`;
  const outcome = deferred<T>();
  router.addAgent(
    new ArcAgent(id).on('run', async (_p, ctx) => {
      try {
        outcome.resolve(await fn(ctx));
      } catch (err) {
        outcome.reject(err);
      }
      return 'done';
    }),
  );
  await router.handle(envelope('run', {}, { targetAgent: id }));
  return outcome.promise;
}

async function callError(p: Promise<unknown>): Promise<AgentCallError> {
  const err = await rejection(p);
  expect(err).toBeInstanceOf(AgentCallError);
  return err as AgentCallError;
}

describe('streamed agent calls in process', () => {
  let router: ArcRouter;
  /** Settled when the writer's generator ran its finally (it was read to the end or cancelled). */
  let finished: Deferred<string>;
  let aborted: Deferred<void>;

  /** How the writer's exchanges ended, as the target's onResponse hook saw them. */
  let ends: string[];

  function setup(options: Partial<RouterOptions> = {}): ArcRouter {
    router = new ArcRouter({ serverId: 'stream-test', ...options });
    ends = [];
    router.addHook('onResponse', (ctx, outcome) => {
      if (ctx.agentId === 'writer') ends.push(`${ctx.method} ${outcome.transport} ${outcome.code ?? 'ok'}`);
    });
    finished = deferred<string>();
    aborted = deferred();
    router.addAgent(
      new ArcAgent('writer')
        .on('chat.start', async function* (p, ctx) {
          ctx.signal.addEventListener('abort', () => aborted.resolve());
          let state = 'cancelled';
          try {
            const text = messageText(p.initialMessage);
            if (text === 'hang') await new Promise(() => undefined);
            yield 'Hello ';
            if (text === 'fail') throw new ArcError(-42004, 'payment refused');
            if (text === 'quiet') await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
            yield { type: 'DataPart', content: { n: 1 } } as Part;
            yield 'world';
            state = 'completed';
          } finally {
            finished.resolve(state);
          }
        })
        .on('chat.message', async function* (p) {
          yield `again: ${messageText(p.message)}`;
        }),
    );
    router.addAgent(
      // Watches its signal from the call on (a generator's body only runs once read).
      new ArcAgent('eager').on('chat.start', (_p, ctx) => {
        ctx.signal.addEventListener('abort', () => aborted.resolve());
        return (async function* () {
          yield 'never read';
        })();
      }),
    );
    router.addAgent(
      new ArcAgent('slow-start').on('chat.start', async (_p, ctx) => {
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
        aborted.resolve();
        return 'too late';
      }),
    );
    return router;
  }

  it('yields each chunk with its text; chatId from the first event, status from done; messageStream continues the chat', async () => {
    setup();
    const seen = await inHandler(router, async (ctx) => {
      const stream = await ctx.agents.chat.startStream('writer', 'hi', { metadata: { from: 'test' } });
      expect(stream.chatId).toBeUndefined();
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      const next = await ctx.agents.chat.messageStream('writer', stream.chatId!, 'more');
      return { chunks, chatId: stream.chatId, status: stream.status, more: await texts(next), moreStatus: next.status };
    });
    expect(seen.chunks.map((c) => c.text)).toEqual(['Hello ', '', 'world']);
    expect(seen.chunks[1]!.message.parts[0]).toEqual({ type: 'DataPart', content: { n: 1 } });
    expect(seen.chunks.every((c) => c.chatId === seen.chatId)).toBe(true);
    expect(seen.chatId).toMatch(/^chat-/);
    expect(seen.status).toBe('ACTIVE');
    expect(seen.more).toEqual(['again: more']);
    expect(seen.moreStatus).toBe('ACTIVE');
    await expect(finished.promise).resolves.toBe('completed');
    expect(router.inFlight).toBe(0);
    // Read to its `done`: the target reports finished streams, not aborted ones.
    expect(ends).toEqual(['chat.start stream ok', 'chat.message stream ok']);
  });

  it('an error event after the first chunk: the iterator throws its code, status ERROR, the slot is free', async () => {
    setup();
    const got: string[] = [];
    const err = await callError(
      inHandler(router, async (ctx) => {
        const stream = await ctx.agents.chat.startStream('writer', 'fail');
        try {
          for await (const chunk of stream) got.push(chunk.text);
        } finally {
          expect(stream.status).toBe('ERROR');
        }
      }),
    );
    expect(got).toEqual(['Hello ']);
    expect(err.code).toBe(ArcErrorCode.InvalidChatMessage);
    expect(err.message).toMatch(/Stream error: payment refused/);
    expect(err.target).toBe('writer');
    expect(err.retryable).toBe(false);
    expect(router.inFlight).toBe(0);
    expect(ends).toEqual(['chat.start stream -42004']);
  });

  it('failures before streaming reject the promise: unknown chat, unknown agent, bad id, a cycle', async () => {
    setup();
    const unknownChat = await callError(inHandler(router, (ctx) => ctx.agents.chat.messageStream('writer', 'chat-nope', 'x')));
    expect(unknownChat.code).toBe(ArcErrorCode.ChatNotFound);
    const unknownAgent = await callError(inHandler(router, (ctx) => ctx.agents.chat.startStream('nobody', 'x')));
    expect(unknownAgent.code).toBe(ArcErrorCode.AgentNotFound);
    const badId = await callError(inHandler(router, (ctx) => ctx.agents.chat.startStream('bad id!', 'x')));
    expect(badId.code).toBe(ArcErrorCode.InvalidAgentId);
    // A request that came from writer: calling writer again closes the cycle.
    const cycle = await callError(
      inHandler(router, async (ctx) => {
        const meta = (ctx as RequestState).meta as { callChain?: readonly string[] };
        meta.callChain = ['writer'];
        return ctx.agents.chat.startStream('writer', 'x');
      }),
    );
    expect(cycle.code).toBe(ArcErrorCode.CircularReference);
    expect(router.inFlight).toBe(0);
  });

  it('break out of for await cancels the target: its slot is free at once and its generator ends', async () => {
    setup();
    const inFlightAfterBreak = await inHandler(router, async (ctx) => {
      const stream = await ctx.agents.chat.startStream('writer', 'hi');
      for await (const chunk of stream) {
        expect(chunk.text).toBe('Hello ');
        break;
      }
      return router.inFlight; // the probe itself only
    });
    expect(inFlightAfterBreak).toBe(1);
    await expect(finished.promise).resolves.toBe('cancelled');
    await aborted.promise;
    expect(ends).toEqual(['chat.start stream-aborted ok']);
  });

  it('cancel() before reading: nothing is yielded, the slot is free; cancel is idempotent', async () => {
    setup();
    const out = await inHandler(router, async (ctx) => {
      const stream = await ctx.agents.chat.startStream('writer', 'hi');
      const during = router.inFlight;
      stream.cancel();
      stream.cancel();
      const after = router.inFlight;
      return { during, after, chunks: await texts(stream), status: stream.status };
    });
    expect(out).toEqual({ during: 2, after: 1, chunks: [], status: undefined });
  });

  it('no event within the timeout: the iterator throws -41006 and the target is aborted', async () => {
    setup();
    const got: string[] = [];
    const started = performance.now();
    const err = await callError(
      inHandler(router, async (ctx) => {
        const stream = await ctx.agents.chat.startStream('writer', 'quiet', { timeoutMs: 300 });
        for await (const chunk of stream) got.push(chunk.text);
      }),
    );
    expect(got).toEqual(['Hello ']);
    expect(err.code).toBe(ArcErrorCode.AgentTimeout);
    expect(err.message).toMatch(/sent no stream event for 300 ms/);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    await aborted.promise;
    expect(router.inFlight).toBe(0);
  });

  it('a stream left unread is closed after the timeout; reading it then throws -41006', async () => {
    setup();
    const err = await callError(
      inHandler(router, async (ctx) => {
        const stream = await ctx.agents.chat.startStream('eager', 'hi', { timeoutMs: 200 });
        await aborted.promise; // the stream closed the target's reply by itself
        expect(router.inFlight).toBe(1);
        return texts(stream);
      }),
    );
    expect(err.code).toBe(ArcErrorCode.AgentTimeout);
    expect(err.message).toMatch(/not read for 200 ms/);
  });

  it('no answer within the timeout rejects with -41006 and aborts the target', async () => {
    setup();
    const err = await callError(inHandler(router, (ctx) => ctx.agents.chat.startStream('slow-start', 'x', { timeoutMs: 200 })));
    expect(err.code).toBe(ArcErrorCode.AgentTimeout);
    await aborted.promise;
  });

  it('the signal closes the stream: the iterator throws AgentCallError, the target is cancelled', async () => {
    setup();
    const controller = new AbortController();
    const got: string[] = [];
    const err = await callError(
      inHandler(router, async (ctx) => {
        const stream = await ctx.agents.chat.startStream('writer', 'quiet', { signal: controller.signal });
        for await (const chunk of stream) {
          got.push(chunk.text);
          controller.abort();
        }
      }),
    );
    expect(got).toEqual(['Hello ']);
    expect(err.retryable).toBe(false);
    await expect(finished.promise).resolves.toBe('cancelled');
    expect(router.inFlight).toBe(0);
  });

  it('a transport without stream() refuses with -32603; call() still refuses a stream reply', async () => {
    setup({ agentCalls: { transport: { canReach: (t) => t === 'remote-x', call: () => Promise.resolve('x') } } });
    const err = await callError(inHandler(router, (ctx) => ctx.agents.chat.startStream('remote-x', 'x')));
    expect(err.code).toBe(ArcErrorCode.InternalError);
    expect(err.message).toMatch(/does not stream/);
    const viaCall = await callError(
      inHandler(router, (ctx) =>
        ctx.agents.request('writer', 'chat.start', {
          initialMessage: { role: 'user', parts: [{ type: 'TextPart', content: 'x' }] },
          stream: true,
        }),
      ),
    );
    expect(viaCall.code).toBe(ArcErrorCode.InternalError);
    expect(viaCall.message).toMatch(/answered chat.start with a stream/);
  });
});

// ---------------------------------------------------------------------------------------------

const SSE = { 'Content-Type': 'text/event-stream' };
const msg = (text: string) => ({ role: 'agent', parts: [{ type: 'TextPart', content: text }] });

/** What the raw server does for each target agent (the envelope's targetAgent). */
const scenarios: Record<string, (res: ServerResponse, body: Record<string, unknown>) => void> = {
  // No space after the colons, a line split across writes, a comment, an unknown event, LF framing.
  nospace: (res) => {
    res.writeHead(200, SSE);
    res.write(`event:stream\ndata:${JSON.stringify({ chatId: 'c-1', message: msg('Hel') })}\n\n: keep-alive\n\nev`);
    res.write(`ent:content\ndata:{"x":1}\n\nevent:stream\ndata:${JSON.stringify({ chatId: 'c-1', message: msg('lo') })}\n`);
    res.end(`\nevent:done\ndata:{"chatId":"c-1","status":"CLOSED","done":true}\n\n`);
  },
  crlf: (res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8' });
    res.end(
      `event: stream\r\ndata: ${JSON.stringify({ chatId: 'c-2', message: msg('crlf') })}\r\n\r\nevent: done\r\ndata: {"chatId":"c-2","status":"ACTIVE","done":true}\r\n\r\n`,
    );
  },
  'error-sdk': (res) => {
    res.writeHead(200, SSE);
    res.write(`event: stream\ndata: ${JSON.stringify({ chatId: 'c-3', message: msg('a') })}\n\n`);
    res.write(`event: error\ndata: {"chatId":"c-3","error":{"code":-42004,"message":"Stream error: boom"}}\n\n`);
    res.end(`event: done\ndata: {"chatId":"c-3","status":"ERROR","done":true}\n\n`);
  },
  'error-wrapper': (res) => {
    res.writeHead(200, SSE);
    res.end(`event: error\ndata: {"message":"wrapped failure","code":-43005}\n\n`);
  },
  'error-nocode': (res) => {
    res.writeHead(200, SSE);
    res.end(`event: error\ndata: {"message":"no code"}\n\n`);
  },
  'bad-chunk': (res) => {
    res.writeHead(200, SSE);
    res.end(`event: stream\ndata: {"chatId":"c-9"}\n\n`);
  },
  eof: (res) => {
    res.writeHead(200, SSE);
    res.end(`event: stream\ndata: ${JSON.stringify({ chatId: 'c-4', message: msg('only') })}\n\n`);
  },
  'json-result': (res, body) => {
    res.writeHead(200, { 'Content-Type': 'application/arc+json' });
    const result = { type: 'chat', chat: { chatId: 'c-5', status: 'ACTIVE', message: msg('whole answer') } };
    res.end(JSON.stringify({ arc: '1.0', id: body.id, responseAgent: 'x', targetAgent: 'y', result, error: null }));
  },
  'json-not-chat': (res, body) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ arc: '1.0', id: body.id, result: { ok: true }, error: null }));
  },
  'json-error': (res, body) => {
    res.writeHead(404, { 'Content-Type': 'application/arc+json' });
    const error = { code: -43001, message: 'Chat not found: c-x', details: { chatId: 'c-x' } };
    res.end(JSON.stringify({ arc: '1.0', id: body.id, result: null, error }));
  },
  busy: (res, body) => {
    res.writeHead(503, { 'Content-Type': 'application/arc+json', 'Retry-After': '3' });
    res.end(JSON.stringify({ arc: '1.0', id: body.id, result: null, error: { code: -41011, message: 'at capacity', details: {} } }));
  },
  html: (res) => {
    res.writeHead(502, { 'Content-Type': 'text/html' });
    res.end('<html>Bad Gateway</html>');
  },
  'stall-answer': () => undefined,
  'stall-events': (res) => {
    res.writeHead(200, SSE);
    res.write(`event: stream\ndata: ${JSON.stringify({ chatId: 'c-6', message: msg('first') })}\n\n`);
  },
  reset: (res) => {
    res.writeHead(200, SSE);
    res.write(`event: stream\ndata: ${JSON.stringify({ chatId: 'c-7', message: msg('first') })}\n\n`, () => res.socket?.destroy());
  },
};

describe('streamed agent calls over HTTP', () => {
  let raw: Awaited<ReturnType<typeof listenPlain>>;
  let serverB: ArcServer;
  let serverA: ArcServer;
  let urlA: string;
  let transport: HttpAgentTransport;
  let refusedUrl: string;
  const rawSeen: { headers: IncomingMessage['headers']; body: Record<string, unknown> }[] = [];
  const rawClosed = new Map<string, Deferred>();
  const endsAtB: string[] = [];
  const endedAtB = deferred();
  const atB: { traceparent: unknown; chain: unknown; authorization: unknown; requestAgent: string; traceId: string | undefined }[] = [];

  beforeAll(async () => {
    raw = await listenPlain((req, res) => {
      void readAll(req).then((text) => {
        const body = JSON.parse(text) as Record<string, unknown>;
        rawSeen.push({ headers: req.headers, body });
        const target = String(body.targetAgent);
        const closed = deferred();
        rawClosed.set(target, closed);
        res.on('close', () => closed.resolve());
        scenarios[target]!(res, body);
      });
    });
    refusedUrl = `http://127.0.0.1:${await freePort()}/arc`;

    serverB = createArcServer({ serverId: 'stream-b' });
    serverB.addHook('onResponse', (ctx, outcome) => {
      endsAtB.push(`${ctx.method} ${outcome.transport}`);
      endedAtB.resolve();
    });
    serverB.addAgent(
      new ArcAgent('writer').on('chat.start', async function* (p, ctx) {
        const headers = (ctx as RequestState).meta.headers ?? {};
        atB.push({
          traceparent: headers.traceparent,
          chain: headers['x-arc-call-chain'],
          authorization: headers.authorization,
          requestAgent: ctx.requestAgent,
          traceId: ctx.traceId,
        });
        yield 'Hello ';
        yield `from B (${messageText(p.initialMessage)})`;
      }),
    );
    const urlB = (await serverB.listen(0, '127.0.0.1')).url;

    const routes: Record<string, string> = { writer: `${urlB}/arc`, gone: refusedUrl };
    for (const name of Object.keys(scenarios)) routes[name] = `${raw.url}/arc`;
    transport = new HttpAgentTransport({ routes, headers: { Authorization: 'Bearer call-token' } });
    serverA = createArcServer({ serverId: 'stream-a', agentCalls: { transport, timeoutMs: 2000 } });
    serverA.addAgent(
      new ArcAgent('front').on('chat.start', async function* (p, ctx) {
        // Relays B's stream to its own caller, chunk by chunk.
        const stream = await ctx.agents.chat.startStream('writer', messageText(p.initialMessage), { signal: ctx.signal });
        for await (const chunk of stream) yield chunk.text;
        yield ` [${stream.status}]`;
      }),
    );
    urlA = (await serverA.listen(0, '127.0.0.1')).url;
  });

  afterAll(async () => {
    await serverA.close({ graceMs: 1000 });
    await serverB.close({ graceMs: 1000 });
    await raw.close();
  });

  const request = (target: string, timeoutMs = 2000, signal?: AbortSignal): AgentCallRequest => ({
    id: `req-${target}`,
    target,
    method: 'chat.start',
    params: { initialMessage: { role: 'user', parts: [{ type: 'TextPart', content: 'hi' }] }, stream: true },
    requestAgent: 'front',
    traceId: 'trace-stream-1',
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    chain: ['front'],
    timeoutMs,
    ...(signal !== undefined ? { signal } : {}),
  });

  it('A relays B’s stream: the caller gets SSE; B saw requestAgent, traceId, a child traceparent, the chain, the token', async () => {
    const res = await httpRequest(urlA, {
      body: JSON.stringify(
        envelope(
          'chat.start',
          { initialMessage: { role: 'user', parts: [{ type: 'TextPart', content: 'x' }] }, stream: true },
          {
            targetAgent: 'front',
            traceId: 'trace-relay',
          },
        ),
      ),
      headers: { 'Content-Type': 'application/arc+json', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream');
    const chunks = res.text
      .split('\n\n')
      .filter((f) => f.startsWith('event: stream'))
      .map((f) => JSON.parse(f.split('\ndata: ')[1]!).message.parts[0].content as string);
    expect(chunks.join('')).toBe('Hello from B (x) [ACTIVE]');
    expect(atB).toHaveLength(1);
    expect(atB[0]).toMatchObject({ requestAgent: 'front', traceId: 'trace-relay', chain: 'front', authorization: 'Bearer call-token' });
    const [, traceId, parent] = String(atB[0]!.traceparent).split('-');
    expect(traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(parent).not.toBe('b7ad6b7169203331');
    await endedAtB.promise;
    expect(endsAtB).toEqual(['chat.start stream']);
    expect(serverB.router.inFlight).toBe(0);
  });

  it('sends the envelope with stream: true and the call headers', async () => {
    rawSeen.length = 0;
    await texts(await transport.stream(request('eof')));
    expect(rawSeen[0]!.body).toMatchObject({
      arc: '1.0',
      id: 'req-eof',
      method: 'chat.start',
      requestAgent: 'front',
      targetAgent: 'eof',
      traceId: 'trace-stream-1',
    });
    expect((rawSeen[0]!.body.params as Record<string, unknown>).stream).toBe(true);
    expect(rawSeen[0]!.headers).toMatchObject({
      'content-type': 'application/arc+json',
      accept: expect.stringContaining('text/event-stream'),
      authorization: 'Bearer call-token',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      'x-arc-call-chain': 'front',
    });
  });

  it('event:/data: without a space, a line split across packets, comments and unknown events skipped', async () => {
    const stream = await transport.stream(request('nospace'));
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((c) => [c.chatId, c.text])).toEqual([
      ['c-1', 'Hel'],
      ['c-1', 'lo'],
    ]);
    expect(stream.chatId).toBe('c-1');
    expect(stream.status).toBe('CLOSED');
  });

  it('CRLF framing is read too', async () => {
    const stream = await transport.stream(request('crlf'));
    expect(await texts(stream)).toEqual(['crlf']);
    expect(stream.status).toBe('ACTIVE');
  });

  it.each([
    ['error-sdk', -42004, /boom/, ['a']],
    ['error-wrapper', -43005, /wrapped failure/, []],
    ['error-nocode', -43005, /no code/, []],
    ['bad-chunk', -43005, /stream event without a message/, []],
  ])('%s: the iterator throws AgentCallError %d after the chunks before it', async (target, code, message, before) => {
    const stream = await transport.stream(request(target));
    const got: string[] = [];
    const err = await callError(
      (async () => {
        for await (const chunk of stream) got.push(chunk.text);
      })(),
    );
    expect(got).toEqual(before);
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
    await rawClosed.get(target)!.promise;
  });

  it('EOF without done ends quietly (status undefined)', async () => {
    const stream = await transport.stream(request('eof'));
    expect(await texts(stream)).toEqual(['only']);
    expect(stream.status).toBeUndefined();
    expect(stream.chatId).toBe('c-4');
  });

  it('a JSON result to a streamed call is one chunk; chatId known at once', async () => {
    const stream = await transport.stream(request('json-result'));
    expect(stream.chatId).toBe('c-5');
    expect(await texts(stream)).toEqual(['whole answer']);
    expect(stream.status).toBe('ACTIVE');
    const notChat = await callError(transport.stream(request('json-not-chat')));
    expect(notChat.code).toBe(ArcErrorCode.InternalError);
  });

  it('errors before streaming reject: a JSON error at 404 and 503 (retryable), HTML 502, a refused connection', async () => {
    const notFound = await callError(transport.stream(request('json-error')));
    expect(notFound.code).toBe(ArcErrorCode.ChatNotFound);
    expect(notFound.details).toEqual({ chatId: 'c-x' });
    const busy = await callError(transport.stream(request('busy')));
    expect(busy.code).toBe(ArcErrorCode.AgentCapacityExceeded);
    expect(busy.retryable).toBe(true);
    expect(busy.retryAfter).toBe(3);
    const html = await callError(transport.stream(request('html')));
    expect(html.code).toBe(ArcErrorCode.AgentUnreachable);
    expect(html.details.httpStatus).toBe(502);
    expect(html.retryable).toBe(false);
    const refused = await callError(transport.stream(request('gone')));
    expect(refused.code).toBe(ArcErrorCode.AgentUnreachable);
    expect(refused.retryable).toBe(true);
    const noRoute = await callError(transport.stream(request('nowhere')));
    expect(noRoute.code).toBe(ArcErrorCode.AgentNotFound);
  });

  it('no answer within the timeout: -41006, and the connection is closed', async () => {
    const started = performance.now();
    const err = await callError(transport.stream(request('stall-answer', 300)));
    expect(err.code).toBe(ArcErrorCode.AgentTimeout);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    await rawClosed.get('stall-answer')!.promise;
  });

  it('no event within the timeout after the first: -41006, and the connection is closed', async () => {
    const stream = await transport.stream(request('stall-events', 300));
    const got: string[] = [];
    const err = await callError(
      (async () => {
        for await (const chunk of stream) got.push(chunk.text);
      })(),
    );
    expect(got).toEqual(['first']);
    expect(err.code).toBe(ArcErrorCode.AgentTimeout);
    await rawClosed.get('stall-events')!.promise;
  });

  it('a connection that breaks mid-stream: -41003, not retryable (also when it broke before the first read)', async () => {
    const unread = await transport.stream(request('reset'));
    await rawClosed.get('reset')!.promise;
    await new Promise<void>((resolve) => setImmediate(resolve)); // let the client see the reset before reading
    const before = await callError(texts(unread));
    expect(before.code).toBe(ArcErrorCode.AgentUnreachable);

    const stream = await transport.stream(request('reset'));
    const got: string[] = [];
    const err = await callError(
      (async () => {
        for await (const chunk of stream) got.push(chunk.text);
      })(),
    );
    expect(got).toEqual(['first']);
    expect(err.code).toBe(ArcErrorCode.AgentUnreachable);
    expect(err.retryable).toBe(false);
  });

  it('cancel(), break and the signal close the HTTP response', async () => {
    const cancelled = await transport.stream(request('stall-events'));
    cancelled.cancel();
    await rawClosed.get('stall-events')!.promise;
    expect(await texts(cancelled)).toEqual([]);

    const broken = await transport.stream(request('stall-events'));
    for await (const chunk of broken) {
      expect(chunk.text).toBe('first');
      break;
    }
    await rawClosed.get('stall-events')!.promise;

    const controller = new AbortController();
    const aborted = await transport.stream(request('stall-events', 5000, controller.signal));
    const iterator = aborted[Symbol.asyncIterator]();
    expect((await iterator.next()).value.text).toBe('first');
    const pending = iterator.next();
    controller.abort();
    await callError(pending);
    await rawClosed.get('stall-events')!.promise;

    const early = new AbortController();
    early.abort();
    await callError(transport.stream(request('eof', 2000, early.signal)));
  });
});
