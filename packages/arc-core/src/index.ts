/**
 * @arc/core — the ARC protocol, transport-free: wire types, validation, error codes, the agent
 * router, chat state, config and logging. The Express server is in `@arc/core/express`, the
 * axios client in `@arc/core/client`.
 */
export * from './protocol/types';
export { STANDARD_METHODS, canonicalMethod } from './protocol/methods';
export { envelopeSchema, paramsSchemas, messageSchema, partSchema, type JsonSchema } from './protocol/schemas';
export { ArcValidator } from './protocol/validation';
export { agentText, messageText, normalizeMessage, textPart } from './protocol/parts';
export { formatSseEvent, type SseEvent, type SseEventName } from './protocol/sse';
export { parseJsonBody } from './protocol/parse';
export { DEFAULT_MAX_METADATA_BYTES, MAX_ID_LENGTH, MAX_JSON_DEPTH, MAX_REASON_LENGTH, clip } from './protocol/limits';
export { ArcErrorCode, allErrorCodes, errorCodeInfo, httpStatusFor, type ArcErrorCodeName, type ErrorCodeInfo } from './errors/codes';
export { ArcError, isArcError, type ErrorDetails } from './errors/arc-error';
export {
  ArcAgent,
  type AgentOptions,
  type AgentRateLimit,
  type ArcHandler,
  type ChatReply,
  type HandlerContext,
  type HandlerOptions,
} from './router/agent';
export type { ArtifactInput, TaskContext, TaskHandler, TaskOutcome, TaskView } from './tasks/task-context';
export { ArcRouter, type ArcReply, type JsonReply, type RequestMeta, type RouterOptions, type StreamReply } from './router/router';
export { RequestState } from './router/request-state';
export {
  HOOK_NAMES,
  type ErrorHook,
  type HookMap,
  type HookName,
  type RequestHook,
  type ResponseHook,
  type ResponseOutcome,
  type SendHook,
} from './router/hooks';
export { newChatId } from './router/chat-id';
export {
  CHAT_IDLE_TTL_SECONDS,
  CLOSED_CHAT_TTL_SECONDS,
  ChatStoreFullError,
  MAX_ACTIVE_CHATS_PER_AGENT,
  type ChatRecord,
  type ChatStore,
  type CloseOutcome,
  type SaveStateOutcome,
} from './state/chat-store';
export { MemoryChatStore, type MemoryChatStoreOptions } from './state/memory-chat-store';
export { loadConfig, ConfigError, allowedWebhookHosts, type ServiceConfig, type SettingSchema } from './config/config';
export { silentLogger, type LogEntry, type Logger, type LogMeta } from './logging/logger';
export { LOG_LEVELS, type LogLevel } from './logging/log-levels';
export { createLogger } from './logging/winston';
export {
  MAX_TASKS_PER_AGENT,
  TASK_RETENTION_SECONDS,
  TERMINAL_STATUSES,
  TaskStoreFullError,
  type DeliveryStats,
  type StoredSubscription,
  type TaskError,
  type TaskMutation,
  type TaskRecord,
  type TaskStore,
  type UpdateOutcome,
} from './state/task-store';
export { MemoryTaskStore, type MemoryTaskStoreOptions } from './state/memory-task-store';
export { InputRequired } from './tasks/task-context';
export { TASK_STATUSES, assertTransition, canTransition, isTerminal } from './tasks/transitions';
export { subscribed, taskEvent, type TaskEventData, type TaskEventRecord, type TaskEventSink } from './tasks/events';
export { PRIORITY_RANK, type AbortReason, type TaskProcessor, type TaskQueue, type TaskRun } from './tasks/task-queue';
export { MemoryTaskQueue, type MemoryTaskQueueOptions } from './tasks/memory-task-queue';
export { DEFAULT_SUBSCRIBED_EVENTS, TASK_PRIORITIES } from './tasks/task-engine';
export { TASK_DEFAULTS, type TaskOptions, type WebhookOptions } from './tasks/task-service';
export { verifyWebhook, type VerifyWebhookOptions, type WebhookHeaders, type WebhookVerification } from './webhooks/verify';
export {
  parseWebhookNotification,
  serializeWebhookBody,
  webhookBody,
  webhookTimestamp,
  type WebhookBody,
  type WebhookBodyFields,
  type WebhookNotification,
} from './webhooks/payload';
export { WEBHOOK_HEADERS, signatureV1, signatureV2, webhookHeaders } from './webhooks/signature';
export { pythonJsonDumps } from './webhooks/python-json';
export { DEFAULT_WEBHOOK_POLICY, callbackChecker, checkCallbackUrl, type WebhookNetworkPolicy } from './webhooks/ssrf';
export { sendWebhook, type SendWebhookOptions, type WebhookSendResult } from './webhooks/sender';
export { DEFAULT_RETRY_POLICY, type Delivery, type Outbox, type RetryPolicy } from './webhooks/outbox';
export { MemoryOutbox } from './webhooks/memory-outbox';
export { installAuth, bearerToken, type AuthGuard, type AuthOptions } from './auth/auth-hooks';
export { AuthError, type AuthFailureReason } from './auth/auth-errors';
export { SIGNED_WEBHOOK_CALLER, type AuthContext } from './auth/caller';
export { ArcScope, METHOD_SCOPES, missingScopes, requiredScopes, scopesFromClaims } from './auth/scopes';
export { TokenVerifier, TOKEN_VERIFIER_DEFAULTS, type TokenVerifierOptions } from './auth/token-verifier';
export { AUTH_VARIABLES, authEnabled, authOptionsFromConfig } from './auth/auth-config';
export { RateLimiter, installRateLimits, type RateLimitOptions, type RateLimitStoreFailure } from './limits/rate-limit-hook';
export { parseRateLimit, RATE_LIMIT_FORMAT, type RateLimitRule } from './limits/rate-limit-rule';
export { MemoryRateCounterStore } from './limits/memory-rate-counter';
export type { RateCounter, RateCounterStore, RateLimitScope } from './limits/rate-counter';
// Agent calls (ctx.agents). HttpAgentTransport is in calls/http-transport.ts (it loads axios, so not from here).
export { AgentCalls, type AgentCallOptions, type AgentMessageInput } from './calls/agent-calls';
export { AgentThread } from './calls/thread';
export { fanOut, type FanOutOptions, type FanOutOutcome, type FanOutResult } from './calls/fan-out';
export {
  SERVICE_TOKEN_SCOPES,
  authorizationFor,
  selfSignedTokens,
  type AgentCallToken,
  type SelfSignedTokenOptions,
} from './calls/service-token';
export { AgentCallError } from './calls/errors';
export { DEFAULT_AGENT_CALL_TIMEOUT_MS, type AgentCallConfig, type AgentCallObserver } from './calls/agent-call-service';
export type { AgentChatStream, AgentStreamChunk } from './calls/agent-stream';
export type { BreakerOptions, BreakerState } from './calls/circuit-breakers';
export type { AgentCallRequest, AgentCallTransport } from './calls/transport';
export { AgentRoutes, type AgentRoutesOptions } from './calls/agent-routes';
export { CALL_CHAIN_HEADER, DEFAULT_MAX_HOPS, parseCallChain } from './calls/call-chain';
export { TRACEPARENT_HEADER, parseTraceparent, type TraceParent } from './calls/trace-context';
// Tracing (OpenTelemetry). The SDK loads only in createTracing, and only with an endpoint set.
export { installTracing } from './tracing/tracing-hooks';
export { createTracing, type Tracing, type TracingConfig } from './tracing/otel-setup';
export { TRACING_SETTINGS, tracingFromConfig } from './tracing/tracing-config';
export type { TracingOption } from './tracing/tracing-option';
