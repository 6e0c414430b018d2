/**
 * The gateway's own answers, against the real nginx configured from nginx/arc.conf.template
 * (issue 8), in front of stub replicas:
 *  - X-Request-Id: only a safe id (`[A-Za-z0-9._:-]{1,128}`) is kept; anything else is replaced
 *    by nginx's own before it reaches a JSON body, a response header or a replica (hole 9);
 *  - every answer nginx makes itself to a malformed request is an ARC JSON envelope, also those
 *    made before a location (or even a URI) exists (hole 8); replicas' own answers still pass;
 *  - a per-address limit on requests in flight, answered 429 -44007 with Retry-After (hole 6);
 *  - a per-address request rate (limit_req, issue 10), answered the same way.
 * Requests go over raw sockets: fetch and node:http refuse to send most of these.
 * Needs nginx: fails in CI without it, skipped (saying so) elsewhere.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNginx, freePort, startProcess, suiteNeeding, type ManagedProcess } from '@arc/devkit';
import { writeStandalone, type GatewayDescription } from '../../nginx/render.cjs';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const NGINX_ID = /^[0-9a-f]{32}$/;
const ENVELOPE_KEYS = ['arc', 'error', 'id', 'responseAgent', 'result', 'targetAgent', 'traceId']; // sorted

// ---- a raw HTTP exchange ----

interface RawAnswer {
  /** null for an HTTP/0.9 answer (a body, no status line or headers). */
  status: number | null;
  headers: Record<string, string>;
  /** The bytes before the body, as sent. */
  head: Buffer;
  body: string;
}

/**
 * Writes `bytes` on a new connection (from `localAddress`, default 127.0.0.1) and reads one
 * answer: complete when its Content-Length is in, or when nginx closes. The socket is not half-closed: nginx takes that for a client that
 * went away while a replica is being asked (499).
 */
function exchange(port: number, bytes: string | Buffer, localAddress?: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ port, host: '127.0.0.1', localAddress });
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (): void => {
      if (done) return;
      const answer = parse(Buffer.concat(chunks), false);
      if (answer === 'incomplete') return;
      done = true;
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(20_000, () => {
      done = true;
      socket.destroy();
      reject(new Error(`no complete answer within 20 s; got ${JSON.stringify(Buffer.concat(chunks).toString('latin1'))}`));
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      finish();
    });
    socket.on('error', () => {}); // a reset after the answer is fine; a missing answer shows below
    socket.on('close', () => {
      if (done) return;
      const answer = parse(Buffer.concat(chunks), true);
      done = true;
      if (answer === 'incomplete')
        reject(new Error(`connection closed mid-answer: ${JSON.stringify(Buffer.concat(chunks).toString('latin1'))}`));
      else resolve(answer);
    });
    socket.write(bytes);
  });

  function parse(raw: Buffer, closed: boolean): RawAnswer | 'incomplete' {
    const http1 = Buffer.from('HTTP/');
    if (raw.length < http1.length && http1.subarray(0, raw.length).equals(raw) && !closed) return 'incomplete';
    if (!raw.subarray(0, http1.length).equals(http1)) {
      // HTTP/0.9: the body alone, ended by the close.
      return closed ? { status: null, headers: {}, head: Buffer.alloc(0), body: raw.toString('utf8') } : 'incomplete';
    }
    const end = raw.indexOf('\r\n\r\n');
    if (end === -1) return 'incomplete';
    const head = raw.subarray(0, end);
    const [statusLine, ...lines] = head.toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const status = Number(statusLine!.split(' ')[1]);
    let rest = raw.subarray(end + 4);
    if (headers['transfer-encoding'] === 'chunked') {
      // A replica's answer passed through: de-chunk it, complete at the last chunk.
      const parts: Buffer[] = [];
      for (;;) {
        const eol = rest.indexOf('\r\n');
        if (eol === -1) return 'incomplete';
        const size = parseInt(rest.subarray(0, eol).toString('latin1'), 16);
        if (size === 0) return { status, headers, head, body: Buffer.concat(parts).toString('utf8') };
        if (rest.length < eol + 2 + size + 2) return 'incomplete';
        parts.push(rest.subarray(eol + 2, eol + 2 + size));
        rest = rest.subarray(eol + 2 + size + 2);
      }
    }
    const length = Number(headers['content-length']);
    if (!Number.isInteger(length) || rest.length < length) return 'incomplete';
    return { status, headers, head, body: rest.subarray(0, length).toString('utf8') };
  }
}

