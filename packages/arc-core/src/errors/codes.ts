/**
 * The ARC error-code table: every code once, with its name, default message and the HTTP
 * status our server answers it with (see shared/protocol/DECISIONS.md §1).
 *
 * HTTP status policy:
 *  - envelope errors keep the Python SDK's statuses (400 / 404);
 *  - errors about a well-formed request's content or state (params, tasks, chats, anything an
 *    agent's handler throws) are delivered with HTTP 200, so the official Python client raises
 *    its typed exception (ChatNotFoundError, ...) instead of a bare HTTP error;
 *  - operational refusals use 401/403/413/429/503, unexpected failures 500.
 */
export const ArcErrorCode = {
  // JSON-RPC style
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  // agent
  AgentNotFound: -41001,
  AgentNotAvailable: -41002,
  AgentUnreachable: -41003,
  InvalidAgentId: -41004,
  AgentAuthentication: -41005,
  AgentTimeout: -41006,
  DuplicateAgentId: -41010,
  AgentCapacityExceeded: -41011,
  // task
  TaskNotFound: -42001,
  TaskAlreadyCompleted: -42002,
  TaskAlreadyCanceled: -42003,
  TaskExecution: -42004,
  TaskTimeout: -42005,
  InvalidTaskStatusTransition: -42006,
  InvalidPriority: -42010,
  DeadlineExceeded: -42011,
  // chat
  ChatNotFound: -43001,
  ChatAlreadyClosed: -43002,
  ChatTimeout: -43003,
  ChatParticipantLimit: -43004,
  InvalidChatMessage: -43005,
  ChatBufferOverflow: -43006,
  // security
  Authentication: -44001,
  Authorization: -44002,
  InsufficientScope: -44003,
  TokenExpired: -44004,
  TokenInvalid: -44005,
  PermissionDenied: -44006,
  RateLimitExceeded: -44007,
  IpBlocked: -44008,
  // protocol
  InvalidArcVersion: -45001,
  MissingRequiredField: -45002,
  InvalidFieldFormat: -45003,
  MessageTooLarge: -45004,
  WorkflowTraceInvalid: -45005,
  CircularReference: -45006,
} as const;

export type ArcErrorCodeName = keyof typeof ArcErrorCode;

export interface ErrorCodeInfo {
  readonly code: number;
  readonly name: ArcErrorCodeName;
  readonly message: string;
  readonly httpStatus: number;
}

const table: Record<ArcErrorCodeName, [message: string, httpStatus: number]> = {
  ParseError: ['Parse error', 400],
  InvalidRequest: ['Invalid request', 400],
  MethodNotFound: ['Method not found', 404],
  InvalidParams: ['Invalid params', 200],
  InternalError: ['Internal error', 500],
  AgentNotFound: ['Agent not found', 404],
  AgentNotAvailable: ['Agent not available', 503],
  AgentUnreachable: ['Agent unreachable', 200],
  InvalidAgentId: ['Invalid agent id', 200],
  AgentAuthentication: ['Agent authentication failed', 200],
  AgentTimeout: ['Agent timeout', 200],
  DuplicateAgentId: ['Duplicate agent id', 200],
  AgentCapacityExceeded: ['Agent capacity exceeded', 503],
  TaskNotFound: ['Task not found', 200],
  TaskAlreadyCompleted: ['Task already completed', 200],
  TaskAlreadyCanceled: ['Task already canceled', 200],
  TaskExecution: ['Task execution failed', 200],
  TaskTimeout: ['Task timeout', 200],
  InvalidTaskStatusTransition: ['Invalid task status transition', 200],
  InvalidPriority: ['Invalid priority', 200],
  DeadlineExceeded: ['Deadline exceeded', 200],
  ChatNotFound: ['Chat not found', 200],
  ChatAlreadyClosed: ['Chat already closed', 200],
  ChatTimeout: ['Chat timeout', 200],
  ChatParticipantLimit: ['Chat participant limit reached', 200],
  InvalidChatMessage: ['Invalid chat message', 200],
  ChatBufferOverflow: ['Chat buffer overflow', 200],
  Authentication: ['Authentication failed', 401],
  Authorization: ['Authorization failed', 403],
  InsufficientScope: ['Insufficient scope', 403],
  TokenExpired: ['Token expired', 401],
  TokenInvalid: ['Token invalid', 401],
  PermissionDenied: ['Permission denied', 403],
  RateLimitExceeded: ['Rate limit exceeded', 429],
  IpBlocked: ['IP blocked', 403],
  InvalidArcVersion: ['Invalid ARC version', 400],
  MissingRequiredField: ['Missing required field', 400],
  InvalidFieldFormat: ['Invalid field format', 400],
  MessageTooLarge: ['Message too large', 413],
  WorkflowTraceInvalid: ['Workflow trace invalid', 200],
  CircularReference: ['Circular reference', 200],
};

const byCode = new Map<number, ErrorCodeInfo>();
for (const name of Object.keys(table) as ArcErrorCodeName[]) {
  const [message, httpStatus] = table[name];
  byCode.set(ArcErrorCode[name], Object.freeze({ code: ArcErrorCode[name], name, message, httpStatus }));
}

/** The table entry for a code, or undefined for a code the protocol does not define. */
export function errorCodeInfo(code: number): ErrorCodeInfo | undefined {
  return byCode.get(code);
}

/** Every defined code, for documentation and tests. */
export function allErrorCodes(): readonly ErrorCodeInfo[] {
  return [...byCode.values()];
}

/** HTTP status for a code; codes outside the table are domain errors and travel with 200. */
export function httpStatusFor(code: number): number {
  return byCode.get(code)?.httpStatus ?? 200;
}

/** Codes whose answer carries a `Retry-After` header. */
export function isRetryable(code: number): boolean {
  return code === ArcErrorCode.AgentCapacityExceeded || code === ArcErrorCode.AgentNotAvailable || code === ArcErrorCode.RateLimitExceeded;
}
