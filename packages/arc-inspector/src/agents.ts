/**
 * The agent list: read from GET /agent-info beside the ARC endpoint, in either shape a server
 * answers - the single server's (`registeredAgents` with methods and descriptions) or the nginx
 * gateway's (each agent with its own `endpoint`, `/arc/<service>`, and an `agentInfo` URL giving
 * its methods). Pure, unit-tested (test/agents.test.ts).
 */

export interface AgentEntry {
  id: string;
  description?: string;
  /** undefined: not known yet (the gateway's list; read from `agentInfo`). */
  methods?: string[];
  /** Absolute URL of the agent's own ARC endpoint, when the list gives one. */
  endpoint?: string;
  /** Absolute URL of a GET /agent-info describing this agent, when the list gives one. */
  agentInfo?: string;
  status?: string;
}

/** Where the agent list is for an ARC endpoint: `/arc` (or `/arc/<name>`) becomes `/agent-info`. */
export function agentInfoUrl(endpoint: string, base: string): string {
  const url = new URL(endpoint, base);
  const path = url.pathname.replace(/\/arc(?:\/[^/]*)?\/?$/, '/agent-info');
  url.pathname = path === url.pathname ? '/agent-info' : path;
  url.search = '';
  url.hash = '';
  return url.href;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The agents of an /agent-info answer (read from `from`, which relative URLs in it resolve against). */
export function parseAgentList(body: unknown, from: string): AgentEntry[] {
  if (!isObject(body) || !isObject(body.registeredAgents)) {
    throw new Error('The /agent-info answer has no "registeredAgents" object');
  }
  const agents: AgentEntry[] = [];
  for (const [id, info] of Object.entries(body.registeredAgents)) {
    const spec = isObject(info) ? info : {};
    const entry: AgentEntry = { id };
    if (typeof spec.description === 'string') entry.description = spec.description;
    if (Array.isArray(spec.supportedMethods)) entry.methods = spec.supportedMethods.filter((m): m is string => typeof m === 'string');
    if (typeof spec.endpoint === 'string') entry.endpoint = new URL(spec.endpoint, from).href;
    if (typeof spec.agentInfo === 'string') entry.agentInfo = new URL(spec.agentInfo, from).href;
    if (typeof spec.status === 'string') entry.status = spec.status;
    agents.push(entry);
  }
  return agents.sort((a, b) => a.id.localeCompare(b.id));
}

/** `entry` completed with what its own /agent-info says about it (description, methods). */
export function withDetails(entry: AgentEntry, body: unknown, from: string): AgentEntry {
  const found = parseAgentList(body, from).find((a) => a.id === entry.id);
  if (found === undefined) throw new Error(`${from} does not describe ${entry.id}`);
  return {
    ...entry,
    description: entry.description ?? found.description,
    methods: found.methods ?? entry.methods,
    status: found.status ?? entry.status,
  };
}
