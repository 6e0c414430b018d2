/** The support service: an Express app on arc-core serving the support agent at POST /arc. */
import { createArcServer, serverOptions, type ArcServer, type ServiceDeps } from '@arc/core/express';
import { createSupportAgent, type SupportAgentOptions } from './agent';

export const DEFAULTS = { PORT: 8003, SERVER_ID: 'support-server' } as const;

export function createServer(deps: ServiceDeps, agent: SupportAgentOptions = {}): ArcServer {
  return createArcServer({ ...serverOptions(deps), description: 'ARC support service' }).addAgent(createSupportAgent(agent));
}
