import { ArcErrorCode, errorCodeInfo } from './codes';

export type ErrorDetails = Record<string, unknown>;

/**
 * The one error type of the protocol. Handlers throw it; the server adapter writes it as an
 * error envelope; the client rebuilds it from a reply.
 *
 *   throw new ArcError(ArcErrorCode.TaskExecution, 'Payment gateway refused the charge');
 *   throw new ArcError(-42004, 'Payment gateway refused the charge', { gateway: 'stripe' });
 *
 * `message` and `details` reach the client as they are: never put internal text in them.
 */
export class ArcError extends Error {
  readonly code: number;
  readonly details: ErrorDetails;
  /** Seconds a client should wait before retrying (sent as `Retry-After`), when it applies. */
  readonly retryAfter?: number;

  constructor(code: number, message?: string, details?: ErrorDetails | null, options?: { retryAfter?: number; cause?: unknown }) {
    super(message ?? errorCodeInfo(code)?.message ?? 'ARC error', options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ArcError';
    this.code = code;
    this.details = details ?? {};
    if (options?.retryAfter !== undefined) this.retryAfter = options.retryAfter;
  }

  /** The wire form: `{code, message, details}` with details always an object. */
  toJSON(): { code: number; message: string; details: ErrorDetails } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export function isArcError(value: unknown): value is ArcError {
  return value instanceof ArcError;
}

/** Shorthands for the errors the core itself raises, so their messages and details stay uniform. */
export const errors = {
  chatNotFound: (chatId: string) => new ArcError(ArcErrorCode.ChatNotFound, `Chat not found: ${chatId}`, { chatId, chat_id: chatId }),
  chatAlreadyClosed: (chatId: string) =>
    new ArcError(ArcErrorCode.ChatAlreadyClosed, `Chat already closed: ${chatId}`, { chatId, chat_id: chatId }),
  agentNotFound: (agentId: string, available: string[]) =>
    new ArcError(ArcErrorCode.AgentNotFound, `Agent not found: ${agentId}`, {
      agentId,
      agent_id: agentId,
      requestedAgent: agentId,
      availableAgents: available,
    }),
  methodNotFound: (method: string, agentId: string, supported: string[]) =>
    new ArcError(ArcErrorCode.MethodNotFound, `Method ${method} not found for agent ${agentId}`, { method, supportedMethods: supported }),
  capacityExceeded: (agentId: string, limit: number) =>
    new ArcError(
      ArcErrorCode.AgentCapacityExceeded,
      `Agent ${agentId} is at capacity (${limit} requests in flight); retry shortly`,
      { agentId, limit },
      { retryAfter: 1 },
    ),
  internal: (errorId: string) => new ArcError(ArcErrorCode.InternalError, 'Internal error', { errorId }),
};
