/**
 * Service configuration from environment variables, validated once at start with ajv: defaults
 * applied, numbers coerced, and a bad value stops the process with a message naming the
 * variable and the value. Only a service's index.ts should read `process.env` and call this.
 */
import Ajv from 'ajv';
import { authConfigProblems } from '../auth/auth-config';
import { agentCallConfigProblems } from '../calls/agent-call-config';
import { rateLimitProblem } from '../limits/rate-limit-rule';
import { LOG_LEVELS, type LogLevel } from '../logging/log-levels';

export interface ServiceConfig {
  readonly PORT: number;
  readonly HOST: string;
  readonly SERVER_ID: string;
  readonly LOG_LEVEL: LogLevel;
  /** Largest accepted request body, in bytes (-45004 / 413 above it). */
  readonly BODY_LIMIT_BYTES: number;
  /** Requests in flight per agent before -41011 / 503. */
  readonly MAX_CONCURRENT_PER_AGENT: number;
  /** Time a handler has to reply before -41006. */
  readonly HANDLER_TIMEOUT_MS: number;
  /** A connection must send a complete request head within this (408; closed if it sent nothing). */
  readonly HEADERS_TIMEOUT_MS: number;
  /** A whole request, body included, must arrive within this (408); >= HEADERS_TIMEOUT_MS. */
  readonly REQUEST_TIMEOUT_MS: number;
  /** An idle keep-alive connection is closed after this. */
  readonly KEEP_ALIVE_TIMEOUT_MS: number;
  /** Shared chat state (any replica serves any chat); unset = in-memory store of this process. */
  readonly REDIS_URL?: string;
  /** Prefix of every Redis key this service writes. */
  readonly REDIS_KEY_PREFIX: string;
  /** How long one Redis operation may take before the request gets -41002 / 503 (default 1 s). */
  readonly REDIS_TIMEOUT_MS: number;
  /** On SIGTERM, how long requests in flight may take to finish before connections are closed. */
  readonly SHUTDOWN_GRACE_MS: number;
  /** Largest `params.metadata` a request may carry, in JSON bytes (-32602 above it). */
  readonly MAX_METADATA_BYTES: number;
  /** An active chat unused this long expires (memory and Redis); then it answers -43001. */
  readonly CHAT_IDLE_TTL_SECONDS: number;
  /** Active chats per agent the in-memory store keeps before chat.start gets -41011 / 503. */
  readonly MAX_ACTIVE_CHATS_PER_AGENT: number;
  /** A quiet SSE stream gets a comment line this often, so proxies do not cut it (0: never). */
  readonly SSE_HEARTBEAT_MS: number;
  /** Origins browsers may call from: exact origins, comma-separated, or `*`; unset: no CORS headers (express/cors.ts). */
  readonly CORS_ORIGINS?: string;
  /** Allow credentials on CORS requests (Access-Control-Allow-Credentials); needs CORS_ORIGINS to list origins, not `*`. */
  readonly CORS_CREDENTIALS?: boolean;
  /** HS256 shared secret (>= 32 bytes): turns bearer-token auth on (auth/; one key source only). */
  readonly AUTH_JWT_SECRET?: string;
  /** PEM public key or certificate (`\n` escapes allowed): turns auth on with RS/PS/ES/EdDSA tokens. */
  readonly AUTH_JWT_PUBLIC_KEY?: string;
  /** JWKS URL, fetched and cached (refetched for an unknown `kid`): turns auth on. */
  readonly AUTH_JWKS_URL?: string;
  /** Accepted `iss` values, comma-separated; unset: not checked. */
  readonly AUTH_ISSUER?: string;
  /** Accepted `aud` values, comma-separated (one must match); unset: not checked. */
  readonly AUTH_AUDIENCE?: string;
  /** Allowed JWS algorithms, comma-separated; default HS256 for a secret, what the key verifies otherwise; never `none`. */
  readonly AUTH_ALGORITHMS?: string;
  /** Leeway for `exp` / `nbf`, in seconds. */
  readonly AUTH_CLOCK_TOLERANCE_SECONDS: number;
  /** The token's AUTH_AGENT_CLAIM must equal requestAgent (-44002 / 403 otherwise). */
  readonly AUTH_BIND_REQUEST_AGENT: boolean;
  /** The claim naming the caller's agent, for AUTH_BIND_REQUEST_AGENT. */
  readonly AUTH_AGENT_CLAIM: string;
  /** With auth on, GET /agent-info needs a valid token too. */
  readonly AUTH_PROTECT_AGENT_INFO: boolean;
  /** Verified tokens remembered per process (0: verify every request). */
  readonly AUTH_TOKEN_CACHE_SIZE: number;
  /** Longest a verified token is remembered (never past its `exp`). */
  readonly AUTH_TOKEN_CACHE_SECONDS: number;
  /** No JWKS refetch for an unknown `kid` sooner than this after the last fetch. */
  readonly AUTH_JWKS_COOLDOWN_SECONDS: number;
  /** A fetched JWKS is used this long before it is fetched again. */
  readonly AUTH_JWKS_CACHE_SECONDS: number;
  /** Task runs of one agent at once, per process. */
  readonly TASK_CONCURRENCY: number;
  /** Time one run of a task handler may take before the task fails with -42005. */
  readonly TASK_TIMEOUT_MS: number;
  /** Runs one task may start in all (a crash or an unexpected error starts another). */
  readonly TASK_MAX_ATTEMPTS: number;
  /** Tasks are kept this long after their last change (terminal ones after they ended). */
  readonly TASK_RETENTION_SECONDS: number;
  /** Largest task (messages, artifacts, metadata) in JSON bytes. */
  readonly TASK_MAX_BYTES: number;
  /** Tasks one agent may hold in the in-memory store before task.create gets -41011 / 503. */
  readonly MAX_TASKS_PER_AGENT: number;
  /** With Redis: a replica silent this long loses its runs to the others (the run lock, and how often locks are checked). */
  readonly TASK_LOCK_MS: number;
  /** Signs webhook deliveries (X-ARC-Signature and X-ARC-Signature-V2); unset: unsigned. */
  readonly WEBHOOK_SECRET?: string;
  /** Callback hosts always allowed, comma-separated host names or IPs (e.g. a receiver on a private network). */
  readonly WEBHOOK_ALLOWED_HOSTS: string;
  /** Allow callbacks to loopback and private addresses (development). */
  readonly WEBHOOK_ALLOW_PRIVATE_NETWORKS: boolean;
  /** Time one delivery attempt may take. */
  readonly WEBHOOK_TIMEOUT_MS: number;
  /** First retry delay of a failed delivery; doubles, with jitter, up to 60 s. */
  readonly WEBHOOK_RETRY_BASE_MS: number;
  /** A delivery not made this long after its event is given up. */
  readonly WEBHOOK_RETRY_WINDOW_SECONDS: number;
  /** Each caller's requests to one agent, `<points>/<duration>` (e.g. 100/1s); unset: no limit. */
  readonly RATE_LIMIT_CALLER?: string;
  /** All requests to one agent, `<points>/<duration>` (e.g. 2000/1s); unset: no limit. */
  readonly RATE_LIMIT_AGENT?: string;
  /** With REDIS_URL, when Redis cannot count: 'open' lets requests through (warning logged), 'closed' answers -41002 / 503. */
  readonly RATE_LIMIT_REDIS_FAILURE: 'open' | 'closed';
  /** GET /metrics in Prometheus format (metrics/). */
  readonly METRICS_ENABLED: boolean;
  /** With auth on, GET /metrics needs a valid token too. */
  readonly AUTH_PROTECT_METRICS: boolean;
  /** Agent calls (calls/agent-call-config.ts): agent id → ARC endpoint, `id=url, id=url`. */
  readonly AGENT_ROUTES?: string;
  /** Agent calls: a gateway routing `<url>/arc/<agent>`, for agents without a route. */
  readonly ARC_GATEWAY_URL?: string;
  /** Agent calls: one call's timeout, retries included. */
  readonly AGENT_CALL_TIMEOUT_MS: number;
  /** Agent calls: longest call chain; longer, or a cycle, is -45006. */
  readonly AGENT_CALL_MAX_HOPS: number;
  /** Agent calls: a circuit breaker per remote target, `on` or `off` (unset: on). */
  readonly AGENT_CALL_BREAKER?: 'on' | 'off';
  /** Agent calls: how long an open breaker fails calls at once before it tries one (unset: 10000). */
  readonly AGENT_CALL_BREAKER_RESET_MS?: number;
  /** Agent calls: the bearer token of HTTP calls (else, with AUTH_JWT_SECRET, self-signed ones). */
  readonly AGENT_CALL_TOKEN?: string;
  /** The web inspector at GET /inspector/ (express/inspector.ts): `on` or `off`; default off, on in the single server (its DEFAULTS). */
  readonly INSPECTOR: 'on' | 'off';
}

