/** Types of render.cjs (the gateway renderer), for the TypeScript tests. */

export interface UpstreamSpec {
  servers: string[];
  /** Agent ids: extra /arc/<agent id> routes to the same upstream, and GET /agent-info/<agent id> to its GET /agent-info. */
  agents?: string[];
}

export interface GatewayDescription {
  /** nginx `listen` argument, e.g. "80" or "127.0.0.1:8080". */
  listen: string;
  /** Default /var/log/nginx/access.log; "off" for none. */
  accessLog?: string;
  /** responseAgent of nginx's own errors (default "nginx"). */
  serverId?: string;
  /** Requests in flight per client address (default SITE_DEFAULTS.connLimitPerIp). */
  connLimitPerIp?: number;
  /**
   * Requests per client address (nginx limit_req): a rate ("<n>r/s" or "<n>r/m") and a burst
   * served at once beyond it (default SITE_DEFAULTS.reqLimitPerIp); false: no such limit (benchmarks).
   */
  reqLimitPerIp?: { rate: string; burst?: number } | false;
  services: Record<string, UpstreamSpec>;
  /** A service of `services` whose web inspector (INSPECTOR=on) the gateway serves at /inspector/; unset: none. */
  inspector?: string;
}

export declare class RenderError extends Error {}

export declare const UPSTREAM: Readonly<{
  maxFails: number;
  failTimeout: string;
  keepalive: number;
  keepaliveTimeout: string;
  zoneSize: string;
}>;
export declare const SITE_DEFAULTS: Readonly<{ connLimitPerIp: number; reqLimitPerIp: Readonly<{ rate: string; burst: number }> }>;
export declare const WORKER: Readonly<{ connections: number; rlimitNofile: number }>;
/** services/manifest.json */
export declare const MANIFEST: string;

/** The http-level gateway configuration (upstreams, maps, server) for a description. */
export declare function renderSite(desc: GatewayDescription): string;
/** The main context for a standalone nginx that keeps all its files under `prefix`. */
export declare function renderMain(options: { prefix: string; workerProcesses?: number | string; errorLogLevel?: string }): string;
/** The nginx image's own nginx.conf with the WORKER limits. */
export declare function imageMain(text: string): string;
/** Writes nginx.conf, arc.conf and tmp/ into `dir`; returns the command line to run nginx in the foreground. */
export declare function writeStandalone(
  dir: string,
  desc: GatewayDescription,
  options?: { workerProcesses?: number | string; errorLogLevel?: string },
): { prefix: string; conf: string; args: string[] };
export declare function readDescription(file: string): GatewayDescription;
/** reqLimitPerIp from GATEWAY_REQ_LIMIT's form: "off" (false) or "<n>r/s [burst=<m>]" (or r/m); throws RenderError otherwise. */
export declare function parseReqLimit(text: string): { rate: string; burst?: number } | false;
/** The docker-compose description, built from services/manifest.json. */
export declare function composeDescription(manifestFile?: string): GatewayDescription;
