/**
 * The start-up of a service process, shared by every service's index.ts: load and validate the
 * configuration from the environment (exit 1 with a clear message on a bad value), create the
 * JSON logger, build the server, listen, and stop gracefully on SIGTERM/SIGINT.
 */
import { ConfigError, loadConfig, type ServiceConfig, type SettingSchema } from '../config/config';
import type { Logger } from '../logging/logger';
import { createLogger } from '../logging/winston';
import type { ChatStore } from '../state/chat-store';
import type { TaskOptions } from '../tasks/task-service';
import { authOptionsFromConfig } from '../auth/auth-config';
import { agentCallsFromConfig } from '../calls/agent-call-config';
import type { RateCounterStore } from '../limits/rate-counter';
import { TRACING_SETTINGS, tracingFromConfig } from '../tracing/tracing-config';
import { backendsFor } from './backends';
import { inspectorProblem } from './inspector';
import type { ArcServer, ArcServerOptions, ListenAddress } from './server';

export interface ServiceDeps {
  /** arc-core's variables and the service's own `settings`. */
  config: ServiceConfig & Readonly<Record<string, unknown>>;
  logger: Logger;
  chatStore: ChatStore;
  /** Task store, queue, limits and webhook settings (used by agents with a task handler). */
  tasks?: Partial<TaskOptions>;
  /** Where rate-limit counters live (Redis with REDIS_URL); called only when a limit applies. Default: this process. */
  rateLimitStore?: () => RateCounterStore;
}

export interface RunServiceOptions {
  /** Defaults for variables the environment does not set (INSPECTOR: arc-core's default, off, unless given). */
  defaults: { PORT: number; SERVER_ID: string; INSPECTOR?: 'on' | 'off' };
  /** The service's own variables (e.g. TASK_WORK_MS), validated with arc-core's; their values are in `deps.config`. */
  settings?: Record<string, SettingSchema>;
  /** Builds the server from the validated configuration. */
  build: (deps: ServiceDeps) => ArcServer;
}

/** The options every service passes to `createArcServer` from its validated config. */
export function serverOptions(deps: ServiceDeps): Omit<ArcServerOptions, 'serverId'> & { serverId: string } {
  return {
    serverId: deps.config.SERVER_ID,
    logger: deps.logger,
    chatStore: deps.chatStore,
    bodyLimitBytes: deps.config.BODY_LIMIT_BYTES,
    maxConcurrentPerAgent: deps.config.MAX_CONCURRENT_PER_AGENT,
    handlerTimeoutMs: deps.config.HANDLER_TIMEOUT_MS,
    headersTimeoutMs: deps.config.HEADERS_TIMEOUT_MS,
    requestTimeoutMs: deps.config.REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: deps.config.KEEP_ALIVE_TIMEOUT_MS,
    maxMetadataBytes: deps.config.MAX_METADATA_BYTES,
    sseHeartbeatMs: deps.config.SSE_HEARTBEAT_MS,
    corsOrigins: deps.config.CORS_ORIGINS,
    corsCredentials: deps.config.CORS_CREDENTIALS,
    tasks: deps.tasks,
    auth: authOptions(deps.config),
    metrics: deps.config.METRICS_ENABLED,
    inspector: deps.config.INSPECTOR === 'on',
    agentCalls: agentCallsFromConfig(deps.config),
    // OpenTelemetry: only with OTEL_EXPORTER_OTLP_ENDPOINT (else undefined, and no SDK is loaded).
    tracing: tracingFromConfig(deps.config, deps.logger),
    rateLimits: {
      caller: deps.config.RATE_LIMIT_CALLER,
      agent: deps.config.RATE_LIMIT_AGENT,
      onStoreFailure: deps.config.RATE_LIMIT_REDIS_FAILURE,
      store: deps.rateLimitStore,
    },
  };
}

function authOptions(config: ServiceConfig): ArcServerOptions['auth'] {
  const auth = authOptionsFromConfig(config);
  return auth === undefined
    ? undefined
    : { ...auth, protectAgentInfo: config.AUTH_PROTECT_AGENT_INFO, protectMetrics: config.AUTH_PROTECT_METRICS };
}

export async function runService(
  env: NodeJS.ProcessEnv,
  options: RunServiceOptions,
): Promise<{ server: ArcServer; address: ListenAddress }> {
  let config: ServiceConfig & Readonly<Record<string, unknown>>;
  try {
    // The OTEL_* variables (tracing/tracing-config.ts) are validated with the others.
    config = loadConfig(env, options.defaults, { ...TRACING_SETTINGS, ...options.settings });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  // INSPECTOR=on needs the built inspector: say so once, as for a bad variable, not with a stack.
  const unbuilt = config.INSPECTOR === 'on' ? inspectorProblem() : null;
  if (unbuilt !== null) {
    process.stderr.write(`INSPECTOR=on: ${unbuilt}\n`);
    process.exit(1);
  }
  const logger = createLogger({ level: config.LOG_LEVEL, service: config.SERVER_ID });
  const backends = backendsFor(config, logger);
  const { chatStore, tasks, rateLimitStore } = backends;
  const server = options.build({ config, logger, chatStore, tasks, rateLimitStore });

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal, inFlight: server.router.inFlight });
    server.close({ graceMs: config.SHUTDOWN_GRACE_MS }).then(
      () => {
        logger.info('stopped', { signal });
        process.exit(0);
      },
      (err: unknown) => {
        logger.error('shutdown failed', { err: err instanceof Error ? err.message : String(err) });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));

  try {
    const address = await server.listen(config.PORT, config.HOST);
    logger.info('chat store', {
      store: config.REDIS_URL ? 'redis' : 'memory',
      keyPrefix: config.REDIS_URL ? config.REDIS_KEY_PREFIX : undefined,
    });
    return { server, address };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`Cannot listen on ${config.HOST}:${config.PORT}: ${e.code ?? e.message}\n`);
    process.exit(1);
  }
}
