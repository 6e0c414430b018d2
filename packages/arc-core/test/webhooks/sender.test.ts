/**
 * sendWebhook against real loopback servers (OS-chosen ports): outcomes by status, no redirects,
 * the timeout, the response-body bound, network errors, and the SSRF guard before and at connect
 * time. No assertion depends on timing: the timeout tests use servers that never answer.
 */
import http, { type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { serializeWebhookBody } from '../../src/webhooks/payload';
import { sendWebhook } from '../../src/webhooks/sender';
import { webhookHeaders } from '../../src/webhooks/signature';
import { DEFAULT_WEBHOOK_POLICY, type HostResolver, type WebhookNetworkPolicy } from '../../src/webhooks/ssrf';
import { verifyWebhook } from '../../src/webhooks/verify';
import { freePort, listenPlain } from '../support/http';

const SECRET = 'sender-test-secret';
const loopbackAllowed: WebhookNetworkPolicy = { allowedHosts: ['127.0.0.1'], allowPrivateNetworks: false };

interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** A server whose every request is recorded (body read in full) before `answer` runs. */
async function receiver(answer: (req: IncomingMessage, res: ServerResponse) => void) {
  const received: Received[] = [];
  let connections = 0;
  const server = await listenPlain((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      answer(req, res);
    });
  });
  server.server.on('connection', () => connections++);
  return { ...server, received, connections: () => connections };
}

function delivery() {
  const body = serializeWebhookBody({
    requestAgent: 'support-agent',
    taskId: 'task-5e6f7a8b',
    event: 'TASK_COMPLETED',
    timestamp: Date.now(),
    data: { status: 'COMPLETED', message: 'Ticket opened – #42' },
    subscriptionId: 'sub-0badcafe',
  });
  const headers = webhookHeaders({ body, secret: SECRET, event: 'TASK_COMPLETED', deliveryId: 'dlv-1', subscriptionId: 'sub-0badcafe' });
  return { body, headers };
}

let servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});
async function started<T extends { close(): Promise<void> }>(server: Promise<T>): Promise<T> {
  const s = await server;
  servers.push(s);
  return s;
}

describe('sendWebhook: outcomes', () => {
  it('delivers: one POST with the exact body and headers, which verify under v2 and v1', async () => {
    const server = await started(receiver((_req, res) => res.writeHead(200).end('thanks')));
    const { body, headers } = delivery();
    const result = await sendWebhook({ url: `${server.url}/hooks/arc?team=1`, body, headers, policy: loopbackAllowed });
    expect(result).toEqual({ status: 200, outcome: 'delivered', durationMs: expect.any(Number) });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(server.received).toHaveLength(1);
    const got = server.received[0]!;
    expect(got.method).toBe('POST');
    expect(got.path).toBe('/hooks/arc?team=1');
    expect(got.body.toString('utf8')).toBe(body);
    expect(got.headers['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(got.headers).toMatchObject({
      'content-type': 'application/json',
      'user-agent': 'arc-webhooks/sub-0badcafe',
      'x-arc-event': 'TASK_COMPLETED',
      'x-arc-delivery': 'dlv-1',
    });
    expect(verifyWebhook(got.body, got.headers, SECRET)).toMatchObject({ valid: true, scheme: 'v2' });
    const { 'x-arc-signature-v2': _v2, ...v1Only } = got.headers;
    expect(verifyWebhook(got.body, v1Only, SECRET)).toMatchObject({ valid: true, scheme: 'v1' });
  });

  it('sends a Buffer body as it is', async () => {
    const server = await started(receiver((_req, res) => res.writeHead(204).end()));
    const bytes = Buffer.from('{"x": "\\u00e9"}');
    expect(await sendWebhook({ url: server.url, body: bytes, headers: {}, policy: loopbackAllowed })).toMatchObject({
      status: 204,
      outcome: 'delivered',
    });
    expect(server.received[0]!.body.equals(bytes)).toBe(true);
  });

  it('reports 410 as gone (the subscription ends)', async () => {
    const server = await started(receiver((_req, res) => res.writeHead(410).end()));
    expect(await sendWebhook({ url: server.url, ...delivery(), policy: loopbackAllowed })).toEqual({
      status: 410,
      outcome: 'gone',
      error: 'HTTP 410 Gone: the receiver ended the subscription',
      durationMs: expect.any(Number),
    });
  });

  it.each([500, 503, 404, 429, 400, 418])('reports HTTP %i as retry', async (status) => {
    const server = await started(receiver((_req, res) => res.writeHead(status).end('no')));
    expect(await sendWebhook({ url: server.url, ...delivery(), policy: loopbackAllowed })).toMatchObject({
      status,
      outcome: 'retry',
      error: `HTTP ${status}`,
    });
  });

  it('does not follow a redirect: a 3xx is a retry naming the Location, and the target is never asked', async () => {
    const server = await started(
      receiver((req, res) => {
        if (req.url === '/hook') res.writeHead(302, { Location: '/elsewhere' }).end();
        else res.writeHead(200).end();
      }),
    );
    const result = await sendWebhook({ url: `${server.url}/hook`, ...delivery(), policy: loopbackAllowed });
    expect(result).toMatchObject({
      status: 302,
      outcome: 'retry',
      error: 'HTTP 302 redirect to /elsewhere not followed: the callback URL must answer itself',
    });
    expect(server.received.map((r) => r.path)).toEqual(['/hook']);
  });

  it('says so for a redirect without a Location too, and bounds a long Location', async () => {
    const server = await started(
      receiver((req, res) => {
        if (req.url === '/none') res.writeHead(307).end();
        else res.writeHead(301, { Location: `/${'x'.repeat(1000)}` }).end();
      }),
    );
    const bare = await sendWebhook({ url: `${server.url}/none`, ...delivery(), policy: loopbackAllowed });
    expect(bare.error).toBe('HTTP 307 redirect not followed: the callback URL must answer itself');
    const long = await sendWebhook({ url: `${server.url}/long`, ...delivery(), policy: loopbackAllowed });
    expect(long.error).toContain(`to /${'x'.repeat(199)}… not followed`);
  });
});

