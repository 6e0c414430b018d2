/**
 * Oversize bodies (issue 8, hole 4): the client reads the 413 -45004 envelope instead of a
 * connection reset, whether the size is declared (Content-Length), announced with
 * `Expect: 100-continue` (refused before the body is sent), or only found while reading
 * (chunked); a client that never stops sending is cut off after a bounded discard.
 */
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { ArcServer, createArcServer } from '../../src/express';
import { refuseBody } from '../../src/express/refuse-body';
import { ArcAgent } from '../../src/router/agent';
import { listenPlain } from '../support/http';
import { parseResponses, rawExchange } from './raw-http';

const LIMIT = 1024 * 1024;
let server: ArcServer;
let url: string;
let port: number;

beforeAll(async () => {
  server = createArcServer({ serverId: 'oversize-test', bodyLimitBytes: LIMIT });
  server.addAgent(new ArcAgent('finance-agent').on('echo', (params) => params));
  url = `${(await server.listen(0, '127.0.0.1')).url}/arc`;
  port = (server.httpServer!.address() as AddressInfo).port;
});

afterAll(() => server.close({ graceMs: 500 }));

const tooLarge = { code: -45004, message: `Request body exceeds the limit of ${LIMIT} bytes`, details: { limitBytes: LIMIT } };
const echo = (size: number) =>
  JSON.stringify({
    arc: '1.0',
    id: 'o-1',
    method: 'echo',
    requestAgent: 'tester',
    targetAgent: 'finance-agent',
    params: { pad: 'x'.repeat(size) },
  });

it('20 fetch calls with a declared body 3× the limit all read the 413 envelope', async () => {
  const body = echo(3 * LIMIT);
  for (let i = 0; i < 20; i++) {
    const res = await fetch(url, { method: 'POST', body });
    expect(res.status).toBe(413);
    expect(res.headers.get('connection')).toBe('close');
    expect(((await res.json()) as { error: unknown }).error).toEqual(tooLarge);
  }
});

it('a chunked body (no Content-Length) that grows past the limit → the client reads the 413', async () => {
  const piece = new TextEncoder().encode('x'.repeat(64 * 1024));
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= 3 * LIMIT) return controller.close();
      sent += piece.length;
      controller.enqueue(piece);
    },
  });
  const res = await fetch(url, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
  expect(res.status).toBe(413);
  expect(((await res.json()) as { error: unknown }).error).toEqual(tooLarge);
});

describe('Expect: 100-continue', () => {
  it('with a declared body over the limit → 413 at once, no 100 Continue, and the body is never needed', async () => {
    const { text } = await rawExchange(port, {
      send: `POST /arc HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${3 * LIMIT}\r\nExpect: 100-continue\r\n\r\n`,
      giveUpAfterMs: 8000,
    });
    const responses = parseResponses(text);
    expect(responses.map((r) => r.status)).toEqual([413]);
    expect(responses[0]!.headers.connection).toBe('close');
    expect(JSON.parse(responses[0]!.body).error).toEqual(tooLarge);
  });

  it('with a body within the limit → 100 Continue, then the answer', async () => {
    const body = echo(10);
    const socket = net.connect(port, '127.0.0.1');
    try {
      let text = '';
      socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
      socket.write(`POST /arc HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`);
      while (!text.includes('\r\n\r\n')) await once(socket, 'data');
      expect(text).toBe('HTTP/1.1 100 Continue\r\n\r\n');
      socket.write(body);
      while (
        parseResponses(text).length < 2 ||
        parseResponses(text)[1]!.body.length < Number(parseResponses(text)[1]!.headers['content-length'])
      )
        await once(socket, 'data');
      const [, answer] = parseResponses(text);
      expect(answer!.status).toBe(200);
      expect(JSON.parse(answer!.body).result).toEqual({ pad: 'xxxxxxxxxx' });
    } finally {
      socket.destroy();
    }
  });
});

it('a client that never stops sending reads the 413, then is cut off after a bounded discard', async () => {
  const socket = net.connect(port, '127.0.0.1');
  let text = '';
  let written = 0;
  socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
  socket.on('error', () => undefined); // the cut-off may be a reset
  await once(socket, 'connect');
  socket.write('POST /arc HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n');
  const chunk = Buffer.from(`10000\r\n${'x'.repeat(0x10000)}\r\n`);
  // Not events.once: it rejects on the 'error' the cut-off may bring.
  let open = true;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  void closed.then(() => (open = false));
  while (open) {
    written += chunk.length;
    if (!socket.write(chunk)) await Promise.race([new Promise((resolve) => socket.once('drain', resolve)), closed]);
  }
  const [res] = parseResponses(text);
  expect(res!.status).toBe(413);
  expect(JSON.parse(res!.body).error).toEqual(tooLarge);
  // Cut off after at most the discard bound (64 MiB) beyond the limit, give or take socket buffers.
  expect(written).toBeLessThan(LIMIT + 64 * 1024 * 1024 + 16 * 1024 * 1024);
});

it('a client that trickles its body after the refusal is cut off after the discard time bound', async () => {
  const plain = await listenPlain((req, res) => refuseBody(req, res, 413, { refused: true }, { maxMs: 300, maxBytes: 1024 * 1024 }));
  try {
    const { text, closedAfterMs } = await rawExchange((plain.server.address() as AddressInfo).port, {
      send: 'POST /arc HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n',
      trickle: 'x'.repeat(1000),
      trickleEveryMs: 20,
    });
    expect(parseResponses(text).map((r) => [r.status, r.body])).toEqual([[413, '{"refused":true}']]);
    // 1000 bytes every 20 ms would take 20 s; the bound is 300 ms (wide margin above it).
    expect(closedAfterMs).toBeGreaterThanOrEqual(250);
    expect(closedAfterMs).toBeLessThan(5000);
  } finally {
    await plain.close();
  }
});
