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

/** `text` as a URL when it is an http(s) one, else undefined. */
export function httpUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

function checkUrl(what: string, url: string): string {
  if (httpUrl(url) === undefined) throw new TypeError(`${what}: "${url}" is not an http(s) URL`);
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
