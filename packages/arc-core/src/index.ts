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
export { ArcAgent, type AgentOptions, type ArcHandler, type ChatReply, type HandlerContext, type HandlerOptions } from './router/agent';
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
} from './state/chat-store';
export { MemoryChatStore, type MemoryChatStoreOptions } from './state/memory-chat-store';
export { loadConfig, ConfigError, type ServiceConfig } from './config/config';
export { silentLogger, type LogEntry, type Logger, type LogMeta } from './logging/logger';
export { LOG_LEVELS, type LogLevel } from './logging/log-levels';
export { createLogger } from './logging/winston';
