/** Types of cluster.cjs (the local cluster: service processes + nginx), for the TypeScript tests. */
import type { ManagedProcess, OnOutput, Service, UpstreamSpec } from '@arc/devkit';
import type { GatewayDescription } from '../../nginx/render.cjs';

export type { ManagedProcess, OnOutput, UpstreamSpec } from '@arc/devkit';
export { ROOT, findNginx, freePort, startProcess } from '@arc/devkit';

/** The services of services/manifest.json, by id. */
export declare const SERVICES: Readonly<Record<string, Service>>;

export interface Replica extends ManagedProcess {
  service: string;
  index: number;
  port: number;
  /** host:port, as nginx's $upstream_addr shows it. */
  address: string;
  url: string;
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
  /** nginx's per-address request rate (render.cjs; default its SITE_DEFAULTS); false: none (the benchmark). */
  reqLimitPerIp?: GatewayDescription['reqLimitPerIp'];
  /** The service whose web inspector the gateway serves at /inspector/ (render.cjs); startCluster names the supervisor. */
  inspector?: GatewayDescription['inspector'];
}): Promise<Gateway>;
/**
 * `replicas` per service id (default: the manifest's replicas.cluster). The gateway's port is
 * chosen first; every replica gets ARC_GATEWAY_URL = the gateway's URL unless `env` sets it.
 */
export declare function startCluster(options?: {
  replicas?: Record<string, number>;
  host?: string;
  port?: number;
  logLevel?: string;
  env?: Record<string, string>;
  onOutput?: OnOutput;
  dir?: string;
}): Promise<Cluster>;