describe('sendWebhook: time and size bounds', () => {
  it('gives up after timeoutMs when the receiver never answers (retry, no status)', async () => {
    const server = await started(receiver(() => undefined));
    const result = await sendWebhook({ url: server.url, ...delivery(), policy: loopbackAllowed, timeoutMs: 100 });
    expect(result).toMatchObject({ status: 0, outcome: 'retry', error: 'no answer within 100 ms' });
  });

  it('counts a 2xx whose body never ends as delivered when the time runs out', async () => {
    const server = await started(receiver((_req, res) => res.writeHead(200).write('partial')));
    // The deadline must fire after the status arrived: fake setTimeout, and advance it only once
    // the sender's request has emitted 'response'.
    jest.useFakeTimers({
      doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'hrtime', 'performance', 'Date', 'setInterval', 'clearInterval'],
    });
    const spy = jest.spyOn(http, 'request');
    try {
      const sending = sendWebhook({ url: server.url, ...delivery(), policy: loopbackAllowed, timeoutMs: 1000 });
      const req = spy.mock.results[0]!.value as ClientRequest;
      await new Promise((resolve) => req.once('response', resolve));
      jest.advanceTimersByTime(1000);
      expect(await sending).toMatchObject({ status: 200, outcome: 'delivered' });
    } finally {
      spy.mockRestore();
      jest.useRealTimers();
    }
  });

  it('stops reading an endless response body after the bound (only the bound can end this exchange)', async () => {
    let closed!: () => void;
    const serverSawClose = new Promise<void>((resolve) => (closed = resolve));
    const server = await started(
      receiver((_req, res) => {
        res.writeHead(200);
        const chunk = Buffer.alloc(16 * 1024, 'x');
        const pump = (): void => {
          while (!res.destroyed && res.write(chunk));
        };
        res.on('drain', pump);
        res.on('close', () => closed());
        pump();
      }),
    );
    const result = await sendWebhook({ url: server.url, ...delivery(), policy: loopbackAllowed, timeoutMs: 600_000 });
    expect(result).toMatchObject({ status: 200, outcome: 'delivered' });
    expect(result.error).toBeUndefined();
    await serverSawClose; // the sender closed the connection rather than reading on
  });

  it('keeps the status when the receiver drops the connection in the middle of its answer', async () => {
    const server = await started(
      receiver((_req, res) => {
        res.writeHead(201, { 'Content-Length': '100' });
        res.write('only part of it', () => res.destroy());
      }),
    );
    expect(await sendWebhook({ url: server.url, ...delivery(), policy: loopbackAllowed })).toMatchObject({
      status: 201,
      outcome: 'delivered',
    });
  });
});

