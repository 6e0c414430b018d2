/**
 * Where an agent outside this router is: a routes map (AGENT_ROUTES style, agent id → ARC
 * endpoint URL), else a gateway that routes `<gateway>/arc/<agent>` (nginx), else nowhere.
 */
export interface AgentRoutesOptions {
  /** Agent id → ARC endpoint URL (e.g. `http://hr-service:8000/arc`). */
  routes?: Readonly<Record<string, string>>;
  /** A gateway that routes `/arc/<agent>`; used for agents without a route. */
  gatewayUrl?: string;
}

function checkUrl(what: string, url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`${what}: "${url}" is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError(`${what}: "${url}" is not an http(s) URL`);
  return url;
}

export class AgentRoutes {
  private readonly routes: ReadonlyMap<string, string>;
  private readonly gatewayUrl: string | undefined;

  constructor(options: AgentRoutesOptions) {
    this.routes = new Map(Object.entries(options.routes ?? {}).map(([id, url]) => [id, checkUrl(`route of ${id}`, url)]));
    this.gatewayUrl = options.gatewayUrl === undefined ? undefined : checkUrl('gatewayUrl', options.gatewayUrl).replace(/\/+$/, '');
  }

  /** True when neither routes nor a gateway were given. */
  get empty(): boolean {
    return this.routes.size === 0 && this.gatewayUrl === undefined;
  }

  /** The ARC endpoint of `agentId`, or undefined. */
  resolve(agentId: string): string | undefined {
    const route = this.routes.get(agentId);
    if (route !== undefined) return route;
    return this.gatewayUrl === undefined ? undefined : `${this.gatewayUrl}/arc/${encodeURIComponent(agentId)}`;
  }
}