/** Variables whose values are never shown (in errors or logs). */
const SECRET_VARIABLES = new Set(['AUTH_JWT_SECRET', 'WEBHOOK_SECRET', 'AGENT_CALL_TOKEN']);

/** WEBHOOK_ALLOWED_HOSTS as a list. */
export function allowedWebhookHosts(config: Pick<ServiceConfig, 'WEBHOOK_ALLOWED_HOSTS'>): string[] {
  return config.WEBHOOK_ALLOWED_HOSTS.split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const CORS_ORIGIN =
  '[A-Za-z][A-Za-z0-9+.-]*://(?:[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*|\\[[0-9A-Fa-f:.]+\\])' +
  '(?::(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?/?';
const CORS_ORIGINS_FORM = new RegExp(`^ *(\\*|${CORS_ORIGIN}( *, *${CORS_ORIGIN})*) *$`);

const schema = {
  type: 'object',
  properties: {
    PORT: { type: 'integer', minimum: 0, maximum: 65535 },
    HOST: { type: 'string', minLength: 1, default: '0.0.0.0' },
    SERVER_ID: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' },
    LOG_LEVEL: { type: 'string', enum: [...LOG_LEVELS], default: 'info' },
    BODY_LIMIT_BYTES: { type: 'integer', minimum: 1024, maximum: 1024 * 1024 * 1024, default: 10 * 1024 * 1024 },
    MAX_CONCURRENT_PER_AGENT: { type: 'integer', minimum: 1, maximum: 100000, default: 100 },
    HANDLER_TIMEOUT_MS: { type: 'integer', minimum: 1, maximum: 3600000, default: 120000 },
    // Defaults and reasons: express/connection-limits.ts. An unset HEADERS_TIMEOUT_MS never exceeds REQUEST_TIMEOUT_MS.
    HEADERS_TIMEOUT_MS: { type: 'integer', minimum: 100, maximum: 600000, default: 10000 },
    REQUEST_TIMEOUT_MS: { type: 'integer', minimum: 100, maximum: 3600000, default: 30000 },
    KEEP_ALIVE_TIMEOUT_MS: { type: 'integer', minimum: 100, maximum: 3600000, default: 65000 },
    REDIS_URL: { type: 'string', pattern: '^rediss?://' },
    REDIS_KEY_PREFIX: { type: 'string', pattern: '^[A-Za-z0-9._:-]{0,64}$', default: 'arc:' },
    REDIS_TIMEOUT_MS: { type: 'integer', minimum: 10, maximum: 60000, default: 1000 },
    SHUTDOWN_GRACE_MS: { type: 'integer', minimum: 0, maximum: 600000, default: 10000 },
    MAX_METADATA_BYTES: { type: 'integer', minimum: 0, maximum: 1024 * 1024, default: 16 * 1024 },
    CHAT_IDLE_TTL_SECONDS: { type: 'integer', minimum: 1, maximum: 365 * 24 * 3600, default: 24 * 3600 },
    MAX_ACTIVE_CHATS_PER_AGENT: { type: 'integer', minimum: 1, maximum: 10_000_000, default: 100_000 },
    SSE_HEARTBEAT_MS: { type: 'integer', minimum: 0, maximum: 3600000, default: 15000 },
    // CORS (express/cors.ts): the form of CORS_ORIGINS is checked by corsProblems, with a clearer message than a pattern's.
    CORS_ORIGINS: { type: 'string' },
    CORS_CREDENTIALS: { type: 'boolean' },
    // Auth (auth/, docs/security.md); rules between these variables: auth/auth-config.ts. The secret is never printed.
    AUTH_JWT_SECRET: { type: 'string', minLength: 32 },
    AUTH_JWT_PUBLIC_KEY: { type: 'string', minLength: 1 },
    AUTH_JWKS_URL: { type: 'string', pattern: '^https?://[^\\s]+$' },
    AUTH_ISSUER: { type: 'string', minLength: 1, maxLength: 2048 },
    AUTH_AUDIENCE: { type: 'string', minLength: 1, maxLength: 2048 },
    AUTH_ALGORITHMS: { type: 'string', pattern: '^[A-Za-z0-9, ]+$' },
    AUTH_CLOCK_TOLERANCE_SECONDS: { type: 'integer', minimum: 0, maximum: 300, default: 30 },
    AUTH_BIND_REQUEST_AGENT: { type: 'boolean', default: false },
    AUTH_AGENT_CLAIM: { type: 'string', minLength: 1, maxLength: 256, default: 'sub' },
    AUTH_PROTECT_AGENT_INFO: { type: 'boolean', default: true },
    AUTH_TOKEN_CACHE_SIZE: { type: 'integer', minimum: 0, maximum: 1_000_000, default: 10_000 },
    AUTH_TOKEN_CACHE_SECONDS: { type: 'integer', minimum: 1, maximum: 3600, default: 60 },
    AUTH_JWKS_COOLDOWN_SECONDS: { type: 'integer', minimum: 0, maximum: 3600, default: 30 },
    AUTH_JWKS_CACHE_SECONDS: { type: 'integer', minimum: 1, maximum: 86400, default: 600 },
    // Tasks (docs/tasks.md).
    TASK_CONCURRENCY: { type: 'integer', minimum: 1, maximum: 1000, default: 4 },
    TASK_TIMEOUT_MS: { type: 'integer', minimum: 100, maximum: 24 * 3600 * 1000, default: 600000 },
    TASK_MAX_ATTEMPTS: { type: 'integer', minimum: 1, maximum: 100, default: 3 },
    TASK_RETENTION_SECONDS: { type: 'integer', minimum: 1, maximum: 365 * 24 * 3600, default: 7 * 24 * 3600 },
    TASK_MAX_BYTES: { type: 'integer', minimum: 1024, maximum: 64 * 1024 * 1024, default: 1024 * 1024 },
    MAX_TASKS_PER_AGENT: { type: 'integer', minimum: 1, maximum: 10_000_000, default: 100_000 },
    TASK_LOCK_MS: { type: 'integer', minimum: 500, maximum: 600000, default: 30000 },
    // Webhooks (docs/tasks.md). The secret is never printed, not even in a configuration error.
    WEBHOOK_SECRET: { type: 'string', minLength: 16 },
    WEBHOOK_ALLOWED_HOSTS: { type: 'string', pattern: '^([A-Za-z0-9._:\\[\\]-]+( *, *[A-Za-z0-9._:\\[\\]-]+)*)?$', default: '' },
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: { type: 'boolean', default: false },
    WEBHOOK_TIMEOUT_MS: { type: 'integer', minimum: 100, maximum: 60000, default: 10000 },
    WEBHOOK_RETRY_BASE_MS: { type: 'integer', minimum: 10, maximum: 600000, default: 1000 },
    WEBHOOK_RETRY_WINDOW_SECONDS: { type: 'integer', minimum: 1, maximum: 7 * 24 * 3600, default: 900 },
    // Rate limits (limits/): the form of a limit is checked by rateLimitProblems, with a clearer message than a pattern's.
    RATE_LIMIT_CALLER: { type: 'string' },
    RATE_LIMIT_AGENT: { type: 'string' },
    RATE_LIMIT_REDIS_FAILURE: { type: 'string', enum: ['open', 'closed'], default: 'open' },
    // Metrics (metrics/): GET /metrics, protected like /agent-info when auth is on.
    METRICS_ENABLED: { type: 'boolean', default: true },
    AUTH_PROTECT_METRICS: { type: 'boolean', default: true },
    // Agent calls (calls/agent-call-config.ts checks the form of the first two).
    AGENT_ROUTES: { type: 'string' },
    ARC_GATEWAY_URL: { type: 'string' },
    AGENT_CALL_TIMEOUT_MS: { type: 'integer', minimum: 100, maximum: 600000, default: 10000 },
    AGENT_CALL_MAX_HOPS: { type: 'integer', minimum: 1, maximum: 64, default: 8 },
    // Defaults (on, 10000) applied by calls/agent-call-config.ts.
    AGENT_CALL_BREAKER: { type: 'string', enum: ['on', 'off'] },
    AGENT_CALL_BREAKER_RESET_MS: { type: 'integer', minimum: 100, maximum: 3600000 },
    AGENT_CALL_TOKEN: { type: 'string', minLength: 1, maxLength: 16384, pattern: '^[^\\s]+$' },
    // The web inspector (docs/inspector.md); inspectorProblems says what the value must be.
    INSPECTOR: { type: 'string', default: 'off' },
  },
  required: ['PORT', 'SERVER_ID'],
} as const;

/** A service's own variable (e.g. TASK_WORK_MS), validated with the others: a JSON Schema for one value. */
export interface SettingSchema {
  type: 'integer' | 'number' | 'string' | 'boolean';
  default?: number | string | boolean;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  enum?: readonly (string | number)[];
}

const ajv = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: true, strict: false });
const validate = ajv.compile(schema);