describe('sendWebhook: network errors', () => {
  it('reports a refused connection as retry', async () => {
    const port = await freePort();
    const result = await sendWebhook({ url: `http://127.0.0.1:${port}/`, ...delivery(), policy: loopbackAllowed });
    expect(result).toMatchObject({ status: 0, outcome: 'retry' });
    expect(result.error).toContain('ECONNREFUSED');
  });

  it('reports a connection closed before any answer as retry', async () => {
    const server = await started(receiver((req) => req.socket.destroy()));
    const result = await sendWebhook({ url: server.url, ...delivery(), policy: loopbackAllowed });
    expect(result).toMatchObject({ status: 0, outcome: 'retry', error: 'socket hang up' });
  });

  it('speaks TLS to an https URL (here to a plain-HTTP server: the handshake fails, a retry)', async () => {
    const server = await started(receiver((_req, res) => res.writeHead(200).end()));
    const result = await sendWebhook({ url: server.url.replace('http:', 'https:'), ...delivery(), policy: loopbackAllowed });
    expect(result).toMatchObject({ status: 0, outcome: 'retry' });
    expect(result.error).toBeDefined();
    expect(server.received).toHaveLength(0);
  });

  it('never throws: a header Node refuses to send is a retry with the reason', async () => {
    const server = await started(receiver((_req, res) => res.writeHead(200).end()));
    const result = await sendWebhook({ url: server.url, body: '{}', headers: { 'X-Bad': 'a\r\nInjected: yes' }, policy: loopbackAllowed });
    expect(result).toMatchObject({ status: 0, outcome: 'retry' });
    expect(result.error).toContain('Invalid character in header content');
    expect(server.connections()).toBe(0);
  });
});

describe('sendWebhook: the SSRF guard at delivery', () => {
  it('refuses 127.0.0.1 under the default policy before connecting', async () => {
    const server = await started(receiver((_req, res) => res.writeHead(200).end()));
    const result = await sendWebhook({ url: server.url, ...delivery(), policy: DEFAULT_WEBHOOK_POLICY });
    expect(result).toMatchObject({ status: 0, outcome: 'retry' });
    expect(result.error).toContain('callbackUrl address 127.0.0.1 is a loopback address');
    expect(result.error).toContain('WEBHOOK_ALLOW_PRIVATE_NETWORKS=true');
    expect(server.connections()).toBe(0);
  });

  it('refuses at connect time a host name that now resolves to 127.0.0.1 (default policy), and connects when allowed', async () => {
    const server = await started(receiver((_req, res) => res.writeHead(200).end()));
    const port = new URL(server.url).port;
    const asked: string[] = [];
    const resolve: HostResolver = async (host) => {
      asked.push(host);
      return ['127.0.0.1'];
    };
    const refused = await sendWebhook({ url: `http://hooks.test:${port}/`, ...delivery(), policy: DEFAULT_WEBHOOK_POLICY, resolve });
    expect(refused).toMatchObject({ status: 0, outcome: 'retry' });
    expect(refused.error).toBe(
      'callbackUrl host "hooks.test" resolves to 127.0.0.1, which is a loopback address; webhooks to private networks are refused unless allowed: set WEBHOOK_ALLOW_PRIVATE_NETWORKS=true, or list the host in WEBHOOK_ALLOWED_HOSTS',
    );
    expect(asked).toEqual(['hooks.test']);
    expect(server.connections()).toBe(0);

    const allowed = await sendWebhook({
      url: `http://hooks.test:${port}/`,
      ...delivery(),
      policy: { allowedHosts: ['hooks.test'], allowPrivateNetworks: false },
      resolve,
    });
    expect(allowed).toMatchObject({ status: 200, outcome: 'delivered' });
    expect(server.received[0]!.headers.host).toBe(`hooks.test:${port}`);
  });

  it('refuses a URL that is not http(s)', async () => {
    const result = await sendWebhook({ url: 'ftp://127.0.0.1/', ...delivery(), policy: { allowedHosts: [], allowPrivateNetworks: true } });
    expect(result).toMatchObject({ status: 0, outcome: 'retry', error: 'callbackUrl must use http or https, not ftp' });
  });
});
