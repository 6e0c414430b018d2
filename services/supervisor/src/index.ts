/**
 * Process entry: PORT (default 8004), HOST, SERVER_ID and the other variables of ServiceConfig
 * (ARC_GATEWAY_URL or AGENT_ROUTES: where the specialists are), and the supervisor's own:
 * SUPERVISOR_AGENTS, SUPERVISOR_FALLBACK_AGENT, SUPERVISOR_DISCOVERY_TTL_MS (server.ts).
 */
import { runService } from '@arc/core/express';
import { DEFAULTS, SETTINGS, createServer } from './server';

void runService(process.env, {
  defaults: DEFAULTS,
  settings: SETTINGS,
  build: (deps) => createServer(deps),
});
