/**
 * The HTTP layer of a built service process, attacked as issue 8 did (holes 4, 6 and 8):
 * - a 12 MiB body (limit 10 MiB) sent directly: 20 of 20 `fetch` calls and 20 of 20 curl calls
 *   read the JSON 413 -45004 (before the fix most got EPIPE or a reset), and
 *   `Expect: 100-continue` is refused without `100 Continue`;
 * - HEADERS_TIMEOUT_MS / REQUEST_TIMEOUT_MS from the environment close silent and slow
 *   connections within the bound;
 * - a request Node's parser refuses gets an ARC envelope, not a bare 400.
 * Needs curl for the curl half: without it that test fails in CI and is skipped, saying so,
 * elsewhere.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAnswer, startService, stopAll, type Proc } from './support/processes';

const MiB = 1024 * 1024;
const hasCurl = spawnSync('curl', ['--version']).status === 0;
if (!hasCurl && !process.env.CI) console.warn('SKIPPED the curl test of tests/e2e/http-hardening.test.ts: curl is not installed');

let finance: Proc;
let strict: Proc;
let dir: string;
let bigFile: string;
const big = Buffer.alloc(12 * MiB, 'x');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'arc-http-hardening-'));
  bigFile = join(dir, 'big.json');
  writeFileSync(bigFile, big);
  [finance, strict] = await Promise.all([
    startService('finance'),
    startService('finance', { HEADERS_TIMEOUT_MS: '300', REQUEST_TIMEOUT_MS: '600' }),
  ]);
});

afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

function expectTooLarge(status: number, text: string): void {
  expect(status).toBe(413);
  const body = JSON.parse(text);
  expect(body.error).toEqual({
    code: -45004,
    message: `Request body exceeds the limit of ${10 * MiB} bytes`,
    details: { limitBytes: 10 * MiB },
  });
}

test('20 of 20 fetch calls with a 12 MiB body read the JSON 413 -45004', async () => {
  const failures: string[] = [];
  for (let i = 0; i < 20; i++) {
    try {
      const a = await readAnswer(
        await fetch(`${finance.url}/arc`, { method: 'POST', body: big, headers: { 'Content-Type': 'application/arc+json' } }),
      );
      expectTooLarge(a.status, a.text);
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      failures.push(`call ${i + 1}: ${e.cause?.code ?? e.message}`);
    }
  }
  expect(failures).toEqual([]);
});

(hasCurl || process.env.CI ? test : test.skip)(
  '20 of 20 curl calls with a 12 MiB body read the JSON 413 -45004; Expect: 100-continue gets no 100 Continue',
  async () => {
    const curl = (args: string[]) =>
      new Promise<{ stdout: string; stderr: string; code: number }>((resolve) =>
        execFile('curl', args, { maxBuffer: 4 * MiB }, (err, stdout, stderr) =>
          resolve({ stdout, stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 }),
        ),
      );
    const failures: string[] = [];
    for (let i = 0; i < 20; i++) {
      // Even calls send the body at once (no Expect), odd ones ask first with Expect: 100-continue.
      const expectContinue = i % 2 === 1;
      const headers = join(dir, `headers-${i}.txt`);
      const r = await curl([
        '-sS',
        '--data-binary',
        `@${bigFile}`,
        '-H',
        'Content-Type: application/arc+json',
        '-H',
        expectContinue ? 'Expect: 100-continue' : 'Expect:',
        '-D',
        headers,
        '-w',
        '\n%{http_code}',
        `${finance.url}/arc`,
      ]);
      const lines = r.stdout.split('\n');
      const status = Number(lines.pop());
      try {
        expect(r.code).toBe(0);
        expectTooLarge(status, lines.join('\n'));
        const head = readFileSync(headers, 'latin1');
        expect(head).not.toMatch(/^HTTP\/1\.1 100/m);
        expect(head).toMatch(/^HTTP\/1\.1 413 /);
      } catch {
        failures.push(
          `call ${i + 1}${expectContinue ? ' (Expect: 100-continue)' : ''}: exit ${r.code} ${r.stderr.trim()} status ${status}`,
        );
      }
    }
    expect(failures).toEqual([]);
  },
);

/** Sends raw bytes and collects the answer until the service closes the connection. */
function raw(port: number, bytes: string): Promise<{ text: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    const giveUp = setTimeout(() => {
      socket.destroy();
      reject(new Error('the service did not close the connection within 10 s'));
    }, 10_000);
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('end', () => socket.end());
    socket.on('close', () => {
      clearTimeout(giveUp);
      resolve({ text, ms: Date.now() - started });
    });
    if (bytes) socket.write(bytes);
  });
}

function envelopeOf(text: string): { status: number; error: { code: number; message: string } } {
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1]);
  expect(text).toMatch(/\r\nContent-Type: application\/json\r\n/i);
  expect(text).toMatch(/\r\nConnection: close\r\n/i);
  const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
  expect(body).toMatchObject({ arc: '1.0', id: null, result: null });
  return { status, error: body.error };
}

test('HEADERS_TIMEOUT_MS: a silent connection is closed, half a head gets a 408 envelope', async () => {
  const silent = await raw(strict.port, '');
  expect(silent.text).toBe('');
  expect(silent.ms).toBeLessThan(5000);
  const half = await raw(strict.port, 'POST /arc HTTP/1.1\r\nHost: localhost\r\n');
  expect(half.ms).toBeLessThan(5000);
  const { status, error } = envelopeOf(half.text);
  expect(status).toBe(408);
  expect(error.code).toBe(-32600);
  expect(error.message).toBe('Invalid request: no complete request head within 300 ms');
});

test('a request Node refuses (bad Content-Length, header overflow) gets an ARC envelope', async () => {
  const badLength = envelopeOf((await raw(finance.port, 'POST /arc HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1x\r\n\r\n')).text);
  expect(badLength.status).toBe(400);
  expect(badLength.error.code).toBe(-32700);
  const overflow = envelopeOf(
    (await raw(finance.port, `GET /health HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`)).text,
  );
  expect(overflow.status).toBe(431);
  expect(overflow.error.code).toBe(-45004);
});
