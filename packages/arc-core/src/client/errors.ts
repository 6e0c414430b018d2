/**
 * Client-side errors. An ARC error reply (any HTTP status) is rebuilt as ArcResponseError —
 * an ArcError, so `err.code === ArcErrorCode.ChatNotFound` reads the same on both sides. A
 * request that got no ARC answer is an ArcTimeoutError or an ArcTransportError. A task that
 * did not reach the awaited status in time (client.task.waitFor) is an ArcWaitTimeoutError. A
 * token provider that could not get a token (clientCredentials) throws a ClientCredentialsError.
 */
import { ArcError, type ErrorDetails } from '../errors/arc-error';
import type { ArcErrorResponse, TaskStatus } from '../protocol/types';
import type { TaskInfo } from './task-types';

/** An ARC error reply: `code`, `message` and `details` as the server sent them, with the HTTP status. */
export class ArcResponseError extends ArcError {
  readonly httpStatus: number;
  readonly response: ArcErrorResponse;
  readonly retryAfterHeader: string | undefined;

  constructor(response: ArcErrorResponse, httpStatus: number, retryAfter?: string) {
    const details = (response.error.details ?? {}) as ErrorDetails;
    const seconds = retryAfter !== undefined && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
    super(response.error.code, response.error.message, details, seconds === undefined ? undefined : { retryAfter: seconds });
    this.name = 'ArcResponseError';
    this.httpStatus = httpStatus;
    this.response = response;
    this.retryAfterHeader = retryAfter;
  }
}

/** The server did not answer within the client's timeout. */
export class ArcTimeoutError extends Error {
  constructor(
    readonly url: string,
    readonly timeoutMs: number,
  ) {
    super(`ARC request to ${url} timed out after ${timeoutMs} ms`);
    this.name = 'ArcTimeoutError';
  }
}

/** No ARC answer: connection refused/reset, or an HTTP reply that is not an ARC envelope. */
export class ArcTransportError extends Error {
  constructor(
    message: string,
    readonly url: string,
    readonly httpStatus?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ArcTransportError';
  }
}

/** client.task.waitFor gave up: the task did not reach one of `until` within `timeoutMs`. */
export class ArcWaitTimeoutError extends Error {
  constructor(
    readonly agentId: string,
    readonly taskId: string,
    readonly timeoutMs: number,
    readonly until: readonly TaskStatus[],
    /** The task as last seen (undefined if no poll got an answer). */
    readonly lastTask: TaskInfo | undefined,
    /** `cause`: the error of the last poll, when it failed (a replica restarting, say). */
    options?: { cause?: unknown },
  ) {
    super(
      `Task ${taskId} at ${agentId} did not reach ${until.join(' | ')} within ${timeoutMs} ms` +
        (lastTask ? ` (last seen ${lastTask.status})` : ' (no answer)'),
      options,
    );
    this.name = 'ArcWaitTimeoutError';
  }
}

/**
 * clientCredentials() got no access token: the token endpoint refused (`httpStatus`, and
 * `oauthError` such as "invalid_client" when it said so), did not answer, or answered something
 * that is not a token. The message names the endpoint (without query or userinfo), never the
 * client secret or a token.
 */
export class ClientCredentialsError extends Error {
  constructor(
    message: string,
    readonly tokenUrl: string,
    readonly httpStatus?: number,
    readonly oauthError?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ClientCredentialsError';
  }
}
