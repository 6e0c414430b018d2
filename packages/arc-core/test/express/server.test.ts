import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ArcError } from '../../src/errors/arc-error';
import { ArcServer, createArcServer } from '../../src/express';
import { ArcAgent } from '../../src/router/agent';
import { httpRequest, postJson } from '../support/http';
import { deferred, envelope, userMessage, type Deferred } from '../support/util';

const chatStart = (extra: Record<string, unknown> = {}, env: Record<string, unknown> = {}): Record<string, unknown> =>
  envelope('chat.start', { initialMessage: userMessage('hello'), ...extra }, { targetAgent: 'finance-agent', ...env });

/** No stack frame, no Error class name, no file path in a body. */
function expectNoStack(text: string): void {
  expect(text).not.toMatch(/\bat .*\(?[/\\].*:\d+:\d+/);
  expect(text).not.toMatch(/\b(Type|Reference|Syntax)?Error: /);
  expect(text).not.toContain('node_modules');
  expect(text).not.toContain('/src/');
}

describe('ArcServer (Express) over HTTP', () => {
  let server: ArcServer;
  let url: string;
  let gate: Deferred;
  let gateEntered: Deferred;

  beforeAll(async () => {
    server = createArcServer({ serverId: 'test-server', description: 'unit test server', version: '9.9.9', bodyLimitBytes: 2048 });
    gate = deferred();
    gateEntered = deferred();
    server.addAgent(
      new ArcAgent('finance-agent', { description: 'Invoices' })
        .on('chat.start', () => 'Welcome')
        .on('chat.message', async function* (p) {
          const first = p.message.parts[0];
          yield 'Processing ';
          yield `"${first?.type === 'TextPart' ? first.content : ''}"\n`;
          yield 'done';
        })
        .on('boom', () => {
          throw new TypeError("Cannot read properties of undefined (reading 'ledger')");
        })
        .on('refuse', () => {
          throw new ArcError(-42004, 'Payment gateway refused the charge', { gateway: 'stripe' });
        }),
    );
    server.addAgent(
      new ArcAgent('busy-agent', { maxConcurrent: 1 }).on('hold', async () => {
        gateEntered.resolve();
        await gate.promise;
        return { held: true };
      }),
    );
    server.agentHandler('hr-agent', 'task.create', () => ({
      type: 'task',
      task: { taskId: 't-1', status: 'SUBMITTED', createdAt: '2025-01-01T00:00:00Z' },
    }));
    const addr = await server.listen(0, '127.0.0.1');
    expect(addr.host).toBe('127.0.0.1');
    expect(addr.port).toBeGreaterThan(0);
    url = addr.url;
  });

  afterAll(async () => {
    gate.resolve();
    await server.close({ graceMs: 1000 });
  });

  describe('request Content-Type is ignored', () => {
    it.each([
      ['application/arc+json', { 'Content-Type': 'application/arc+json' }],
      ['application/json', { 'Content-Type': 'application/json' }],
      ['application/json; charset=utf-8', { 'Content-Type': 'application/json; charset=utf-8' }],
      ['text/event-stream', { 'Content-Type': 'text/event-stream' }],
      ['text/plain', { 'Content-Type': 'text/plain' }],
      ['application/x-www-form-urlencoded', { 'Content-Type': 'application/x-www-form-urlencoded' }],
      ['no Content-Type at all', {}],
    ])('%s', async (_name, headers) => {
      const res = await postJson(url, chatStart({}, { id: 'ct-1' }), headers);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/json');
      const body = res.json();
      expect(body.id).toBe('ct-1');
      expect(body.error).toBeNull();
      expect(body.result.chat.message.parts[0]).toEqual({ type: 'TextPart', content: 'Welcome' });
    });
  });

  it('answers JSON with Content-Length and application/json', async () => {
    const res = await postJson(url, chatStart());
    expect(res.headers['content-type']).toBe('application/json');
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.text));
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('a body over the limit → -45004 / 413 as a JSON envelope', async () => {
    const big = chatStart({ initialMessage: userMessage('x'.repeat(4096)) });
    const res = await postJson(url, big);
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toBe('application/json');
    const body = res.json();
    expect(body.error).toEqual({ code: -45004, message: 'Request body exceeds the limit of 2048 bytes', details: { limitBytes: 2048 } });
    expect(body.result).toBeNull();
    expect(body.arc).toBe('1.0');
    expect(body.responseAgent).toBe('test-server');
  });

  it('a body just under the limit is accepted', async () => {
    const small = chatStart({ initialMessage: userMessage('x'.repeat(1500)) });
    expect(Buffer.byteLength(JSON.stringify(small))).toBeLessThan(2048);
    const res = await postJson(url, small);
    expect(res.status).toBe(200);
  });

  it.each(['GET', 'PUT', 'DELETE', 'PATCH'])('%s /arc → 405 with Allow: POST and a JSON body', async (method) => {
    const res = await httpRequest(url, { method, path: '/arc' });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
    expect(res.headers['content-type']).toBe('application/json');
    const body = res.json();
    expect(body.error.code).toBe(-32600);
    expect(body.error.message).toBe(`HTTP method ${method} is not allowed on /arc; send ARC requests with POST`);
    expect(body.error.details).toEqual({ allow: ['POST'] });
  });

  it.each([
    ['GET', '/nope'],
    ['POST', '/arc/extra'],
    ['POST', '/'],
    ['GET', '/.well-known/agent.json'],
  ])('%s %s → 404 JSON', async (method, path) => {
    const res = await httpRequest(url, { method, path, body: method === 'POST' ? '{}' : undefined });
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/json');
    const body = res.json();
    expect(body.error.code).toBe(-32600);
    expect(body.error.message).toBe(`No route for ${method} ${path}; ARC requests go to POST /arc`);
    expect(body.responseAgent).toBe('test-server');
  });

  it('GET /health', async () => {
    const res = await httpRequest(url, { method: 'GET', path: '/health' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.json()).toEqual({ status: 'healthy', server_id: 'test-server', server: 'test-server', version: '9.9.9', agents: 3 });
  });

  it('GET /agent-info', async () => {
    const res = await httpRequest(url, { method: 'GET', path: '/agent-info' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['description', 'endpoints', 'registeredAgents', 'server', 'status', 'totalAgents']);
    expect(body).toMatchObject({
      server: 'test-server',
      description: 'unit test server',
      status: 'active',
      endpoints: { arc: '/arc' },
      totalAgents: 3,
    });
    expect(Object.keys(body.registeredAgents)).toEqual(['finance-agent', 'busy-agent', 'hr-agent']);
    expect(body.registeredAgents['finance-agent']).toEqual({
      supportedMethods: ['chat.start', 'chat.message', 'boom', 'refuse', 'chat.end'],
      status: 'active',
      description: 'Invoices',
    });
    expect(body.registeredAgents['hr-agent']).toEqual({ supportedMethods: ['task.create'], status: 'active' });
  });

  it('envelope errors keep their HTTP status over the wire', async () => {
    const bad = await httpRequest(url, { body: '{"arc":"1.0",', headers: { 'Content-Type': 'application/arc+json' } });
    expect(bad.status).toBe(400);
    expect(bad.json().error.code).toBe(-32700);
    expect(bad.json().id).toBeNull();
    const empty = await httpRequest(url, { body: '', headers: { 'Content-Type': 'application/arc+json' } });
    expect(empty.status).toBe(400);
    expect(empty.json().error).toEqual({ code: -32700, message: 'Parse error: request body is empty', details: {} });
    const noBody = await httpRequest(url, { method: 'POST' });
    expect(noBody.status).toBe(400);
    expect(noBody.json().error.code).toBe(-32700);
    const utf8 = await httpRequest(url, {
      body: Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]),
      headers: { 'Content-Type': 'application/json' },
    });
    expect(utf8.status).toBe(400);
    expect(utf8.json().error.message).toBe('Parse error: request body is not valid UTF-8');
    const unknown = await postJson(url, chatStart({}, { targetAgent: 'ghost' }));
    expect(unknown.status).toBe(404);
    expect(unknown.json().error.code).toBe(-41001);
    expect(unknown.json().error.details.availableAgents).toEqual(['finance-agent', 'busy-agent', 'hr-agent']);
  });

  it('a charset in Content-Type does not change how the body is decoded', async () => {
    const res = await postJson(url, chatStart({ initialMessage: userMessage('Grüße €') }, { id: 'cs' }), {
      'Content-Type': 'text/plain; charset=latin1',
    });
    expect(res.status).toBe(200);
    expect(res.json().id).toBe('cs');
  });

  it('a handler ArcError → 200 with its code, message and details', async () => {
    const res = await postJson(url, envelope('refuse', {}, { targetAgent: 'finance-agent', traceId: 'tr-9' }));
    expect(res.status).toBe(200);
    const body = res.json();
    expect(body.error).toEqual({ code: -42004, message: 'Payment gateway refused the charge', details: { gateway: 'stripe' } });
    expect(body.traceId).toBe('tr-9');
  });

  it('an unexpected handler failure → 500 -32603 with no stack trace or internal text in the body', async () => {
    const res = await postJson(url, envelope('boom', {}, { targetAgent: 'finance-agent' }));
    expect(res.status).toBe(500);
    expect(res.headers['content-type']).toBe('application/json');
    const body = res.json();
    expect(body.error.code).toBe(-32603);
    expect(body.error.message).toBe('Internal error');
    expect(typeof body.error.details.errorId).toBe('string');
    expect(res.text).not.toContain('ledger');
    expectNoStack(res.text);
  });

  it.each([
    ['parse error', '{"arc":'],
    ['invalid UTF-8', Buffer.from([0xff, 0xfe, 0xfd])],
    ['not an object', '[1,2,3]'],
    ['wrong types', JSON.stringify({ arc: '1.0', id: {}, method: [], requestAgent: 1, targetAgent: {}, params: 'x' })],
  ])('no stack trace in the body for %s', async (_name, body) => {
    const res = await httpRequest(url, { body, headers: { 'Content-Type': 'application/json' } });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expectNoStack(res.text);
    expect(res.headers['content-type']).toBe('application/json');
  });

  it('an unsupported Content-Encoding → 400 JSON, not an HTML page', async () => {
    const res = await httpRequest(url, {
      body: JSON.stringify(chatStart()),
      headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'br-unknown' },
    });
    expect([400, 415]).toContain(res.status);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.json().error.code).toBe(-32700);
    expectNoStack(res.text);
  });

  describe('SSE', () => {
    it('streams with the SSE headers and exact LF framing', async () => {
      const res = await postJson(url, chatStart({ chatId: 'sse-1' }, { id: 'open-1' }));
      expect(res.status).toBe(200);
      const streamed = await httpRequest(url, {
        body: JSON.stringify(
          envelope(
            'chat.message',
            { chatId: 'sse-1', message: userMessage('INV-1'), stream: true },
            { targetAgent: 'finance-agent', id: 'st-1' },
          ),
        ),
        headers: { 'Content-Type': 'text/event-stream', Accept: 'text/event-stream' },
      });
      expect(streamed.status).toBe(200);
      expect(streamed.headers['content-type']).toBe('text/event-stream');
      expect(streamed.headers['cache-control']).toBe('no-cache');
      expect(streamed.headers['x-accel-buffering']).toBe('no');
      expect(streamed.headers['content-length']).toBeUndefined();
      const part = (content: string): string =>
        JSON.stringify({ chatId: 'sse-1', message: { role: 'agent', parts: [{ type: 'TextPart', content }] } });
      expect(streamed.text).toBe(
        `event: stream\ndata: ${part('Processing ')}\n\n` +
          `event: stream\ndata: ${part('"INV-1"\n')}\n\n` +
          `event: stream\ndata: ${part('done')}\n\n` +
          'event: done\ndata: {"chatId":"sse-1","status":"ACTIVE","done":true,"requestId":"st-1"}\n\n',
      );
      expect(streamed.text).not.toContain('\r');
      // A newline inside content is escaped: every data line is one line.
      for (const frame of streamed.text.split('\n\n').filter(Boolean)) expect(frame.split('\n')).toHaveLength(2);
    });

    it('an error before the stream starts is a JSON error with a 4xx status', async () => {
      const res = await httpRequest(url, {
        body: JSON.stringify(
          envelope('chat.message', { chatId: 'no-such-chat', message: userMessage('x'), stream: true }, { targetAgent: 'finance-agent' }),
        ),
        headers: { 'Content-Type': 'text/event-stream' },
      });
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toBe('application/json');
      expect(res.json().error).toMatchObject({ code: -43001, message: 'Chat not found: no-such-chat' });
    });
  });

  it('-41011 over HTTP is a 503 with a Retry-After header', async () => {
    const first = postJson(url, envelope('hold', {}, { targetAgent: 'busy-agent', id: 'h1' }));
    await gateEntered.promise;
    const second = await postJson(url, envelope('hold', {}, { targetAgent: 'busy-agent', id: 'h2' }));
    expect(second.status).toBe(503);
    expect(second.headers['retry-after']).toBe('1');
    expect(second.json().error.code).toBe(-41011);
    expect(second.json().error.message).toBe('Agent busy-agent is at capacity (1 requests in flight); retry shortly');
    gate.resolve();
    const done = await first;
    expect(done.status).toBe(200);
    expect(done.json().result).toEqual({ held: true });
    expect(done.headers['retry-after']).toBeUndefined();
  });
});

