/**
 * The AGENT_* variables of agent calls (declared and defaulted in config/config.ts):
 *
 *   AGENT_ROUTES            agent id → ARC endpoint, `finance-agent=http://finance:8001/arc, hr-agent=…`
 *   ARC_GATEWAY_URL         a gateway routing `<url>/arc/<agent>` (nginx), for agents without a route
 *   AGENT_CALL_TIMEOUT_MS   one call's timeout, retries included (default 10000)
 *   AGENT_CALL_MAX_HOPS     longest call chain (default 8); longer, or a cycle, is -45006
 *   AGENT_CALL_BREAKER      on|off (default on): a circuit breaker per remote target (circuit-breakers.ts)
 *   AGENT_CALL_BREAKER_RESET_MS  how long an open breaker fails calls at once (-41003) before it
 *                           lets one through (default 10000)
 *
 * A target mounted in the same process is always called in process; these only say where the
 * others are.
 */
import type { ServiceConfig } from '../config/config';
import type { AgentCallConfig } from './agent-call-service';
import { httpUrl } from './agent-routes';
import { AGENT_ID } from './call-chain';
import { DEFAULT_BREAKER_RESET_MS } from './circuit-breakers';
import { selfSignedTokens } from './service-token';
const FORM = 'id=http(s)://host[:port]/path, comma-separated';

/** AGENT_ROUTES as a map; throws a TypeError saying which entry is wrong. */
export function parseAgentRoutes(text: string): Record<string, string> {
  const routes: Record<string, string> = {};
  for (const entry of text.split(',')) {
    const item = entry.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    const id = eq === -1 ? '' : item.slice(0, eq).trim();
    const url = eq === -1 ? '' : item.slice(eq + 1).trim();
    if (!AGENT_ID.test(id)) throw new TypeError(`entry ${JSON.stringify(item.slice(0, 64))} has no agent id (${FORM})`);
    if (!isHttpUrl(url)) throw new TypeError(`the route of ${id} is not an http(s) URL (${FORM})`);
    if (id in routes) throw new TypeError(`${id} has two routes`);
    routes[id] = url;
  }
  return routes;
}

/** An http(s) URL without credentials in it (they belong in a token, not in a setting shown in logs). */
function isHttpUrl(text: string): boolean {
  const url = httpUrl(text);
  return url !== undefined && url.username === '' && url.password === '';
}

/** Problems of AGENT_ROUTES and ARC_GATEWAY_URL (each set only); `raw` holds what the environment set. */
export function agentCallConfigProblems(raw: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (typeof raw.AGENT_ROUTES === 'string') {
    try {
      parseAgentRoutes(raw.AGENT_ROUTES);
    } catch (err) {
      problems.push(`AGENT_ROUTES: ${(err as Error).message}`);
    }
  }
  if (typeof raw.ARC_GATEWAY_URL === 'string' && !isHttpUrl(raw.ARC_GATEWAY_URL)) {
    problems.push(`ARC_GATEWAY_URL=${JSON.stringify(raw.ARC_GATEWAY_URL.slice(0, 128))} must be an http(s) URL, e.g. http://nginx`);
  }
  return problems;
}

/** The router's `agentCalls` option from a validated configuration. */
export function agentCallsFromConfig(
  config: Pick<
    ServiceConfig,
    | 'AGENT_ROUTES'
    | 'ARC_GATEWAY_URL'
    | 'AGENT_CALL_TIMEOUT_MS'
    | 'AGENT_CALL_MAX_HOPS'
    | 'AGENT_CALL_BREAKER'
    | 'AGENT_CALL_BREAKER_RESET_MS'
    | 'AGENT_CALL_TOKEN'
    | 'AUTH_JWT_SECRET'
    | 'AUTH_ISSUER'
    | 'AUTH_AUDIENCE'
  >,
): AgentCallConfig {
  const options: AgentCallConfig = {
    timeoutMs: config.AGENT_CALL_TIMEOUT_MS,
    maxHops: config.AGENT_CALL_MAX_HOPS,
    // Defaults here, not in the schema: unset means on, 10 s.
    breaker: {
      enabled: config.AGENT_CALL_BREAKER !== 'off',
      resetTimeoutMs: config.AGENT_CALL_BREAKER_RESET_MS ?? DEFAULT_BREAKER_RESET_MS,
    },
  };
  if (config.AGENT_ROUTES !== undefined) options.routes = parseAgentRoutes(config.AGENT_ROUTES);
  if (config.ARC_GATEWAY_URL !== undefined) options.gatewayUrl = config.ARC_GATEWAY_URL;
  // HTTP calls carry a token when the services check them: the one given, else one this service
  // signs with the shared secret (service-token.ts); in-process calls need none.
  if (config.AGENT_CALL_TOKEN !== undefined) options.token = config.AGENT_CALL_TOKEN;
  else if (config.AUTH_JWT_SECRET !== undefined) {
    options.token = selfSignedTokens({
      secret: config.AUTH_JWT_SECRET,
      ...(config.AUTH_ISSUER !== undefined ? { issuer: firstListed(config.AUTH_ISSUER) } : {}),
      ...(config.AUTH_AUDIENCE !== undefined ? { audience: firstListed(config.AUTH_AUDIENCE) } : {}),
    });
  }
  return options;
}

/** AUTH_ISSUER and AUTH_AUDIENCE may list several (comma-separated); a token names the first. */
function firstListed(list: string): string {
  return list.split(',')[0]!.trim();
}