/** A POST with a JSON body and the given extra header lines (raw bytes, as given). */
function rawPost(path: string, headerLines: Array<string | Buffer> = [], body = '{}'): Buffer {
  return Buffer.concat([
    Buffer.from(`POST ${path} HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\nContent-Type: application/json\r\n`),
    ...headerLines.flatMap((h) => [Buffer.isBuffer(h) ? h : Buffer.from(h, 'latin1'), Buffer.from('\r\n')]),
    Buffer.from(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`),
  ]);
}

/** The answer's body as an ARC error envelope made by nginx, checked key by key. */
function gatewayEnvelope(answer: RawAnswer, code: number): { error: { code: number; message: string; details: Record<string, unknown> } } {
  const json = JSON.parse(answer.body) as Record<string, unknown> & {
    error: { code: number; message: string; details: Record<string, unknown> };
  };
  expect(Object.keys(json).sort()).toEqual(ENVELOPE_KEYS);
  expect(json).toMatchObject({ arc: '1.0', id: null, responseAgent: 'nginx', targetAgent: 'unknown', traceId: null, result: null });
  expect(Object.keys(json.error).sort()).toEqual(['code', 'details', 'message']);
  expect(json.error.code).toBe(code);
  expect(typeof json.error.message).toBe('string');
  expect(typeof json.error.details).toBe('object');
  return json;
}

// ---- stub replicas and nginx ----

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A replica that records what reaches it and answers as the `x-stub` request header says:
 * ok (200), 400 or 429 (its own ARC envelopes), hold (no answer until release()).
 */
async function stubReplica(): Promise<{ address: string; received: Received[]; held: ServerResponse[]; server: Server; release(): void }> {
  const received: Received[] = [];
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
      const envelope = (code: number, message: string): string =>
        JSON.stringify({
          arc: '1.0',
          id: 'stub-id',
          responseAgent: 'stub',
          targetAgent: 'e2e',
          traceId: null,
          result: null,
          error: { code, message, details: {} },
        });
      switch (req.headers['x-stub']) {
        case 'hold':
          held.push(res);
          return;
        case '400':
          res.writeHead(400, { 'Content-Type': 'application/json' }).end(envelope(-32600, 'the stub refused this envelope'));
          return;
        case '429':
          res.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': '7' }).end(envelope(-44007, 'the stub says slow down'));
          return;
        default:
          res
            .writeHead(200, { 'Content-Type': 'application/json' })
            .end(JSON.stringify({ ok: true, requestId: req.headers['x-request-id'] }));
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const release = (): void => {
    for (const res of held.splice(0)) res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}');
  };
  return { address: `127.0.0.1:${(server.address() as { port: number }).port}`, received, held, server, release };
}

/**
 * An address where connections are never accepted: a listener with a full accept queue (a
 * process blocked right after listen(), its backlog-1 queue filled by two connections from
 * here). Further SYNs are dropped, so nginx's connect times out (proxy_connect_timeout 3 s) and
 * it answers 504 itself.
 */
async function blackhole(): Promise<{ address: string; stop(): Promise<void> }> {
  const proc = await startProcess({
    name: 'blackhole',
    command: process.execPath,
    args: [
      '-e',
      `const s = require('node:net').createServer();
       s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
         console.log('port ' + s.address().port);
         // Never accept; give up after 2 minutes should nobody stop this process.
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120000);
         process.exit(0);
       });`,
    ],
    readyOutput: /^port \d+$/m,
  });
  const port = Number(/^port (\d+)$/m.exec(proc.output())![1]);
  // Linux queues backlog + 1 handshaken connections; these two fill the queue.
  const fillers = await Promise.all(
    [0, 1].map(async () => {
      const s = connect(port, '127.0.0.1');
      await once(s, 'connect');
      return s;
    }),
  );
  return {
    address: `127.0.0.1:${port}`,
    async stop() {
      for (const s of fillers) s.destroy();
      await proc.stop('SIGKILL');
    },
  };
}

interface TestGateway {
  port: number;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/** nginx rendered by writeStandalone (as the local cluster does), with `site` options added. */
async function startNginx(services: GatewayDescription['services'], site: Partial<GatewayDescription> = {}): Promise<TestGateway> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'arc-gateway-hardening-'));
  const { args } = writeStandalone(dir, { listen: `127.0.0.1:${port}`, services, ...site });
  try {
    const proc = await startProcess({ name: 'nginx', command: findNginx()!, args, healthUrl: `http://127.0.0.1:${port}/health` });
    return {
      port,
      process: proc,
      async stop() {
        await proc.stop('SIGTERM');
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

const suite = suiteNeeding(['nginx']);

suite('gateway hardening (nginx in front of stub replicas)', () => {
  let gateway: TestGateway;
  let stub: Awaited<ReturnType<typeof stubReplica>>;
  let hole: Awaited<ReturnType<typeof blackhole>>;

  beforeAll(async () => {
    stub = await stubReplica();
    hole = await blackhole();
    const dead = `127.0.0.1:${await freePort()}`; // nothing listens there
    gateway = await startNginx({
      echo: { servers: [stub.address], agents: ['echo-agent'] },
      dead: { servers: [dead] },
      hole: { servers: [hole.address] },
    });
  }, 30_000);

  afterAll(async () => {
    await gateway?.stop();
    await hole?.stop();
    stub?.server.close();
  });

  describe('X-Request-Id', () => {
    const unsafe: Array<[string, Buffer]> = [
      ['a quote that would add keys to the JSON', Buffer.from('x","injected":{"admin":true},"y":"')],
      ['a trailing backslash', Buffer.from('abc\\')],
      ['an ESC byte', Buffer.from('abc\x1b[31mdef', 'latin1')],
      ['200 safe characters (too long)', Buffer.from('r'.repeat(200))],
      ['129 safe characters (one too many)', Buffer.from('q'.repeat(129))],
      ['a space', Buffer.from('a b')],
    ];
    const header = (id: Buffer): Buffer => Buffer.concat([Buffer.from('X-Request-Id: '), id]);

    /** The id in the response header: safe, and the same as in the body's details. */
    function checkEchoedId(answer: RawAnswer, details: Record<string, unknown>): string {
      const echoed = answer.headers['x-request-id']!;
      expect(echoed).toMatch(SAFE_ID);
      expect(answer.head.includes(0x1b)).toBe(false);
      expect(details.requestId).toBe(echoed);
      return echoed;
    }

    it.each(unsafe)('%s: replaced by nginx’s own id in a 502 body and header', async (_, id) => {
      const answer = await exchange(gateway.port, rawPost('/arc/dead', [header(id)]));
      expect(answer.status).toBe(502);
      expect(answer.headers['content-type']).toBe('application/json');
      const json = gatewayEnvelope(answer, -41003);
      expect(Object.keys(json.error.details).sort()).toEqual(['agentId', 'requestId']);
      expect(json.error.details.agentId).toBe('dead');
      expect(checkEchoedId(answer, json.error.details)).toMatch(NGINX_ID);
    });

    it('an unsafe id is replaced in a 504 body and header too', async () => {
      const answer = await exchange(gateway.port, rawPost('/arc/hole', [header(unsafe[0]![1])]));
      expect(answer.status).toBe(504);
      const json = gatewayEnvelope(answer, -41006);
      expect(Object.keys(json.error.details).sort()).toEqual(['agentId', 'requestId']);
      expect(checkEchoedId(answer, json.error.details)).toMatch(NGINX_ID);
    }, 30_000);

    it.each([
      ['a uuid', '3f2b8c1e-9d4a-4b7e-8f00-1a2b3c4d5e6f'],
      ['every allowed character', 'Az09._:-'],
      ['128 characters', 'k'.repeat(128)],
    ])('a safe id (%s) is kept as it is', async (_, id) => {
      const answer = await exchange(gateway.port, rawPost('/arc/dead', [`X-Request-Id: ${id}`]));
      expect(answer.status).toBe(502);
      const json = gatewayEnvelope(answer, -41003);
      expect(checkEchoedId(answer, json.error.details)).toBe(id);
    });

    it('the replica gets the same replaced id (and a safe one as it is)', async () => {
      const before = stub.received.length;
      const replaced = await exchange(gateway.port, rawPost('/arc/echo', [header(unsafe[0]![1])]));
      const kept = await exchange(gateway.port, rawPost('/arc/echo', ['X-Request-Id: rid-42']));
      expect([replaced.status, kept.status]).toEqual([200, 200]);
      const [first, second] = stub.received.slice(before);
      expect(first!.headers['x-request-id']).toMatch(NGINX_ID);
      expect(first!.headers['x-request-id']).toBe(replaced.headers['x-request-id']);
      expect(second!.headers['x-request-id']).toBe('rid-42');
      expect(kept.headers['x-request-id']).toBe('rid-42');
    });
  });

  describe('nginx’s own answers to malformed requests are ARC envelopes', () => {
    const big = 'a'.repeat(9000);
    const cases: Array<[name: string, status: number, code: number, bytes: string]> = [
      ['a request line that is not HTTP', 400, -32600, 'GARBAGE\r\n\r\n'],
      ['a request line with an extra word', 400, -32600, 'GET /health HTTP/1.1 extra\r\nHost: g\r\n\r\n'],
      ['a lower-case method', 400, -32600, 'get /health HTTP/1.1\r\nHost: g\r\n\r\n'],
      ['a path above the root', 400, -32600, 'GET /../../etc/passwd HTTP/1.1\r\nHost: g\r\n\r\n'],
      ['an HTTP/2 preface on the HTTP/1 port', 400, -32600, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
      ['HTTP/1.1 without Host', 400, -32600, 'GET /health HTTP/1.1\r\n\r\n'],
      ['two Host headers', 400, -32600, 'GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'],
      ['a Content-Length that is not a number', 400, -32600, 'POST /arc/echo HTTP/1.1\r\nHost: g\r\nContent-Length: abc\r\n\r\n'],
      ['a negative Content-Length', 400, -32600, 'POST /arc/echo HTTP/1.1\r\nHost: g\r\nContent-Length: -1\r\n\r\n'],
      ['two Content-Length headers', 400, -32600, 'POST /arc/echo HTTP/1.1\r\nHost: g\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}'],
      [
        'Content-Length and Transfer-Encoding together',
        400,
        -32600,
        'POST /arc/echo HTTP/1.1\r\nHost: g\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      ],
      [
        'a malformed chunked body to a service',
        400,
        -32600,
        'POST /arc/echo HTTP/1.1\r\nHost: g\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
      ],
      ['a Transfer-Encoding other than chunked', 501, -32600, 'POST /arc/echo HTTP/1.1\r\nHost: g\r\nTransfer-Encoding: gzip\r\n\r\n'],
      ['a header line over 8 KiB', 431, -32600, `GET /health HTTP/1.1\r\nHost: g\r\nX-Big: ${big}\r\n\r\n`],
      [
        'more large headers than the buffers hold',
        431,
        -32600,
        `GET /health HTTP/1.1\r\nHost: g\r\n${[1, 2, 3, 4, 5].map((i) => `X-H${i}: ${'b'.repeat(7000)}\r\n`).join('')}\r\n`,
      ],
      ['a URI over 8 KiB', 414, -32600, `GET /${big} HTTP/1.1\r\nHost: g\r\n\r\n`],
      ['TRACE', 405, -32600, 'TRACE /health HTTP/1.1\r\nHost: g\r\n\r\n'],
      ['HTTP/2.0 in the request line', 505, -32600, 'GET /health HTTP/2.0\r\nHost: g\r\n\r\n'],
      ['HTTP/3.0 in the request line', 505, -32600, 'GET /health HTTP/3.0\r\nHost: g\r\n\r\n'],
      [
        'a declared 12 MiB body with Expect: 100-continue',
        413,
        -45004,
        'POST /arc/echo HTTP/1.1\r\nHost: g\r\nContent-Length: 12582912\r\nExpect: 100-continue\r\n\r\n',
      ],
      ['a path that looks like a file', 404, -32600, 'GET /index.html HTTP/1.1\r\nHost: g\r\nConnection: close\r\n\r\n'],
      ['an internal error-page path', 404, -32600, 'GET /_arc/error/400 HTTP/1.1\r\nHost: g\r\nConnection: close\r\n\r\n'],
      [
        'the internal chunked route',
        404,
        -32600,
        'POST /_arc/chunked/echo HTTP/1.1\r\nHost: g\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}',
      ],
    ];

    it.each(cases)('%s → %i %i', async (_, status, code, bytes) => {
      const before = stub.received.length;
      const answer = await exchange(gateway.port, bytes);
      expect(answer.status).toBe(status);
      expect(answer.headers['content-type']).toBe('application/json');
      expect(answer.headers['x-request-id']).toMatch(NGINX_ID);
      gatewayEnvelope(answer, code);
      expect(stub.received.length).toBe(before); // nothing reached the replica
    });

    it('TRACE gets Allow', async () => {
      const answer = await exchange(gateway.port, 'TRACE /health HTTP/1.1\r\nHost: g\r\n\r\n');
      expect(answer.headers.allow).toBe('GET, POST');
    });

    it('an HTTP/0.9 request gets the envelope alone (HTTP/0.9 has no status line)', async () => {
      const answer = await exchange(gateway.port, 'POST /arc/echo\r\n');
      expect(answer.status).toBeNull();
      gatewayEnvelope(answer, -32600);
    });

    it('a well-formed chunked request still reaches the replica, whole', async () => {
      const before = stub.received.length;
      const answer = await exchange(
        gateway.port,
        'POST /arc/echo HTTP/1.1\r\nHost: g\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n2\r\n1}\r\n0\r\n\r\n',
      );
      expect(answer.status).toBe(200);
      expect(stub.received.slice(before).map((r) => r.body)).toEqual(['{"a":1}']);
    });

    it.each([
      ['400', 400, -32600, undefined],
      ['429', 429, -44007, '7'],
    ])('a replica’s own %s passes through unchanged (Content-Length and chunked)', async (mode, status, code, retryAfter) => {
      for (const bytes of [
        rawPost('/arc/echo', [`X-Stub: ${mode}`]),
        `POST /arc/echo HTTP/1.1\r\nHost: g\r\nConnection: close\r\nX-Stub: ${mode}\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
      ]) {
        const answer = await exchange(gateway.port, bytes);
        expect(answer.status).toBe(status);
        expect(answer.headers['retry-after']).toBe(retryAfter);
        expect(JSON.parse(answer.body)).toMatchObject({ responseAgent: 'stub', error: { code } });
      }
    });
  });

  it('the default per-address request rate lets a burst of 200 at once through (it refuses only past 2000 at once)', async () => {
    const before = stub.received.length;
    const answers = await Promise.all(Array.from({ length: 200 }, () => exchange(gateway.port, rawPost('/arc/echo'))));
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(stub.received.length - before).toBe(200);
  });
});

suite('gateway per-address limit on requests in flight', () => {
  const LIMIT = 4;
  let gateway: TestGateway;
  let stub: Awaited<ReturnType<typeof stubReplica>>;

  beforeAll(async () => {
    stub = await stubReplica();
    gateway = await startNginx({ echo: { servers: [stub.address] } }, { connLimitPerIp: LIMIT });
  }, 30_000);

  afterAll(async () => {
    stub?.release();
    await gateway?.stop();
    stub?.server.close();
  });

  /** A POST on its own connection; resolves with status, headers and body. */
  const send = (extra: Record<string, string> = {}): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: gateway.port,
          method: 'POST',
          path: '/arc/echo',
          agent: false,
          headers: { 'Content-Type': 'application/json', ...extra },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        },
      );
      req.on('error', reject);
      req.end('{}');
    });

  /** Resolves once the stub holds `n` requests (it records each one when its body is in). */
  async function held(n: number): Promise<void> {
    while (stub.held.length < n) await new Promise((r) => setTimeout(r, 10));
  }

  it(`refuses request ${LIMIT + 1} from one address with 429 -44007 while ${LIMIT} are in flight, and serves those`, async () => {
    const inFlight = Array.from({ length: LIMIT }, () => send({ 'X-Stub': 'hold' }));
    await held(LIMIT);

    const refused = await send({ 'X-Request-Id': 'over-the-limit' });
    expect(refused.status).toBe(429);
    expect(refused.headers['content-type']).toBe('application/json');
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.headers['x-request-id']).toBe('over-the-limit');
    const json = JSON.parse(refused.body);
    expect(Object.keys(json).sort()).toEqual(ENVELOPE_KEYS);
    expect(json).toMatchObject({
      arc: '1.0',
      id: null,
      responseAgent: 'nginx',
      result: null,
      error: { code: -44007, details: { limit: LIMIT } },
    });
    expect(stub.received).toHaveLength(LIMIT); // the refused one never reached the replica

    stub.release();
    const served = await Promise.all(inFlight);
    expect(served.map((r) => r.status)).toEqual(Array(LIMIT).fill(200));

    // The slots are free again.
    const after = await send();
    expect(after.status).toBe(200);
  });
});

suite('gateway per-address request rate (limit_req)', () => {
  // One request a minute and 20 more at once: of a flood sent within a few seconds exactly 21 get
  // through, however fast this machine is (the minute's allowance of one more is 60 s away).
  const BURST = 20;
  const FLOOD = 200; // at once, under the per-address limit on requests in flight (256)
  let gateway: TestGateway;
  let stub: Awaited<ReturnType<typeof stubReplica>>;

  beforeAll(async () => {
    stub = await stubReplica();
    gateway = await startNginx({ echo: { servers: [stub.address] } }, { reqLimitPerIp: { rate: '1r/m', burst: BURST } });
  }, 30_000);

  afterAll(async () => {
    await gateway?.stop();
    stub?.server.close();
  });

  it(`serves ${BURST + 1} of ${FLOOD} requests sent at once from one address, answers the rest 429 -44007 as ARC JSON with Retry-After, and holds back no other address`, async () => {
    const answers = await Promise.all(
      Array.from({ length: FLOOD }, (_, i) => exchange(gateway.port, rawPost('/arc/echo', [`X-Request-Id: flood-${i}`]))),
    );
    const served = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status !== 200);
    expect({ served: served.length, refused: refused.length }).toEqual({ served: BURST + 1, refused: FLOOD - BURST - 1 });
    expect(stub.received).toHaveLength(BURST + 1); // the refused ones never reached the replica

    const ids = new Set<string>();
    for (const answer of refused) {
      expect(answer.status).toBe(429);
      expect(answer.headers['content-type']).toBe('application/json');
      expect(answer.body.startsWith('{')).toBe(true); // never nginx's HTML page
      expect(answer.headers['retry-after']).toBe('60'); // 1r/m: one more request a minute from now
      expect(answer.headers['x-request-id']).toMatch(/^flood-\d+$/);
      ids.add(answer.headers['x-request-id']!);
      expect(gatewayEnvelope(answer, -44007).error).toEqual({
        code: -44007,
        message: 'Rate limit exceeded: too many requests from this address',
        details: { limit: 1, windowMs: 60_000, burst: BURST, retryAfterMs: 60_000, scope: 'requestsPerAddress' },
      });
    }
    expect(ids.size).toBe(refused.length); // each answer is its own request's

    // A chunked request (proxied from another location) is refused the same way.
    const chunked = await exchange(
      gateway.port,
      'POST /arc/echo HTTP/1.1\r\nHost: g\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n',
    );
    expect(chunked.status).toBe(429);
    expect(chunked.headers['retry-after']).toBe('60');
    expect(gatewayEnvelope(chunked, -44007).error.details).toMatchObject({ scope: 'requestsPerAddress' });
    // nginx's own answers (`return`) are not counted: /health still answers.
    const health = await exchange(gateway.port, 'GET /health HTTP/1.1\r\nHost: g\r\nConnection: close\r\n\r\n');
    expect(health.status).toBe(200);
    expect(stub.received).toHaveLength(BURST + 1);

    // Another client address (loopback 127.0.0.2) has a bucket of its own.
    const other = await exchange(gateway.port, rawPost('/arc/echo'), '127.0.0.2');
    expect(other.status).toBe(200);
    expect(stub.received).toHaveLength(BURST + 2);
  });
});
