/**
 * The single server: finance, HR and support agents in one process, one port, one /arc, and the
 * supervisor, which routes to them in process (its directory lists the agents mounted here).
 */
import { createArcServer, serverOptions, type ArcServer, type ServiceDeps } from '@arc/core/express';
import { createFinanceAgent } from '@arc/finance';
import { createHrAgent } from '@arc/hr';
import { AgentDirectory, createSupervisorAgent } from '@arc/supervisor';
import { createSupportAgent } from '@arc/support';

/** The web inspector is on here (GET /inspector/; INSPECTOR=off turns it off), off in the services. */
export const DEFAULTS = { PORT: 8000, SERVER_ID: 'multi-agent-server', INSPECTOR: 'on' } as const;

export interface AgentsOptions {
  /** How long each agent's task work takes, in ms (TASK_WORK_MS; default 3000). */
  workMs?: number;
}

export function createServer(deps: ServiceDeps, agents: AgentsOptions = {}): ArcServer {
  const server = createArcServer({
    ...serverOptions(deps),
    description: 'ARC single server: finance, HR and support agents, and the supervisor routing to them',
  })
    .addAgent(createFinanceAgent(agents))
    .addAgent(createHrAgent(agents))
    .addAgent(createSupportAgent(agents));
  // Read when a conversation is routed, so it describes every agent mounted by then.
  const directory = AgentDirectory.inProcess(() => server.router.agentList);
  return server.addAgent(createSupervisorAgent({ directory }));
}
