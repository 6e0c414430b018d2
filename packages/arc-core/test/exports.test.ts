/**
 * @arc/core's public surface, pinned literally (STYLE.md 4 and 14): the package.json `exports`
 * map, and the sorted names each entry point exports at run time (types are erased). Changing
 * either is a decision about the public API: make it here, deliberately, in the same change.
 *
 * Adding or removing an export = adding or removing its line below. To print the current
 * surface in this file's layout (from the built dist/):
 *
 *   npx turbo run build --filter=@arc/core --output-logs=errors-only && node scripts/public-surface.mjs
 *
 * The names are read from src/ (through the export map's dist paths), so this test needs no build.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const PKG = join(__dirname, '..');

const EXPORTS_MAP = {
  '.': {
    types: './dist/index.d.ts',
    default: './dist/index.js',
  },
  './express': {
    types: './dist/express/index.d.ts',
    default: './dist/express/index.js',
  },
  './client': {
    types: './dist/client/index.d.ts',
    default: './dist/client/index.js',
  },
  './redis': {
    types: './dist/redis/index.d.ts',
    default: './dist/redis/index.js',
  },
  './package.json': './package.json',
};

const ENTRY_POINTS: Record<string, string[]> = {
  '@arc/core': [
    'ARC_VERSION',
    'AUTH_VARIABLES',
    'AgentCallError',
    'AgentCalls',
    'AgentRoutes',
    'AgentThread',
    'ArcAgent',
    'ArcError',
    'ArcErrorCode',
    'ArcRouter',
    'ArcScope',
    'ArcValidator',
    'AuthError',
    'CALL_CHAIN_HEADER',
    'CHAT_IDLE_TTL_SECONDS',
    'CLOSED_CHAT_TTL_SECONDS',
    'ChatStoreFullError',
    'ConfigError',
    'DEFAULT_AGENT_CALL_TIMEOUT_MS',
    'DEFAULT_MAX_HOPS',
    'DEFAULT_MAX_METADATA_BYTES',
    'DEFAULT_RETRY_POLICY',
    'DEFAULT_SUBSCRIBED_EVENTS',
    'DEFAULT_WEBHOOK_POLICY',
    'HOOK_NAMES',
    'InputRequired',
    'LOG_LEVELS',
    'MAX_ACTIVE_CHATS_PER_AGENT',
    'MAX_ID_LENGTH',
    'MAX_JSON_DEPTH',
    'MAX_REASON_LENGTH',
    'MAX_TASKS_PER_AGENT',
    'METHOD_SCOPES',
    'MemoryChatStore',
    'MemoryOutbox',
    'MemoryRateCounterStore',
    'MemoryTaskQueue',
    'MemoryTaskStore',
    'PRIORITY_RANK',
    'RATE_LIMIT_FORMAT',
    'RateLimiter',
    'RequestState',
    'SERVICE_TOKEN_SCOPES',
    'SIGNED_WEBHOOK_CALLER',
    'STANDARD_METHODS',
    'TASK_DEFAULTS',
    'TASK_EVENTS',
    'TASK_PRIORITIES',
    'TASK_RETENTION_SECONDS',
    'TASK_STATUSES',
    'TERMINAL_STATUSES',
    'TOKEN_VERIFIER_DEFAULTS',
    'TRACEPARENT_HEADER',
    'TRACING_SETTINGS',
    'TaskStoreFullError',
    'TokenVerifier',
    'WEBHOOK_HEADERS',
    'agentText',
    'allErrorCodes',
    'allowedWebhookHosts',
    'assertTransition',
    'authEnabled',
    'authOptionsFromConfig',
    'authorizationFor',
    'bearerToken',
    'callbackChecker',
    'canTransition',
    'canonicalMethod',
    'checkCallbackUrl',
    'clip',
    'createLogger',
    'createTracing',
    'envelopeSchema',
    'errorCodeInfo',
    'fanOut',
    'formatSseEvent',
    'httpStatusFor',
    'installAuth',
    'installRateLimits',
    'installTracing',
    'isArcError',
    'isTerminal',
    'loadConfig',
    'messageSchema',
    'messageText',
    'missingScopes',
    'newChatId',
    'normalizeMessage',
    'paramsSchemas',
    'parseCallChain',
    'parseJsonBody',
    'parseRateLimit',
    'parseTraceparent',
    'parseWebhookNotification',
    'partSchema',
    'pythonJsonDumps',
    'requiredScopes',
    'scopesFromClaims',
    'selfSignedTokens',
    'sendWebhook',
    'serializeWebhookBody',
    'signatureV1',
    'signatureV2',
    'silentLogger',
    'subscribed',
    'taskEvent',
    'textPart',
    'tracingFromConfig',
    'verifyWebhook',
    'webhookBody',
    'webhookHeaders',
    'webhookTimestamp',
  ],
  '@arc/core/express': [
    'ArcServer',
    'CORS_ALLOW_HEADERS',
    'CORS_ALLOW_METHODS',
    'CORS_EXPOSE_HEADERS',
    'SSE_HEADERS',
    'createArcServer',
    'runService',
    'serverOptions',
    'writeJson',
    'writeReply',
    'writeSse',
  ],
  '@arc/core/client': [
    'ArcClient',
    'ArcResponseError',
    'ArcStreamError',
    'ArcThreads',
    'ArcTimeoutError',
    'ArcTransportError',
    'ArcWaitTimeoutError',
    'ClientCredentialsError',
    'DEFAULT_RETRIES',
    'clientCredentials',
  ],
  '@arc/core/redis': [
    'BullMQTaskQueue',
    'RedisChatStore',
    'RedisOutbox',
    'RedisRateCounterStore',
    'RedisTaskStore',
    'chatKey',
    'redisClientOptions',
    'taskKey',
  ],
};

const pkg = JSON.parse(readFileSync(join(PKG, 'package.json'), 'utf8')) as { name: string; exports: Record<string, unknown> };

/** `@arc/core/express` -> the src module its export map entry is built from (src/express/index.ts). */
function sourceOf(entry: string): string {
  const key = entry === pkg.name ? '.' : `.${entry.slice(pkg.name.length)}`;
  const target = (pkg.exports[key] as { default?: string } | undefined)?.default;
  if (!target?.startsWith('./dist/') || !target.endsWith('.js')) throw new Error(`${entry}: no ./dist/*.js target in the export map`);
  return join(PKG, 'src', target.slice('./dist/'.length, -'.js'.length));
}

describe('the public surface of @arc/core', () => {
  it('package.json has exactly the pinned export map', () => {
    expect(pkg.exports).toEqual(EXPORTS_MAP);
  });

  it('every entry point of the export map is pinned below', () => {
    const entries = Object.keys(pkg.exports)
      .filter((k) => k !== './package.json')
      .map((k) => (k === '.' ? pkg.name : `${pkg.name}${k.slice(1)}`));
    expect(entries).toEqual(Object.keys(ENTRY_POINTS));
  });

  it.each(Object.entries(ENTRY_POINTS))('%s exports exactly the pinned names', (entry, names) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module's run-time export names
    const actual = Object.keys(require(sourceOf(entry)) as object).sort();
    expect(actual).toEqual(names);
  });

  it('the pinned lists are sorted and without duplicates (so a diff shows one line per change)', () => {
    for (const names of Object.values(ENTRY_POINTS)) expect([...new Set(names)].sort()).toEqual(names);
  });
});