function validatorFor(settings: Record<string, SettingSchema>) {
  const names = Object.keys(settings);
  if (names.length === 0) return { validate, names: Object.keys(schema.properties) };
  const clash = names.find((n) => n in schema.properties);
  if (clash) throw new TypeError(`setting ${clash} is one of arc-core's own variables`);
  const extended = { ...schema, properties: { ...schema.properties, ...settings } };
  return { validate: ajv.compile(extended), names: Object.keys(extended.properties) };
}

/**
 * Reads the service's variables from `env`. `defaults` gives per-service defaults (PORT,
 * SERVER_ID, and INSPECTOR where a deployment turns it on) for variables the environment does
 * not set; `settings` declares the service's own variables, validated the same way and returned
 * with the others. Throws ConfigError listing every bad variable.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv,
  defaults: { PORT: number; SERVER_ID: string; INSPECTOR?: 'on' | 'off' },
  settings: Record<string, SettingSchema> = {},
): ServiceConfig & Readonly<Record<string, unknown>> {
  const { validate, names } = validatorFor(settings);
  const input: Record<string, unknown> = { PORT: defaults.PORT, SERVER_ID: defaults.SERVER_ID };
  if (defaults.INSPECTOR !== undefined) input.INSPECTOR = defaults.INSPECTOR;
  for (const key of names) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const raw = { ...input };
  const valid = validate(input);
  const problems = (validate.errors ?? []).map((e) => {
    const name = e.instancePath.slice(1) || String((e.params as { missingProperty?: string }).missingProperty);
    const shown = SECRET_VARIABLES.has(name) ? '(hidden)' : JSON.stringify(raw[name]);
    return `${name}=${shown} ${e.message ?? 'is invalid'}`;
  });
  problems.push(...rateLimitProblems(raw));
  problems.push(...corsProblems(input, raw));
  if (input.INSPECTOR !== 'on' && input.INSPECTOR !== 'off')
    problems.push(`INSPECTOR=${JSON.stringify(raw.INSPECTOR)} must be on or off (the web inspector at /inspector)`);
  problems.push(...agentCallConfigProblems(raw));
  if (valid) problems.push(...relationProblems(input, raw));
  if (valid) problems.push(...authConfigProblems(input, raw));
  if (problems.length > 0) throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  return Object.freeze(input as unknown as ServiceConfig & Readonly<Record<string, unknown>>);
}

/** RATE_LIMIT_CALLER and RATE_LIMIT_AGENT must read `<points>/<duration>`. */
function rateLimitProblems(raw: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const name of ['RATE_LIMIT_CALLER', 'RATE_LIMIT_AGENT']) {
    const problem = raw[name] === undefined ? null : rateLimitProblem(raw[name]);
    if (problem !== null) problems.push(`${name}=${JSON.stringify(raw[name])} ${problem}`);
  }
  return problems;
}

