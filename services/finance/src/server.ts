/** The finance service: an Express app on arc-core serving the finance agent at POST /arc. */
import { createArcServer, serverOptions, type ArcServer, type ServiceDeps } from '@arc/core/express';
import { createFinanceAgent, type FinanceAgentOptions } from './agent';

export const DEFAULTS = { PORT: 8001, SERVER_ID: 'finance-server' } as const;

export function createServer(deps: ServiceDeps, agent: FinanceAgentOptions = {}): ArcServer {
  return createArcServer({ ...serverOptions(deps), description: 'ARC finance service' }).addAgent(createFinanceAgent(agent));
}
