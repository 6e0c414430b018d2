/**
 * What the supervisor knows of the specialists it may route to: their ids, descriptions and
 * methods, for the routing policy. In the single server it reads the agents mounted beside it;
 * distributed, it reads each specialist's `GET /agent-info` (through the gateway:
 * `<ARC_GATEWAY_URL>/agent-info/<agent>`; with an AGENT_ROUTES entry `id=http://h:p/arc`:
 * `http://h:p/agent-info`), caches the answers for `ttlMs`, and tolerates failures: an agent
 * whose description cannot be read stays routable by the rules, known by its id alone, and is
 * asked again after `retryMs`.
 */
export interface AgentSummary {
  id: string;
  description?: string;
  methods: readonly string[];
}

export interface AgentDirectory {
  /** The specialists, in the configured order. Never rejects. */
  list(): Promise<AgentSummary[]>;
}

/** The specialists of the guide. */
export const DEFAULT_SPECIALISTS: readonly string[] = Object.freeze(['finance-agent', 'hr-agent', 'support-agent']);

/** The agents mounted in this process (the single server), except the supervisor itself. */
export function inProcessDirectory(
  agents: () => Iterable<{ id: string; description?: string | undefined; methods: readonly string[] }>,
  options: { exclude?: readonly string[]; only?: readonly string[] } = {},
): AgentDirectory {
  const exclude = new Set(options.exclude ?? []);
  const only = options.only === undefined ? undefined : new Set(options.only);
  return {
    async list() {
      const out: AgentSummary[] = [];
      for (const a of agents()) {
        if (exclude.has(a.id) || (only !== undefined && !only.has(a.id))) continue;
        out.push({ id: a.id, methods: [...a.methods], ...(a.description ? { description: a.description } : {}) });
      }
      return out;
    },
  };
}

export interface HttpDirectoryOptions {
  /** The specialists to describe. */
  agents: readonly string[];
  /** Where an agent's /agent-info is (undefined: nowhere known; the agent is listed by id). */
  infoUrl: (agentId: string) => string | undefined;
  /** How long a description is kept (default 60 s). */
  ttlMs?: number;
  /** After a failed read, how long until the next try (default 5 s). */
  retryMs?: number;
  /** One read's time limit (default 2 s). */
  timeoutMs?: number;
  /** Headers of every read (an Authorization header when /agent-info is protected). */
  headers?: () => Record<string, string> | Promise<Record<string, string>>;
  /** Told of a failed read (the supervisor logs it). */
  onError?: (agentId: string, reason: string) => void;
  fetch?: typeof fetch;
  now?: () => number;
}

interface Entry {
  summary: AgentSummary;
  /** When to read it again. */
  refreshAt: number;
  /** A read in progress (concurrent lists share it). */
  reading?: Promise<void>;
  /** A read was tried (successful or not): lists no longer wait for it. */
  tried: boolean;
}

/** /agent-info over HTTP, cached and refreshed in the background of a list() that finds it stale. */
export function httpDirectory(options: HttpDirectoryOptions): AgentDirectory {
  const ttlMs = options.ttlMs ?? 60_000;
  const retryMs = options.retryMs ?? 5_000;
  const timeoutMs = options.timeoutMs ?? 2_000;
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>(options.agents.map((id) => [id, { summary: { id, methods: [] }, refreshAt: 0, tried: false }]));

  const read = async (id: string, entry: Entry): Promise<void> => {
    const url = options.infoUrl(id);
    if (url === undefined) {
      entry.refreshAt = now() + ttlMs;
      return;
    }
    try {
      const res = await doFetch(url, {
        headers: { Accept: 'application/json', ...(await options.headers?.()) },
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const info = (await res.json()) as { registeredAgents?: Record<string, { description?: unknown; supportedMethods?: unknown }> };
      const mine = info.registeredAgents?.[id];
      if (mine === undefined) throw new Error(`its /agent-info does not list ${id}`);
      const methods = Array.isArray(mine.supportedMethods) ? mine.supportedMethods.filter((m): m is string => typeof m === 'string') : [];
      entry.summary = { id, methods, ...(typeof mine.description === 'string' ? { description: mine.description.slice(0, 1000) } : {}) };
      entry.refreshAt = now() + ttlMs;
    } catch (err) {
      entry.refreshAt = now() + retryMs;
      options.onError?.(id, err instanceof Error ? err.message : String(err));
    }
  };

  return {
    async list() {
      const waits: Promise<void>[] = [];
      for (const [id, entry] of entries) {
        if (entry.reading === undefined && now() >= entry.refreshAt) {
          entry.reading = read(id, entry).finally(() => {
            entry.reading = undefined;
            entry.tried = true;
          });
        }
        // Wait only for the first read of an agent; then a stale (or no) description is good
        // enough while the next read runs, so an unreachable agent slows no conversation down.
        if (entry.reading !== undefined && !entry.tried) waits.push(entry.reading);
      }
      await Promise.all(waits);
      return [...entries.values()].map((e) => e.summary);
    },
  };
}

/**
 * The /agent-info URL of an agent from the agent-call settings: an AGENT_ROUTES URL ending in
 * /arc gives its server's /agent-info; else the gateway's `/agent-info/<agent>`.
 */
export function agentInfoUrl(agentId: string, calls: { routes?: Record<string, string>; gatewayUrl?: string }): string | undefined {
  const route = calls.routes?.[agentId];
  if (route !== undefined) {
    const u = new URL(route);
    u.pathname = u.pathname.replace(/\/arc(?:\/[^/]*)?\/?$/, '') + '/agent-info';
    return u.toString();
  }
  if (calls.gatewayUrl !== undefined) return `${calls.gatewayUrl.replace(/\/+$/, '')}/agent-info/${encodeURIComponent(agentId)}`;
  return undefined;
}

/** The directories, by where the descriptions come from. */
export const AgentDirectory = Object.freeze({ inProcess: inProcessDirectory, http: httpDirectory });
