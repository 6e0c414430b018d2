/** Types of @arc/devkit (index.cjs and lib/*.cjs), written by hand: the package has no build step. */
import type { ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import type { BrowserContext } from 'playwright-core';

/** The repository's root directory. */
export declare const ROOT: string;

// ports
/** A TCP port that was free a moment ago (the OS picked it); nothing listens on it. */
export declare function freePort(host?: string): Promise<number>;
/** IPv4 TCP connections to "host:port" still held open on this machine (ESTABLISHED or CLOSE_WAIT; Linux /proc/net/tcp). */
export declare function openConnectionsTo(address: string): number;
/** Resolves once no connection to "host:port" is held open (e.g. nginx has closed its kept-alive ones to a killed replica); rejects after timeoutMs (5000). */
export declare function noOpenConnectionsTo(address: string, timeoutMs?: number): Promise<void>;

// binaries
export declare function isExecutable(file: string): boolean;
/** `$<envVar>` when set (null if not executable), else `name` on PATH or in the sbin directories; null if none. */
export declare function findBinary(name: string, options?: { envVar?: string }): string | null;
/** nginx: $NGINX_BIN, else on PATH or in the sbin directories. */
export declare function findNginx(): string | null;
/** redis-server: $REDIS_SERVER, else on PATH or in the sbin directories. */
export declare function findRedisServer(): string | null;

// processes
export type OnOutput = (name: string, text: string) => void;

export interface ExitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

export interface StartProcessOptions {
  name: string;
  command: string;
  args?: string[];
  /** Default: the repository root. */
  cwd?: string;
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** Removed from this process's environment before `env` is added. */
  unsetEnv?: string[];
  /** Its own process group, stopped as a whole (default true). */
  group?: boolean;
  /** Polled until it answers `healthStatus`. */
  healthUrl?: string;
  /** Default 200; 'any' for any HTTP answer. */
  healthStatus?: number | 'any';
  /** Text (or pattern) the output must show before it counts as ready. */
  readyOutput?: string | RegExp;
  /** Default 20 s. */
  timeoutMs?: number;
  /** Default 100 ms. */
  pollMs?: number;
  /** Characters of output kept (the last ones; default 100,000). */
  keepOutput?: number;
  onOutput?: OnOutput;
}

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  pid: number | undefined;
  /** Spawn until ready, in ms. */
  startupMs: number | undefined;
  /** The last `keepOutput` characters of stdout and stderr. */
  output(): string;
  /** Bytes of output in all. */
  outputBytes(): number;
  exited: Promise<ExitResult>;
  isRunning(): boolean;
  /** Sends a signal (to the group with `group`), without waiting. */
  kill(signal?: NodeJS.Signals): void;
  /** Sends `signal` (default SIGTERM), waits for the exit (SIGKILL after `graceMs`, default 5 s), clears the group. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<ExitResult>;
}

export declare function startProcess(options: StartProcessOptions): Promise<ManagedProcess>;
/** SIGKILLs every process started by startProcess that still runs (also done when this process exits). */
export declare function killAll(): void;
/** The status of a GET on a new connection, or null when nothing answers within `timeoutMs` (default 1 s). */
export declare function httpStatus(url: string, timeoutMs?: number): Promise<number | null>;

export interface ProcessEntry {
  pid: number;
  /** Start time in clock ticks since boot: tells a reused pid apart. */
  start: string;
}
/** A process and all its descendants now (Linux /proc). */
export declare function processTree(rootPid: number): ProcessEntry[];
/** The entries of a processTree() snapshot that still run. */
export declare function stillRunning(snapshot: ProcessEntry[]): ProcessEntry[];

// redis
/** redis://127.0.0.1:6379 */
export declare const DEFAULT_REDIS_URL: string;
/** An ioredis client that fails fast (no reconnect, no offline queue); call connect(). */
export declare function shortLivedClient(url?: string, timeoutMs?: number): Redis;
/** `url` with its password hidden. */
export declare function redactUrl(url: string): string;
/** null when Redis at `url` answers PING within `timeoutMs` (default 2 s), else why not. */
export declare function redisProblemAsync(url?: string, timeoutMs?: number): Promise<string | null>;
/** The same, synchronously (a child process): for test files deciding at load time. */
export declare function redisProblem(url?: string, timeoutMs?: number): string | null;
/** A key prefix no other run uses: `<tag>-<8 hex>:` (tag default arc-e2e). */
export declare function testKeyPrefix(tag?: string): string;
/** Every key under `prefix` (SCAN). */
export declare function keysUnder(client: Redis, prefix: string): Promise<string[]>;
/** UNLINKs every key under `prefix`; resolves how many there were. */
export declare function deleteKeysUnder(prefix: string, url?: string): Promise<number>;

export interface RedisServer extends ManagedProcess {
  port: number;
  url: string;
  /** Default SIGKILL. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<ExitResult>;
}
/** A private redis-server (nothing saved) on `port` (0: a free one); resolves once it accepts connections. */
export declare function startRedisServer(options?: {
  binary?: string | null;
  port?: number;
  host?: string;
  timeoutMs?: number;
}): Promise<RedisServer>;

// envelopes
export interface ArcRequest {
  arc: '1.0';
  id: unknown;
  method: string;
  requestAgent: string;
  targetAgent: string;
  params: Record<string, unknown>;
  [key: string]: unknown;
}
/** A well-formed ARC request (id e2e-<n>, requestAgent e2e-client unless `extra` says otherwise). */
export declare function arcRequest(
  method: string,
  targetAgent: string,
  params: Record<string, unknown>,
  extra?: Record<string, unknown>,
): ArcRequest;
export declare function userText(content: string, type?: string): { role: 'user'; parts: Array<{ type: string; content: string }> };
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- whatever the server sent
}
/** A fetch response as status, headers, text and the parsed JSON (undefined when not JSON). */
export declare function readAnswer(res: Response): Promise<Answer>;
/** POSTs `body` (an object goes as JSON) and reads the answer. */
export declare function post(url: string, body: string | Buffer | object, headers?: Record<string, string>): Promise<Answer>;

// needs
export type Need = 'nginx' | 'redis' | 'redis-server' | 'chromium' | { name: string; problem(): string | null };
/** $REDIS_E2E_URL, else redis://127.0.0.1:6379: what the need 'redis' probes. */
export declare const TEST_REDIS_URL: string;
/** `CI` is set (and not "false" or "0"). */
export declare function inCI(): boolean;
/** One sentence per unmet need; [] when all are met. */
export declare function unmet(needs: Need[]): string[];
/** The need "Redis at `url` answers PING". */
export declare function redisAt(url: string): Need;
type Describe = (name: string, fn: () => void) => void;
type Test = (name: string, fn: () => unknown, timeout?: number) => void;
/** describe, or a skipped suite saying why, or in CI a suite with one failing test naming what is missing. */
export declare function suiteNeeding(needs: Need[], options?: { requiredInCi?: boolean }): Describe;
/** The same rule for one test. */
export declare function testNeeding(needs: Need[], options?: { requiredInCi?: boolean }): Test;

// browser
/** Flags every launch gets: no sandbox (root), no GPU, no background traffic (a closed network stalls it otherwise). */
export declare const CHROMIUM_ARGS: readonly string[];
/** $CHROMIUM_BIN (null if not executable), else /usr/bin/chromium, else `chromium` on PATH; null if none. */
export declare function findChromium(): string | null;
/** Why no headless Chromium can be launched (no browser, no playwright-core), or null. */
export declare function chromiumProblem(): string | null;
/** A headless Chromium with a new empty profile (removed on close), 1366x768 pages; throws chromiumProblem()'s sentence without one. */
export declare function launchChromium(options?: { timeoutMs?: number }): Promise<BrowserContext & { profile: string }>;
/** Where tests write artifacts (screenshots): $ARC_TEST_ARTIFACTS, else <root>/test-artifacts, plus `sub`; created. */
export declare function testArtifactsDir(...sub: string[]): string;

// manifest
export interface Deployable {
  id: string;
  /** services/<id> */
  dir: string;
  package: string;
  agents: readonly string[];
  /** The default PORT (src/server.ts DEFAULTS, Dockerfile EXPOSE, compose PORT). */
  port: number;
  serverId: string;
  /** <dir>/dist/index.js */
  entry: string;
}
export interface Service extends Deployable {
  replicas: Readonly<{ cluster: number; compose: number }>;
}
export interface Manifest {
  file: string;
  services: readonly Service[];
  singleServer: Deployable;
  all: readonly Deployable[];
  ids: readonly string[];
  service(id: string): Service;
  replicas(where: 'cluster' | 'compose'): Record<string, number>;
}
export declare const manifest: Manifest;
export declare function loadManifest(file?: string): Manifest;
