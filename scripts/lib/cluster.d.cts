/** Types of cluster.cjs (the local cluster: service processes + nginx), for the TypeScript tests. */
import type { ChildProcess } from 'node:child_process';

export declare const ROOT: string;
export declare const SERVICES: Readonly<Record<'finance' | 'hr' | 'support', { entry: string; agents: string[] }>>;

export type OnOutput = (name: string, text: string) => void;

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  pid: number | undefined;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>;
  isRunning(): boolean;
  /** Sends `signal` (default SIGTERM), waits for the exit; SIGKILL after `graceMs` (default 5 s). */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface Replica extends ManagedProcess {
  service: string;
  index: number;
  port: number;
  /** host:port, as nginx's $upstream_addr shows it. */
  address: string;
  url: string;
}

export interface UpstreamSpec {
  servers: string[];
  agents?: string[];
}

export interface Gateway extends ManagedProcess {
  port: number;
  url: string;
  dir: string;
  conf: string;
}

export interface Cluster {
  url: string;
  gateway: Gateway;
  replicas: Replica[];
  of(service: string): Replica[];
  stop(): Promise<void>;
}

export declare function freePort(host?: string): Promise<number>;
export declare function findNginx(): string | null;
export declare function startProcess(options: {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  healthUrl: string;
  timeoutMs?: number;
  onOutput?: OnOutput;
}): Promise<ManagedProcess>;
export declare function startReplica(
  service: string,
  index: number,
  options?: { host?: string; port?: number; logLevel?: string; env?: Record<string, string>; onOutput?: OnOutput },
): Promise<Replica>;
export declare function startGateway(options: {
  services: Record<string, UpstreamSpec>;
  host?: string;
  port?: number;
  dir?: string;
  onOutput?: OnOutput;
  workerProcesses?: number;
}): Promise<Gateway>;
export declare function startCluster(options?: {
  replicas?: Partial<Record<'finance' | 'hr' | 'support', number>>;
  host?: string;
  port?: number;
  logLevel?: string;
  env?: Record<string, string>;
  onOutput?: OnOutput;
  dir?: string;
}): Promise<Cluster>;
