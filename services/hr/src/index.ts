/**
 * Process entry: PORT (default 8002), HOST, SERVER_ID and the other variables of ServiceConfig,
 * and TASK_WORK_MS (default 3000): how long the work of a task takes.
 */
import { runService } from '@arc/core/express';
import { TASK_WORK_MS } from './agent';
import { DEFAULTS, createServer } from './server';

void runService(process.env, {
  defaults: DEFAULTS,
  settings: { TASK_WORK_MS },
  build: (deps) => createServer(deps, { workMs: deps.config.TASK_WORK_MS as number }),
});
