/** The single server: finance, HR and support agents in one process, one port, one /arc. */
import { createArcServer, serverOptions, type ArcServer, type ServiceDeps } from '@arc/core/express';
import { createFinanceAgent } from '@arc/finance';
import { createHrAgent } from '@arc/hr';
import { createSupportAgent } from '@arc/support';

export const DEFAULTS = { PORT: 8000, SERVER_ID: 'multi-agent-server' } as const;

export function createServer(deps: ServiceDeps): ArcServer {
  return createArcServer({ ...serverOptions(deps), description: 'ARC single server: finance, HR and support agents' })
    .addAgent(createFinanceAgent())
    .addAgent(createHrAgent())
    .addAgent(createSupportAgent());
}
