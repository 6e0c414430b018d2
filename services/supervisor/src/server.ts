/**
 * The supervisor service: an Express app on arc-core serving the supervisor agent at POST /arc.
 * Its specialists are reached over HTTP (ARC_GATEWAY_URL or AGENT_ROUTES) and described by their
 * /agent-info (directory.ts).
 */
import { authorizationFor } from '@arc/core';
import { createArcServer, serverOptions, type ArcServer, type ServiceDeps } from '@arc/core/express';
import { SUPERVISOR_AGENT_ID, createSupervisorAgent, type SupervisorOptions } from './agent';
import { DEFAULT_SPECIALISTS, agentInfoUrl, httpDirectory } from './directory';
import { DEFAULT_FALLBACK_AGENT } from './routing';

export const DEFAULTS = { PORT: 8004, SERVER_ID: 'supervisor-server' } as const;

const AGENT_LIST = '^\\s*[A-Za-z0-9][A-Za-z0-9._:-]*(\\s*,\\s*[A-Za-z0-9][A-Za-z0-9._:-]*)*\\s*$';

/** The service's own variables (validated at start with arc-core's). */
export const SETTINGS = {
  /** The specialists it routes to, comma-separated. */
  SUPERVISOR_AGENTS: { type: 'string', pattern: AGENT_LIST, default: DEFAULT_SPECIALISTS.join(',') },
  /** Where a conversation goes when neither the rules nor the descriptions decide. */
  SUPERVISOR_FALLBACK_AGENT: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$', default: DEFAULT_FALLBACK_AGENT },
  /** How long a specialist's /agent-info is kept before it is read again. */
  SUPERVISOR_DISCOVERY_TTL_MS: { type: 'integer', minimum: 1000, maximum: 3_600_000, default: 60_000 },
} as const;

export function createServer(deps: ServiceDeps, supervisor: SupervisorOptions = {}): ArcServer {
  const options = serverOptions(deps);
  const config = deps.config as Record<string, unknown>;
  const specialists =
    typeof config.SUPERVISOR_AGENTS === 'string' ? config.SUPERVISOR_AGENTS.split(',').map((s) => s.trim()) : [...DEFAULT_SPECIALISTS];
  const fallback = typeof config.SUPERVISOR_FALLBACK_AGENT === 'string' ? config.SUPERVISOR_FALLBACK_AGENT : undefined;
  if (fallback !== undefined && !specialists.includes(fallback)) {
    throw new TypeError(`SUPERVISOR_FALLBACK_AGENT: ${fallback} is not one of SUPERVISOR_AGENTS (${specialists.join(', ')})`);
  }
  const calls = options.agentCalls ?? {};
  const directory = httpDirectory({
    agents: specialists,
    infoUrl: (id) => agentInfoUrl(id, calls),
    ttlMs: typeof config.SUPERVISOR_DISCOVERY_TTL_MS === 'number' ? config.SUPERVISOR_DISCOVERY_TTL_MS : undefined,
    // /agent-info may be protected (AUTH_PROTECT_AGENT_INFO): read it with the calls' own token.
    headers: async (): Promise<Record<string, string>> => {
      const authorization = await authorizationFor(calls.token, SUPERVISOR_AGENT_ID);
      return authorization === undefined ? {} : { Authorization: authorization };
    },
    onError: (agent, reason) => deps.logger.warn('could not read a specialist description', { agent, reason: reason.slice(0, 200) }),
  });
  return createArcServer({ ...options, description: 'ARC supervisor service' }).addAgent(
    createSupervisorAgent({ specialists, directory, ...(fallback !== undefined ? { fallback } : {}), ...supervisor }),
  );
}
