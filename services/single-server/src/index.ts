/**
 * Process entry: PORT (default 8000), HOST, SERVER_ID and the other variables of ServiceConfig,
 * and TASK_WORK_MS (default 3000): how long the agents' task work takes.
 */
import { runService } from '@arc/core/express';
import { TASK_WORK_MS } from '@arc/finance';
import { DEFAULTS, createServer } from './server';

void runService(process.env, {
  defaults: DEFAULTS,
  settings: { TASK_WORK_MS },
  build: (deps) => createServer(deps, { workMs: deps.config.TASK_WORK_MS as number }),
});
