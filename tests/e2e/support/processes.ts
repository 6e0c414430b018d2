/**
 * End-to-end harness: built services (and other programs) as real child processes on ports the
 * OS picked, healthy before a test uses them, stopped afterwards. A thin layer over @arc/devkit
 * (processes, ports, envelopes), keeping the API the e2e tests use.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, freePort, manifest, startProcess as startManaged } from '@arc/devkit';

export { ROOT, arcRequest, freePort, post, readAnswer, userText } from '@arc/devkit';

export interface Proc {
  name: string;
  child: ChildProcess;
  port: number;
  url: string;
  output: () => string;
  /** Stops its process group; resolves the exit code (-1 when killed by a signal). */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  port: number;
  env?: Record<string, string>;
  /** Removed from the inherited environment (e.g. REDIS_URL). */
  unsetEnv?: string[];
  /** Path polled until it answers 200 (default /health); null to wait for any HTTP answer on `/`. */
  healthPath?: string | null;
  /** Also wait until the output shows this. */
  readyOutput?: string | RegExp;
  timeoutMs?: number;
}

const running = new Set<Proc>();

/** Starts a program (LOG_LEVEL=warn unless `env` says otherwise) in its own process group. */
export async function startProcess(options: StartOptions): Promise<Proc> {
  const url = `http://127.0.0.1:${options.port}`;
  const path = options.healthPath === undefined ? '/health' : options.healthPath;
  const managed = await startManaged({
    name: options.name,
    command: options.command,
    args: options.args,
    env: { LOG_LEVEL: 'warn', ...options.env },
    unsetEnv: options.unsetEnv,
    healthUrl: `${url}${path ?? '/'}`,
    healthStatus: path === null ? 'any' : 200,
    readyOutput: options.readyOutput,
    timeoutMs: options.timeoutMs,
  });
  const proc: Proc = {
    name: options.name,
    child: managed.child,
    port: options.port,
    url,
    output: managed.output,
    stop: async (signal = 'SIGTERM') => {
      running.delete(proc);
      const { code, signal: killedBy } = await managed.stop(signal);
      return code ?? (killedBy ? -1 : null);
    },
  };
  running.add(proc);
  return proc;
}

/** Starts a built service of services/manifest.json (`services/<id>/dist/index.js`) on a free port. */
export async function startService(id: string, env: Record<string, string> = {}): Promise<Proc> {
  const port = await freePort();
  const entry = manifest.all.find((s) => s.id === id)?.entry ?? join('services', id, 'dist', 'index.js');
  return startProcess({
    name: id,
    command: process.execPath,
    args: [join(ROOT, entry)],
    port,
    env: { PORT: String(port), HOST: '127.0.0.1', ...env },
  });
}

/** Stops everything still running (call from afterAll). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop('SIGKILL')));
}
