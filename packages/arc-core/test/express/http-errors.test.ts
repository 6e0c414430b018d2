/**
 * Requests that Node's HTTP parser (or the HTTP layer before routing) refuses get a complete
 * HTTP response with an ARC error envelope and `Connection: close`, never a bare status line
 * (issue 8, hole 8). Raw TCP sockets send the exact bytes.
 */
import type { AddressInfo } from 'node:net';
import { ArcServer, createArcServer } from '../../src/express';
import { ArcAgent } from '../../src/router/agent';
import { deferred, type Deferred } from '../support/util';
import { parseResponses, rawExchange } from './raw-http';

let server: ArcServer;
let port: number;
let gate: Deferred;
let gateEntered: Deferred;

beforeAll(async () => {
  server = createArcServer({ serverId: 'http-errors-test', bodyLimitBytes: 64 * 1024 });
  gate = deferred();
  gateEntered = deferred();
  server.addAgent(
    new ArcAgent('finance-agent').on('hold', async () => {
      gateEntered.resolve();
      await gate.promise;
      return { held: true };
    }),
  );
  await server.listen(0, '127.0.0.1');
  port = (server.httpServer!.address() as AddressInfo).port;
});

afterAll(async () => {
  gate.resolve();
  await server.close({ graceMs: 500 });
});

/** The one response to `bytes`, checked to be a complete ARC error envelope on a closed connection. */
async function refusal(bytes: string) {
  const exchange = await rawExchange(port, { send: bytes });
  const responses = parseResponses(exchange.text);
  expect(responses).toHaveLength(1);
  const [res] = responses;
  expect(res!.headers['content-type']).toBe('application/json');
  expect(res!.headers.connection).toBe('close');
  const body = JSON.parse(res!.body);
  expect(body).toMatchObject({
    arc: '1.0',
    id: null,
    responseAgent: 'http-errors-test',
    targetAgent: 'unknown',
    result: null,
    traceId: null,
  });
  expect(typeof body.error.message).toBe('string');
  expect(body.error.details).toEqual(expect.any(Object));
  expect(res!.body).not.toMatch(/\bat .*:\d+:\d+|node_modules|\/src\//);
  return { status: res!.status, error: body.error as { code: number; message: string; details: Record<string, unknown> } };
}

const post = (headers: string, body = '') => `POST /arc HTTP/1.1\r\nHost: localhost\r\n${headers}\r\n${body}`;

describe('malformed HTTP → 400 -32700 envelope', () => {
  it.each([
    ['a Content-Length that is not a number', post('Content-Length: abc\r\n')],
    ['two different Content-Length headers', post('Content-Length: 1\r\nContent-Length: 2\r\n', 'ab')],
    ['Content-Length together with Transfer-Encoding', post('Content-Length: 3\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n')],
    ['a request line that is not HTTP', 'GARBAGE\r\n\r\n'],
    ['an unknown HTTP version', 'GET /health HTTP/9.9\r\nHost: localhost\r\n\r\n'],
    ['a method with invalid characters', 'G@T /health HTTP/1.1\r\nHost: localhost\r\n\r\n'],
    ['a header name with a space', 'GET /health HTTP/1.1\r\nHost: localhost\r\nBad Header: 1\r\n\r\n'],
    ['a Transfer-Encoding Node does not support', post('Transfer-Encoding: gzip\r\n', 'abc')],
    ['a chunk size that is not hex', post('Transfer-Encoding: chunked\r\n', 'zz\r\n')],
  ])('%s', async (_name, bytes) => {
    const { status, error } = await refusal(bytes);
    expect(status).toBe(400);
    expect(error.code).toBe(-32700);
    expect(error.message).toMatch(/^Parse error: malformed HTTP request \(.+\)$/);
    expect(error.details.httpError).toMatch(/^HPE_[A-Z_]+$/);
  });

  it('a transfer coding before chunked (accepted by Node, not decoded) → 400 -32700', async () => {
    const { status, error } = await refusal(post('Transfer-Encoding: gzip, chunked\r\n', '3\r\nabc\r\n0\r\n\r\n'));
    expect(status).toBe(400);
    expect(error.code).toBe(-32700);
    expect(error.message).toBe('Parse error: unsupported Transfer-Encoding (only chunked is accepted)');
  });
});

it('a request head larger than the limit → 431 -45004', async () => {
  const { status, error } = await refusal(`GET /health HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`);
  expect(status).toBe(431);
  expect(error.code).toBe(-45004);
  expect(error.message).toMatch(/^Request head exceeds the limit of \d+ bytes$/);
});

it('an HTTP/1.1 request without Host → 400 -32600 (HTTP/1.0 needs none)', async () => {
  const { status, error } = await refusal('GET /health HTTP/1.1\r\n\r\n');
  expect(status).toBe(400);
  expect(error.code).toBe(-32600);
  expect(error.message).toBe('Invalid request: an HTTP/1.1 request needs a Host header');
  const old = parseResponses((await rawExchange(port, { send: 'GET /health/live HTTP/1.0\r\n\r\n' })).text);
  expect(old.map((r) => r.status)).toEqual([200]);
});

it('an Expect other than 100-continue → 417 -32600', async () => {
  const { status, error } = await refusal(post('Expect: something-else\r\nContent-Length: 2\r\n', '{}'));
  expect(status).toBe(417);
  expect(error.code).toBe(-32600);
  expect(error.message).toBe('Invalid request: only "Expect: 100-continue" is supported');
});

it('a broken request pipelined behind one still being answered closes the connection without a stray answer', async () => {
  const hold = JSON.stringify({ arc: '1.0', id: 'h-1', method: 'hold', requestAgent: 'tester', targetAgent: 'finance-agent', params: {} });
  const exchange = rawExchange(port, { send: post(`Content-Length: ${hold.length}\r\n`, hold) + 'GARBAGE\r\n\r\n' });
  await gateEntered.promise;
  const { text } = await exchange;
  // No 400 written into the middle of the pending answer, and that answer cannot follow: closed.
  expect(text).toBe('');
});
