/**
 * Slow and silent connections are closed within the configured bounds (issue 8, hole 6):
 * no request head within `headersTimeoutMs` → closed (an ARC 408 if some of a head came),
 * no complete request within `requestTimeoutMs` → 408 envelope and closed; an idle keep-alive
 * connection lives `keepAliveTimeoutMs`, and a normal keep-alive client or a slow handler is
 * not affected. The timeouts are small here (hundreds of ms); the bounds asserted are wide.
 */
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { ArcServer, createArcServer } from '../../src/express';
import { ArcAgent } from '../../src/router/agent';
import { parseResponses, rawExchange } from './raw-http';

const HEADERS_TIMEOUT_MS = 300;
const REQUEST_TIMEOUT_MS = 600;
const KEEP_ALIVE_TIMEOUT_MS = 1500;
/** Far above each timeout plus Node's check interval and its 1 s keep-alive grace, far below the old 60 s+. */
const WITHIN_MS = 5000;

let server: ArcServer;
let port: number;
let url: string;

beforeAll(async () => {
  server = createArcServer({
    serverId: 'timeouts-test',
    headersTimeoutMs: HEADERS_TIMEOUT_MS,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS,
  });
  server.addAgent(
    new ArcAgent('finance-agent').on('slow', async () => {
      await new Promise((r) => setTimeout(r, REQUEST_TIMEOUT_MS + 300));
      return { slow: true };
    }),
  );
  url = (await server.listen(0, '127.0.0.1')).url;
  port = (server.httpServer!.address() as AddressInfo).port;
});

afterAll(() => server.close({ graceMs: 500 }));

const arcBody = (method: string) =>
  JSON.stringify({ arc: '1.0', id: `t-${method}`, method, requestAgent: 'tester', targetAgent: 'finance-agent', params: {} });

it('a connection that sends nothing is closed after the headers timeout, without an answer', async () => {
  const { text, closedAfterMs } = await rawExchange(port);
  expect(text).toBe('');
  expect(closedAfterMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
  expect(closedAfterMs).toBeLessThan(WITHIN_MS);
});

it('half a request head → 408 -32600 envelope, then closed', async () => {
  const { text, closedAfterMs } = await rawExchange(port, { send: 'POST /arc HTTP/1.1\r\nHost: localhost\r\nContent-Le' });
  expect(closedAfterMs).toBeLessThan(WITHIN_MS);
  const [res, ...more] = parseResponses(text);
  expect(more).toEqual([]);
  expect(res!.status).toBe(408);
  expect(res!.headers.connection).toBe('close');
  const body = JSON.parse(res!.body);
  expect(body).toMatchObject({ arc: '1.0', id: null, responseAgent: 'timeouts-test', result: null });
  expect(body.error).toEqual({
    code: -32600,
    message: `Invalid request: no complete request head within ${HEADERS_TIMEOUT_MS} ms`,
    details: { timeoutMs: HEADERS_TIMEOUT_MS },
  });
});

it('a body sent a byte every 100 ms is cut after the request timeout with a 408 envelope', async () => {
  const body = arcBody('slow');
  const { text, closedAfterMs } = await rawExchange(port, {
    send: `POST /arc HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${body.length}\r\n\r\n`,
    trickle: body,
    trickleEveryMs: 100,
  });
  expect(closedAfterMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
  expect(closedAfterMs).toBeLessThan(WITHIN_MS);
  const [res, ...more] = parseResponses(text);
  expect(more).toEqual([]);
  expect(res!.status).toBe(408);
  expect(JSON.parse(res!.body).error).toEqual({
    code: -32600,
    message: `Invalid request: the request was not received completely within ${REQUEST_TIMEOUT_MS} ms`,
    details: { timeoutMs: REQUEST_TIMEOUT_MS },
  });
});

it('a keep-alive client idle between requests for longer than the head and request timeouts is unaffected', async () => {
  const socket = net.connect(port, '127.0.0.1');
  try {
    let received = '';
    socket.on('data', (c: Buffer) => (received += c.toString('latin1')));
    const answers = async (n: number) => {
      while ((received.match(/\r\n\r\n/g) ?? []).length < n) await once(socket, 'data');
      return parseResponses(received).map((r) => r.status);
    };
    socket.write('GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n');
    expect(await answers(1)).toEqual([200]);
    // Idle for longer than the head and request timeouts, less than the keep-alive timeout.
    await new Promise((r) => setTimeout(r, REQUEST_TIMEOUT_MS + 200));
    socket.write('GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n');
    expect(await answers(2)).toEqual([200, 200]);
  } finally {
    socket.destroy();
  }
});

it('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
  const { text, closedAfterMs } = await rawExchange(port, { send: 'GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n' });
  expect(parseResponses(text).map((r) => r.status)).toEqual([200]);
  expect(closedAfterMs).toBeGreaterThanOrEqual(KEEP_ALIVE_TIMEOUT_MS - 50);
  expect(closedAfterMs).toBeLessThan(WITHIN_MS);
});

it('a handler slower than the request timeout still answers (the timeout bounds receiving the request only)', async () => {
  const res = await fetch(`${url}/arc`, { method: 'POST', body: arcBody('slow') });
  expect(res.status).toBe(200);
  expect(((await res.json()) as { result: unknown }).result).toEqual({ slow: true });
});
