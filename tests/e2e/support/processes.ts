/**
 * End-to-end harness: starts built services (and other programs) as real child processes on
 * ports the OS picked, waits until they are healthy, and stops them. Logs of a process are kept
 * in memory and printed when it fails to start, so a red test says why.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..', '..');

/** A TCP port that was free a moment ago (the OS picked it). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export interface Proc {
  name: string;
  child: ChildProcess;
  port: number;
  url: string;
  output: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  port: number;
  env?: Record<string, string>;
  /** Path polled until it answers 200 (default /health); null to only wait for the port. */
  healthPath?: string | null;
  timeoutMs?: number;
}

const running = new Set<Proc>();

export async function startProcess(options: StartOptions): Promise<Proc> {
  const child = spawn(options.command, options.args, {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so stopping it also stops what it started (npm → sh → node).
    detached: true,
  });
  let out = '';
  const keep = (b: Buffer): void => {
    out += b.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, sig) => resolve(code ?? (sig ? -1 : null))));
  const proc: Proc = {
    name: options.name,
    child,
    port: options.port,
    url: `http://127.0.0.1:${options.port}`,
    output: () => out,
    stop: async (signal = 'SIGTERM') => {
      running.delete(proc);
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid!, signal);
        } catch {
          child.kill(signal);
        }
      }
      const code = await exited;
      // The group may outlive its leader (npm exits before its children): make sure it is gone.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
      return code;
    },
  };
  running.add(proc);
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  const path = options.healthPath === undefined ? '/health' : options.healthPath;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${options.name} exited with ${child.exitCode} before it was healthy:\n${out}`);
    try {
      const res = await fetch(`${proc.url}${path ?? '/'}`, { signal: AbortSignal.timeout(1000) });
      if (path === null || res.status === 200) return proc;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      await proc.stop('SIGKILL');
      throw new Error(`${options.name} was not healthy on port ${options.port} within ${options.timeoutMs ?? 20_000} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts a built service (`services/<dir>/dist/index.js`) on a free port. */
export async function startService(dir: string, env: Record<string, string> = {}): Promise<Proc> {
  const port = await freePort();
  return startProcess({
    name: dir,
    command: process.execPath,
    args: [join(ROOT, 'services', dir, 'dist', 'index.js')],
    port,
    env: { PORT: String(port), HOST: '127.0.0.1', ...env },
  });
}

/** Stops everything still running (call from afterAll). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop('SIGKILL')));
}

/** A fetch response as status, headers, text and the parsed JSON (undefined when not JSON). */
export async function readAnswer(res: Response): Promise<{ status: number; headers: Headers; text: string; json: any }> {
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** POSTs a raw body to a URL and returns status, headers and the parsed JSON (or text). */
export async function post(
  url: string,
  body: string | Buffer,
  headers: Record<string, string> = { 'Content-Type': 'application/arc+json' },
) {
  return readAnswer(await fetch(url, { method: 'POST', body, headers }));
}

let seq = 0;
/** A well-formed ARC request body. */
export function arcRequest(method: string, targetAgent: string, params: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { arc: '1.0', id: `e2e-${++seq}`, method, requestAgent: 'e2e-client', targetAgent, params, ...extra };
}

export const userText = (content: string) => ({ role: 'user', parts: [{ type: 'text', content }] });