describe('ArcServer shutdown', () => {
  it('lets a request in flight finish, then /health is 503 draining and /arc is served with Connection: close', async () => {
    const server = new ArcServer({ serverId: 'closing-server' });
    const gate = deferred();
    const entered = deferred();
    server.agentHandler('agent-a', 'slow', async () => {
      entered.resolve();
      await gate.promise;
      return 'finished';
    });
    const { url } = await server.listen(0, '127.0.0.1');
    const inFlight = postJson(url, envelope('slow', {}));
    await entered.promise;
    expect(server.isDraining).toBe(false);
    const closing = server.close({ graceMs: 5000 });
    expect(server.isDraining).toBe(true);
    gate.resolve();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(res.json().result).toBe('finished');
    await closing;
    expect(server.httpServer?.listening).toBe(false);

    // The listener is gone; serve the same app on a fresh port to see what a draining server answers.
    const probe = http.createServer(server.app);
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    try {
      const probeUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
      const health = await httpRequest(probeUrl, { method: 'GET', path: '/health' });
      expect(health.status).toBe(503);
      expect(health.json()).toMatchObject({ status: 'draining', server_id: 'closing-server', server: 'closing-server', agents: 1 });
      const info = await httpRequest(probeUrl, { method: 'GET', path: '/agent-info' });
      expect(info.json().status).toBe('draining');
      // A request that still arrives on an open keep-alive connection is served, and that
      // connection is then closed, so nothing already on its way is lost.
      const arc = await postJson(probeUrl, envelope('slow', {}));
      expect(arc.status).toBe(200);
      expect(arc.json().result).toBe('finished');
      expect(arc.headers.connection).toBe('close');
    } finally {
      await new Promise<void>((resolve) => probe.close(() => resolve()));
    }
  });

  it('close() on a server that never listened just releases the store', async () => {
    const server = new ArcServer({ serverId: 'idle' });
    await expect(server.close()).resolves.toBeUndefined();
  });

  it('/health is 503 when the chat store cannot be reached', async () => {
    const server = new ArcServer({ serverId: 'sick' });
    server.router.chatStore.ping = () => Promise.reject(new Error('redis down'));
    const { url } = await server.listen(0, '127.0.0.1');
    try {
      const res = await httpRequest(url, { method: 'GET', path: '/health' });
      expect(res.status).toBe(503);
      expect(res.json()).toMatchObject({ status: 'unavailable', server_id: 'sick' });
    } finally {
      await server.close();
    }
  });

  it('listen() rejects when the port is taken', async () => {
    const a = new ArcServer({ serverId: 'a' });
    const b = new ArcServer({ serverId: 'b' });
    const { port } = await a.listen(0, '127.0.0.1');
    try {
      await expect(b.listen(port, '127.0.0.1')).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await a.close();
      await b.close();
    }
  });
});
