/** The hr service: an Express app on arc-core serving the hr agent at POST /arc. */
import { createArcServer, serverOptions, type ArcServer, type ServiceDeps } from '@arc/core/express';
import { createHrAgent, type HrAgentOptions } from './agent';

export const DEFAULTS = { PORT: 8002, SERVER_ID: 'hr-server' } as const;

export function createServer(deps: ServiceDeps, agent: HrAgentOptions = {}): ArcServer {
  return createArcServer({ ...serverOptions(deps), description: 'ARC hr service' }).addAgent(createHrAgent(agent));
}
