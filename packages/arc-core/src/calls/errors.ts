/**
 * AgentCallError: what `ctx.agents` throws when a call to another agent fails, whatever carried
 * it. An ArcError, so `err.code` reads as on the wire (-41001 unknown target, -41003 unreachable,
 * -41006 timeout, -45006 circular call, or the target's own error), plus the target, the method
 * and whether trying again later may succeed, so a handler can fall back:
 *
 *   try {
 *     return await ctx.agents.chat.start('hr-agent', text);
 *   } catch (err) {
 *     if (err instanceof AgentCallError && err.retryable) return 'Service temporarily unavailable';
 *     throw err;
 *   }
 */
import { ArcError, type ErrorDetails } from '../errors/arc-error';
import { ArcErrorCode, isRetryable } from '../errors/codes';
import { ArcResponseError, ArcTimeoutError, ArcTransportError } from '../client/errors';

export class AgentCallError extends ArcError {
  /** The agent that was called. */
  readonly target: string;
  /** The method that was called (canonical name as sent). */
  readonly method: string;
  /**
   * True when the call certainly did nothing and the target may accept it later: -41011 (at
   * capacity), -41002 (not available), -44007 (rate limited), or a refused connection.
   */
  readonly retryable: boolean;

  constructor(
    code: number,
    message: string,
    target: string,
    method: string,
    options: { details?: ErrorDetails; retryable?: boolean; retryAfter?: number; cause?: unknown } = {},
  ) {
    super(code, message, options.details ?? {}, { retryAfter: options.retryAfter, cause: options.cause });
    this.name = 'AgentCallError';
    this.target = target;
    this.method = method;
    this.retryable = options.retryable ?? isRetryable(code);
  }

  /** The target answered with an ARC error object. */
  static fromArc(
    error: { code: number; message: string; details?: unknown },
    target: string,
    method: string,
    retryAfter?: number,
  ): AgentCallError {
    const details = error.details !== null && typeof error.details === 'object' ? (error.details as ErrorDetails) : {};
    return new AgentCallError(error.code, error.message, target, method, { details, retryAfter });
  }

  /** Any failure of a call as an AgentCallError (an AgentCallError passes through unchanged). */
  static from(err: unknown, target: string, method: string, timeoutMs: number): AgentCallError {
    if (err instanceof AgentCallError) return err;
    if (err instanceof ArcResponseError) {
      return new AgentCallError(err.code, err.message, target, method, { details: err.details, retryAfter: err.retryAfter, cause: err });
    }
    if (err instanceof ArcTimeoutError) return AgentCallError.timeout(target, method, timeoutMs, err);
    if (err instanceof ArcTransportError) {
      const refused = (err.cause as { code?: unknown } | undefined)?.code === 'ECONNREFUSED';
      return new AgentCallError(ArcErrorCode.AgentUnreachable, `Agent ${target} is unreachable: ${err.message}`, target, method, {
        details: { agentId: target, ...(err.httpStatus !== undefined ? { httpStatus: err.httpStatus } : {}) },
        retryable: refused,
        cause: err,
      });
    }
    if (err instanceof ArcError) return new AgentCallError(err.code, err.message, target, method, { details: err.details, cause: err });
    const message = err instanceof Error ? err.message : String(err);
    return new AgentCallError(ArcErrorCode.AgentUnreachable, `Call to agent ${target} failed: ${message}`, target, method, {
      details: { agentId: target },
      retryable: false,
      cause: err,
    });
  }

  static timeout(target: string, method: string, timeoutMs: number, cause?: unknown): AgentCallError {
    return new AgentCallError(
      ArcErrorCode.AgentTimeout,
      `Agent ${target} did not answer ${method} within ${timeoutMs} ms`,
      target,
      method,
      {
        details: { agentId: target, timeoutMs },
        retryable: false,
        cause,
      },
    );
  }
}
