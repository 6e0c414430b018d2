/** Process entry: PORT (default 8002), HOST, SERVER_ID and the other variables of ServiceConfig. */
import { runService } from '@arc/core/express';
import { DEFAULTS, createServer } from './server';

void runService(process.env, { defaults: DEFAULTS, build: createServer });
