import { ArcError, errors, isArcError } from '../../src/errors/arc-error';
import { ArcErrorCode, allErrorCodes, errorCodeInfo, httpStatusFor, isRetryable, type ArcErrorCodeName } from '../../src/errors/codes';

describe('error code table', () => {
  const all = allErrorCodes();
  const names = Object.keys(ArcErrorCode) as ArcErrorCodeName[];

  it('has an entry for every named code', () => {
    expect(all).toHaveLength(names.length);
    for (const name of names) {
      const info = errorCodeInfo(ArcErrorCode[name]);
      expect(info).toBeDefined();
      expect(info!.name).toBe(name);
    }
  });

  it('uses every code once', () => {
    const codes = Object.values(ArcErrorCode);
    expect(new Set(codes).size).toBe(codes.length);
    expect(new Set(all.map((i) => i.code)).size).toBe(all.length);
  });

  it('gives each code a message and an HTTP status', () => {
    const allowed = new Set([200, 400, 401, 403, 404, 413, 429, 500, 503]);
    for (const info of all) {
      expect(Number.isInteger(info.code)).toBe(true);
      expect(info.code).toBeLessThan(0);
      expect(info.message.trim().length).toBeGreaterThan(0);
      expect(allowed.has(info.httpStatus)).toBe(true);
      expect(httpStatusFor(info.code)).toBe(info.httpStatus);
    }
  });

  it('has the spec numbers', () => {
    expect(ArcErrorCode).toMatchObject({
      ParseError: -32700,
      InvalidRequest: -32600,
      MethodNotFound: -32601,
      InvalidParams: -32602,
      InternalError: -32603,
      AgentNotFound: -41001,
      AgentTimeout: -41006,
      DuplicateAgentId: -41010,
      AgentCapacityExceeded: -41011,
      TaskNotFound: -42001,
      TaskExecution: -42004,
      ChatNotFound: -43001,
      ChatAlreadyClosed: -43002,
      InvalidChatMessage: -43005,
      Authentication: -44001,
      InsufficientScope: -44003,
      RateLimitExceeded: -44007,
      InvalidArcVersion: -45001,
      MessageTooLarge: -45004,
      CircularReference: -45006,
    });
  });

  it('maps codes to the HTTP statuses of DECISIONS.md §1', () => {
    const expected: Record<number, number> = {
      [-32700]: 400,
      [-32600]: 400,
      [-45001]: 400,
      [-41001]: 404,
      [-32601]: 404,
      [-32602]: 200,
      [-42001]: 200,
      [-42004]: 200,
      [-43001]: 200,
      [-43002]: 200,
      [-43005]: 200,
      [-44001]: 401,
      [-44004]: 401,
      [-44005]: 401,
      [-44002]: 403,
      [-44003]: 403,
      [-45004]: 413,
      [-44007]: 429,
      [-41011]: 503,
      [-41002]: 503,
      [-32603]: 500,
    };
    for (const [code, status] of Object.entries(expected))
      expect([Number(code), httpStatusFor(Number(code))]).toEqual([Number(code), status]);
    for (const info of all) {
      if (info.code <= -42000 && info.code > -44000) expect([info.name, info.httpStatus]).toEqual([info.name, 200]);
    }
  });

  it('codes outside the table are domain errors with 200', () => {
    expect(errorCodeInfo(-49999)).toBeUndefined();
    expect(httpStatusFor(-49999)).toBe(200);
    expect(httpStatusFor(12345)).toBe(200);
  });

  it('marks the retryable codes', () => {
    expect(isRetryable(-41011)).toBe(true);
    expect(isRetryable(-41002)).toBe(true);
    expect(isRetryable(-44007)).toBe(true);
    expect(isRetryable(-43001)).toBe(false);
    expect(isRetryable(-32603)).toBe(false);
  });
});

describe('ArcError', () => {
  it('toJSON always has a details object', () => {
    expect(new ArcError(-42001, 'Task not found').toJSON()).toEqual({ code: -42001, message: 'Task not found', details: {} });
    expect(new ArcError(-42001, 'Task not found', null).toJSON().details).toEqual({});
    expect(new ArcError(-42001, 'x', { taskId: 't' }).toJSON()).toEqual({ code: -42001, message: 'x', details: { taskId: 't' } });
    expect(JSON.parse(JSON.stringify(new ArcError(-42001)))).toEqual({ code: -42001, message: 'Task not found', details: {} });
  });

  it('defaults its message from the table, or a generic one for unknown codes', () => {
    expect(new ArcError(ArcErrorCode.ChatAlreadyClosed).message).toBe('Chat already closed');
    expect(new ArcError(-49999).message).toBe('ARC error');
  });

  it('is an Error with name, code, cause and retryAfter', () => {
    const cause = new Error('root');
    const e = new ArcError(-41011, 'busy', {}, { retryAfter: 3, cause });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('ArcError');
    expect(e.retryAfter).toBe(3);
    expect(e.cause).toBe(cause);
    expect(isArcError(e)).toBe(true);
    expect(isArcError(new Error('x'))).toBe(false);
    expect(isArcError({ code: -42001, message: 'x' })).toBe(false);
    expect(new ArcError(-42001).retryAfter).toBeUndefined();
    expect(Object.keys(new ArcError(-42001).toJSON())).toEqual(['code', 'message', 'details']);
  });

  it('core shorthands carry camelCase ids in details', () => {
    expect(errors.chatNotFound('c1').toJSON()).toEqual({
      code: -43001,
      message: 'Chat not found: c1',
      details: { chatId: 'c1', chat_id: 'c1' },
    });
    expect(errors.chatAlreadyClosed('c1').code).toBe(-43002);
    expect(errors.agentNotFound('a', ['b']).details).toMatchObject({ agentId: 'a', requestedAgent: 'a', availableAgents: ['b'] });
    expect(errors.capacityExceeded('a', 5).retryAfter).toBe(1);
    expect(errors.internal('id-1').toJSON()).toEqual({ code: -32603, message: 'Internal error', details: { errorId: 'id-1' } });
  });
});