/** CORS_ORIGINS is `*` or a list of origins; credentials only with a list. */
function corsProblems(input: Record<string, unknown>, raw: Record<string, unknown>): string[] {
  const origins = raw.CORS_ORIGINS;
  if (typeof origins !== 'string') return [];
  if (!CORS_ORIGINS_FORM.test(origins))
    return [`CORS_ORIGINS=${JSON.stringify(origins)} must be * or comma-separated origins like https://app.example.com:8443 (no path)`];
  if (input.CORS_CREDENTIALS === true && origins.trim() === '*')
    return ['CORS_CREDENTIALS=true needs CORS_ORIGINS to list the allowed origins, not *'];
  return [];
}

/** Rules between variables (each valid on its own); may adjust a default in `input`. */
function relationProblems(input: Record<string, unknown>, raw: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const headers = input.HEADERS_TIMEOUT_MS as number;
  const request = input.REQUEST_TIMEOUT_MS as number;
  if (headers > request) {
    // The head is part of the request: a default head timeout follows a shorter request timeout.
    if (raw.HEADERS_TIMEOUT_MS === undefined) input.HEADERS_TIMEOUT_MS = request;
    else problems.push(`HEADERS_TIMEOUT_MS=${JSON.stringify(raw.HEADERS_TIMEOUT_MS)} must be <= REQUEST_TIMEOUT_MS (${request})`);
  }
  return problems;
}
