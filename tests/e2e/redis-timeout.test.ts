/**
 * REDIS_TIMEOUT_MS bounds every chat-state operation: against a "Redis" that accepts the
 * connection and never answers, a finance service started with REDIS_TIMEOUT_MS=3000 answers
 * chat.start with -41002 / 503 + Retry-After after about 3 s — not after the default 1 s, and not
 * never. Needs no Redis: the hanging server is a bare TCP listener on a port the OS picked.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { arcRequest, freePort, readAnswer, ROOT, startProcess, stopAll, userText } from './support/processes';

const TIMEOUT_MS = 3000;
let silent: Server;
const sockets = new Set<Socket>();
let url: string;

beforeAll(async () => {
  silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const redisPort = (silent.address() as { port: number }).port;
  const port = await freePort();
  const service = await startProcess({
    name: 'finance (hanging redis)',
    command: process.execPath,
    args: [join(ROOT, 'services', 'finance', 'dist', 'index.js')],
    port,
    env: { PORT: String(port), HOST: '127.0.0.1', REDIS_URL: `redis://127.0.0.1:${redisPort}`, REDIS_TIMEOUT_MS: String(TIMEOUT_MS) },
    healthPath: '/health/live', // readiness (/health) is 503 while Redis does not answer
  });
  url = service.url;
}, 30_000);

afterAll(async () => {
  await stopAll();
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

test('a request waits for Redis at most REDIS_TIMEOUT_MS, then gets -41002 / 503 + Retry-After', async () => {
  const t0 = performance.now();
  const res = await fetch(`${url}/arc`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/arc+json' },
    body: JSON.stringify(arcRequest('chat.start', 'finance-agent', { initialMessage: userText('invoice') })),
    signal: AbortSignal.timeout(15_000),
  });
  const elapsed = performance.now() - t0;
  const answer = await readAnswer(res);
  expect(answer.status).toBe(503);
  expect(answer.headers.get('retry-after')).toBe('1');
  expect(answer.json.error).toMatchObject({ code: -41002, message: expect.stringContaining('chat state cannot be reached') });
  expect(answer.text).not.toMatch(/ETIMEDOUT|no answer from Redis|at .*\.js/); // no internal message
  expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS * 0.9); // the configured bound, not the 1 s default
  expect(elapsed).toBeLessThan(TIMEOUT_MS * 3);
}, 20_000);

test('readiness says not ready while Redis does not answer; liveness stays up', async () => {
  const health = await fetch(`${url}/health`, { signal: AbortSignal.timeout(15_000) });
  expect(health.status).toBe(503);
  expect((await fetch(`${url}/health/live`)).status).toBe(200);
}, 20_000);
