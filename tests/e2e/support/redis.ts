/**
 * Redis for the end-to-end tests: whether the machine's Redis answers, a key prefix of this
 * run's own (so parallel runs and the real `arc:` keys never mix) and its cleanup, and a private
 * redis-server the test may kill.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Redis } from 'ioredis';

/** The machine's Redis (REDIS_E2E_URL to use another). */
export const REDIS_URL = process.env.REDIS_E2E_URL ?? 'redis://127.0.0.1:6379';

/** A client that fails fast instead of reconnecting forever (for probes and cleanup). */
export function shortLivedClient(url = REDIS_URL): Redis {
  return new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2000,
    commandTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
}

/**
 * null when Redis at `url` answers PING, else why not. Synchronous (a child node process), so a
 * test file can decide at load time whether its suite runs.
 */
export function redisProblem(url = REDIS_URL): string | null {
  const { hostname, port } = new URL(url);
  const script = `
    const s = require('node:net').connect(${Number(port || 6379)}, ${JSON.stringify(hostname)});
    let b = '';
    s.setTimeout(2000, () => { console.log('no answer within 2 s'); process.exit(1); });
    s.on('connect', () => s.write('PING\\r\\n'));
    s.on('data', (d) => { b += d; if (b.includes('\\r\\n')) { console.log(b.trim()); process.exit(b.startsWith('+PONG') ? 0 : 1); } });
    s.on('error', (e) => { console.log(e.message); process.exit(1); });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 5000 });
  if (r.status === 0) return null;
  return `Redis at ${url} does not answer PING (${`${r.stdout ?? ''}${r.stderr ?? ''}`.trim() || r.error?.message || 'no answer'})`;
}

/** A prefix no other run uses, e.g. `arc-e2e-3f9a1c2b:`. */
export function testKeyPrefix(): string {
  return `arc-e2e-${randomBytes(4).toString('hex')}:`;
}

/** Every key under `prefix` (SCAN, so it never blocks Redis). */
export async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 500);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/** Deletes every key under `prefix`; returns how many there were. */
export async function deleteKeysUnder(prefix: string, url = REDIS_URL): Promise<number> {
  const client = shortLivedClient(url);
  client.on('error', () => undefined);
  try {
    await client.connect();
    const keys = await keysUnder(client, prefix);
    for (let i = 0; i < keys.length; i += 500) await client.del(...keys.slice(i, i + 500));
    return keys.length;
  } finally {
    client.disconnect();
  }
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** The redis-server binary (REDIS_SERVER, or on PATH / in the sbin directories); null if none. */
export function findRedisServer(): string | null {
  const executable = (file: string): boolean => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (process.env.REDIS_SERVER) return executable(process.env.REDIS_SERVER) ? process.env.REDIS_SERVER : null;
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/sbin', '/usr/local/bin'];
  const dir = dirs.find((d) => d && executable(join(d, 'redis-server')));
  return dir ? join(dir, 'redis-server') : null;
}

export interface RedisServer {
  port: number;
  url: string;
  child: ChildProcess;
  isRunning(): boolean;
  /** SIGKILL (default) or SIGTERM, and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** A private redis-server on `port`, nothing kept on disk; resolves once it accepts connections. */
export function startRedisServer(binary: string, port: number): Promise<RedisServer> {
  const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const isRunning = (): boolean => child.exitCode === null && child.signalCode === null;
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    child,
    isRunning,
    async stop(signal = 'SIGKILL') {
      if (isRunning()) child.kill(signal);
      await exited;
    },
  };
  return new Promise((resolve, reject) => {
    let out = '';
    const fail = (err: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`redis-server on ${port} did not start within 10 s:\n${out}`)), 10_000);
    const onExit = (code: number | null, signal: string | null): void =>
      fail(new Error(`redis-server on ${port} exited (code ${code}, signal ${signal}):\n${out}`));
    child.once('error', fail);
    child.once('exit', onExit);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (!out.includes('Ready to accept connections')) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      child.off('error', fail);
      child.on('error', () => undefined);
      child.stdout?.off('data', onData);
      child.stdout?.resume();
      child.stderr?.resume();
      resolve(server);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
  });
}
