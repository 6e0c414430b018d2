import { ArcError } from '../../src/errors/arc-error';
import { ArcErrorCode } from '../../src/errors/codes';
import { ArcAgent } from '../../src/router/agent';
import { ArcRouter } from '../../src/router/router';
import { parseJsonBody } from '../../src/protocol/parse';
import { ArcValidator, fieldPath } from '../../src/protocol/validation';
import { envelope, jsonReply, userMessage, type Json } from '../support/util';

const FIELDS = ['arc', 'id', 'method', 'requestAgent', 'targetAgent', 'params'] as const;

/** An agent that handles every standard method and records the params it saw. */
function fullAgent(seen: Json[]): ArcAgent {
  const task = { type: 'task' as const, task: { taskId: 't-1', status: 'SUBMITTED' as const, createdAt: '2025-01-01T00:00:00Z' } };
  return new ArcAgent('agent-a')
    .on('chat.start', (p) => {
      seen.push(p);
      return 'started';
    })
    .on('chat.message', (p) => {
      seen.push(p);
      return 'ok';
    })
    .on('task.create', (p) => {
      seen.push(p);
      return task;
    })
    .on('task.send', (p) => {
      seen.push(p);
      return { success: true as const };
    })
    .on('task.info', (p) => {
      seen.push(p);
      return task;
    })
    .on('task.cancel', (p) => {
      seen.push(p);
      return task;
    })
    .on('task.subscribe', (p) => {
      seen.push(p);
      return {
        type: 'subscription' as const,
        subscription: { subscriptionId: 's', taskId: 't-1', callbackUrl: 'http://x', events: [], createdAt: 'now', active: true },
      };
    })
    .on('task.notification', (p) => {
      seen.push(p);
      return { success: true as const };
    });
}

describe('request body parsing (parseJsonBody)', () => {
  it('parses JSON text and bytes', () => {
    expect(parseJsonBody('{"a":1}')).toEqual({ a: 1 });
    expect(parseJsonBody(Buffer.from('{"é":"ü"}', 'utf8'))).toEqual({ é: 'ü' });
  });

  it.each([
    ['undefined body', undefined, 'Parse error: request body is empty'],
    ['empty string', '', 'Parse error: request body is empty'],
    ['whitespace only', ' \n\t', 'Parse error: request body is empty'],
    ['empty buffer', Buffer.alloc(0), 'Parse error: request body is empty'],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 'Parse error: request body is not valid UTF-8'],
  ])('%s → -32700 %s', (_name, raw, message) => {
    let caught: unknown;
    try {
      parseJsonBody(raw);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ArcError);
    expect((caught as ArcError).code).toBe(-32700);
    expect((caught as ArcError).message).toBe(message);
  });

  it('malformed JSON → -32700 with the parser message', () => {
    expect(() => parseJsonBody('{"arc":"1.0",')).toThrow(/^Parse error: /);
    try {
      parseJsonBody('{"arc":"1.0",');
    } catch (err) {
      expect((err as ArcError).code).toBe(ArcErrorCode.ParseError);
    }
  });
});

describe('fieldPath', () => {
  it('turns JSON pointers into dotted paths with [index]', () => {
    expect(fieldPath('params', '')).toBe('params');
    expect(fieldPath('params', '/initialMessage/parts/0/content')).toBe('params.initialMessage.parts[0].content');
    expect(fieldPath('params', '/a~1b/c~0d')).toBe('params.a/b.c~d');
  });
});

describe('envelope validation through the router', () => {
  const seen: Json[] = [];
  const router = new ArcRouter({ serverId: 'srv-1' });
  router.addAgent(fullAgent(seen));
  router.addAgent(new ArcAgent('agent-b').on('chat.start', () => 'b'));

  beforeEach(() => {
    seen.length = 0;
  });

  const validChatStart = (): Record<string, unknown> => envelope('chat.start', { initialMessage: userMessage('hello') });

  it('accepts a valid request', async () => {
    const { status, body } = await jsonReply(router.handle(validChatStart()));
    expect(status).toBe(200);
    expect(body.error).toBeNull();
    expect(body.result.chat.message.parts[0].content).toBe('started');
  });

  describe('bytes that are not a JSON request', () => {
    it.each([
      ['invalid JSON', '{"arc":"1.0","id":"x",', /^Parse error: .+/],
      ['empty body', '', /^Parse error: request body is empty$/],
      ['only whitespace', '   ', /^Parse error: request body is empty$/],
    ])('%s → -32700 / 400', async (_name, raw, message) => {
      const { status, body } = await jsonReply(router.handleBody(raw));
      expect(status).toBe(400);
      expect(body.error.code).toBe(-32700);
      expect(body.error.message).toMatch(message);
      expect(body.error.details).toEqual({});
      expect(body.id).toBeNull();
      expect(body.result).toBeNull();
      expect(body.responseAgent).toBe('srv-1');
      expect(body.targetAgent).toBe('unknown');
    });

    it('invalid UTF-8 bytes → -32700 / 400, not a 500', async () => {
      const bytes = Buffer.concat([Buffer.from('{"arc":"1.0","id":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]);
      const { status, body } = await jsonReply(router.handleBody(bytes));
      expect(status).toBe(400);
      expect(body.error.code).toBe(-32700);
      expect(body.error.message).toBe('Parse error: request body is not valid UTF-8');
    });
  });

  describe('JSON that is not an object → -32600 / 400', () => {
    it.each([
      ['an array (batch)', [validChatStart()], 'Request body must be a JSON object, got an array (batches are not supported)'],
      ['a string', 'chat.start', 'Request body must be a JSON object, got a string'],
      ['null', null, 'Request body must be a JSON object, got null'],
      ['a number', 42, 'Request body must be a JSON object, got a number'],
    ])('%s', async (_name, value, message) => {
      const { status, body } = await jsonReply(router.handleBody(JSON.stringify(value)));
      expect(status).toBe(400);
      expect(body.error.code).toBe(-32600);
      expect(body.error.message).toBe(message);
      expect(body.id).toBeNull();
    });
  });

  describe('missing envelope fields → -32600 / 400 "Missing required field: X"', () => {
    it.each(FIELDS.map((f) => [f]))('without %s', async (field) => {
      const body = validChatStart();
      delete body[field];
      const reply = await jsonReply(router.handle(body));
      expect(reply.status).toBe(400);
      expect(reply.body.error.code).toBe(-32600);
      expect(reply.body.error.message).toBe(`Missing required field: ${field}`);
      expect(reply.body.error.details).toEqual({ field });
    });

    it.each(FIELDS.map((f, i) => [f, i]))('reports %s first when it and every later field are missing', async (field, i) => {
      const body = validChatStart();
      for (const f of FIELDS.slice(i)) delete body[f];
      const reply = await jsonReply(router.handle(body));
      expect(reply.status).toBe(400);
      expect(reply.body.error.message).toBe(`Missing required field: ${field}`);
    });

    it('echoes the readable id and requestAgent on a missing-field error', async () => {
      const body = validChatStart();
      delete body.method;
      const reply = await jsonReply(router.handle(body));
      expect(reply.body.id).toBe('req-1');
      expect(reply.body.targetAgent).toBe('tester');
      expect(reply.body.traceId).toBeNull();
    });
  });

  describe('wrong arc version → -45001 / 400', () => {
    it.each([
      ['string "2.0"', '2.0', 'Invalid ARC version: 2.0'],
      ['string "1"', '1', 'Invalid ARC version: 1'],
      ['number 1.0', 1.0, 'Invalid ARC version: 1'],
      ['null', null, 'Invalid ARC version: null'],
    ])('%s', async (_name, arc, message) => {
      const reply = await jsonReply(router.handle({ ...validChatStart(), arc }));
      expect(reply.status).toBe(400);
      expect(reply.body.error.code).toBe(-45001);
      expect(reply.body.error.message).toBe(message);
      expect(reply.body.error.details).toEqual({ supportedVersion: '1.0' });
    });

    it('number 1.0 on the wire (raw bytes) is refused too', async () => {
      const raw = JSON.stringify(validChatStart()).replace('"arc":"1.0"', '"arc":1.0');
      expect(raw).toContain('"arc":1.0');
      const reply = await jsonReply(router.handleBody(raw));
      expect(reply.status).toBe(400);
      expect(reply.body.error.code).toBe(-45001);
      expect(reply.body.error.details.supportedVersion).toBe('1.0');
    });
  });

  describe('id of the wrong type → -32600 / 400', () => {
    it.each([
      ['object', {}],
      ['array', [1]],
      ['boolean', true],
      ['null', null],
    ])('%s', async (_name, id) => {
      const reply = await jsonReply(router.handle({ ...validChatStart(), id }));
      expect(reply.status).toBe(400);
      expect(reply.body.error.code).toBe(-32600);
      expect(reply.body.error.message).toBe('id must be a string or a number');
      expect(reply.body.error.details).toEqual({ field: 'id' });
      expect(reply.body.id).toBeNull();
    });

    it('other envelope fields of the wrong type name the field', async () => {
      const reply = await jsonReply(router.handle({ ...validChatStart(), requestAgent: 7 }));
      expect(reply.status).toBe(400);
      expect(reply.body.error.code).toBe(-32600);
      expect(reply.body.error.message).toBe('requestAgent must be a string');
    });
  });

  describe('params not an object → -32602', () => {
    it.each([
      ['string', 'hello'],
      ['array', [1, 2]],
      ['null', null],
      ['number', 3],
    ])('%s', async (_name, params) => {
      const reply = await jsonReply(router.handle({ ...validChatStart(), params }));
      expect(reply.status).toBe(200);
      expect(reply.body.error.code).toBe(-32602);
      expect(reply.body.error.message).toBe('params must be an object');
      expect(reply.body.error.details).toEqual({ field: 'params' });
      expect(seen).toHaveLength(0);
    });
  });

  it('unknown agent → -41001 / 404 with availableAgents and agentId', async () => {
    const reply = await jsonReply(router.handle({ ...validChatStart(), targetAgent: 'ghost-agent' }));
    expect(reply.status).toBe(404);
    expect(reply.body.error.code).toBe(-41001);
    expect(reply.body.error.message).toBe('Agent not found: ghost-agent');
    expect(reply.body.error.details.agentId).toBe('ghost-agent');
    expect(reply.body.error.details.availableAgents).toEqual(['agent-a', 'agent-b']);
  });

  it('unknown method → -32601 / 404 with supportedMethods', async () => {
    const reply = await jsonReply(
      router.handle(envelope('chat.start', { initialMessage: userMessage('x') }, { targetAgent: 'agent-b', method: 'task.create' })),
    );
    expect(reply.status).toBe(404);
    expect(reply.body.error.code).toBe(-32601);
    expect(reply.body.error.message).toBe('Method task.create not found for agent agent-b');
    expect(reply.body.error.details.supportedMethods).toEqual(['chat.start', 'chat.end']);
    expect(reply.body.responseAgent).toBe('agent-b');
  });

  describe('params of the standard methods → -32602 naming the field', () => {
    const msg = userMessage('x');
    it.each([
      ['chat.start', {}, 'params.initialMessage is required', 'params.initialMessage'],
      [
        'chat.start',
        { initialMessage: { role: 'user', parts: [{ type: 'TextPart', content: 5 }] } },
        'params.initialMessage.parts[0].content must be a string',
        'params.initialMessage.parts[0].content',
      ],
      [
        'chat.start',
        { initialMessage: { role: 'user', parts: [] } },
        'params.initialMessage.parts must contain at least 1 item',
        'params.initialMessage.parts',
      ],
      [
        'chat.start',
        { initialMessage: { role: 'user', parts: [{ type: 'video', content: 'x' }] } },
        'params.initialMessage.parts[0].type must be one of: TextPart, DataPart, FilePart, ImagePart, AudioPart, text, data, file, image, audio',
        'params.initialMessage.parts[0].type',
      ],
      [
        'chat.start',
        { initialMessage: { role: 'user', parts: [{ content: 'no type' }] } },
        'params.initialMessage.parts[0].type is required',
        'params.initialMessage.parts[0].type',
      ],
      [
        'chat.start',
        { initialMessage: { role: 'user', parts: ['just text'] } },
        'params.initialMessage.parts[0] must be an object',
        'params.initialMessage.parts[0]',
      ],
      [
        'chat.start',
        { initialMessage: { role: 'user', parts: [{ type: 'FilePart', content: 'AAAA' }] } },
        'params.initialMessage.parts[0].mimeType is required',
        'params.initialMessage.parts[0].mimeType',
      ],
      [
        'chat.start',
        { initialMessage: { role: 'robot', parts: [{ type: 'text', content: 'x' }] } },
        'params.initialMessage.role must be one of: user, agent, system',
        'params.initialMessage.role',
      ],
      ['chat.start', { initialMessage: msg, chatId: '' }, 'params.chatId must not be empty', 'params.chatId'],
      ['chat.start', { initialMessage: msg, stream: 'yes' }, 'params.stream must be a boolean', 'params.stream'],
      ['chat.message', { message: msg }, 'params.chatId is required', 'params.chatId'],
      ['chat.message', { chatId: 'c-1' }, 'params.message is required', 'params.message'],
      [
        'chat.message',
        { chatId: 'c-1', message: { role: 'user', parts: [{ type: 'text', content: ['a'] }] } },
        'params.message.parts[0].content must be a string',
        'params.message.parts[0].content',
      ],
      ['chat.end', {}, 'params.chatId is required', 'params.chatId'],
      ['chat.end', { chatId: 5 }, 'params.chatId must be a string', 'params.chatId'],
      ['chat.end', { chatId: 'c-1', reason: 3 }, 'params.reason must be a string or null', 'params.reason'],
      ['task.create', {}, 'params.initialMessage is required', 'params.initialMessage'],
      ['task.send', { taskId: 't-1' }, 'params.message is required', 'params.message'],
      ['task.send', { taskId: 1, message: msg }, 'params.taskId must be a string', 'params.taskId'],
      ['task.info', {}, 'params.taskId is required', 'params.taskId'],
      ['task.info', { taskId: 't-1', includeMessages: 'yes' }, 'params.includeMessages must be a boolean', 'params.includeMessages'],
      ['task.cancel', { taskId: 't-1', reason: 5 }, 'params.reason must be a string or null', 'params.reason'],
      ['task.subscribe', { taskId: 't-1' }, 'params.callbackUrl is required', 'params.callbackUrl'],
      [
        'task.subscribe',
        { taskId: 't-1', callbackUrl: 'ftp://example.com/hook' },
        'params.callbackUrl must match ^https?://',
        'params.callbackUrl',
      ],
      [
        'task.subscribe',
        { taskId: 't-1', callbackUrl: 'http://example.com/hook', events: ['NOPE'] },
        'params.events[0] must be one of: TASK_CREATED, TASK_STARTED, TASK_PAUSED, TASK_RESUMED, TASK_COMPLETED, TASK_FAILED, TASK_CANCELED, NEW_MESSAGE, NEW_ARTIFACT, STATUS_CHANGE',
        'params.events[0]',
      ],
      [
        'task.notification',
        { taskId: 't-1', event: 'TASK_COMPLETED', timestamp: 'yesterday', data: { status: 'COMPLETED', message: 'done' } },
        'params.timestamp must be a valid date-time',
        'params.timestamp',
      ],
      [
        'task.notification',
        { taskId: 't-1', event: 'TASK_COMPLETED', timestamp: '2025-01-01T00:00:00Z', data: { message: 'done' } },
        'params.data.status is required',
        'params.data.status',
      ],
      [
        'task.notification',
        { taskId: 't-1', event: 'SOMETHING', timestamp: '2025-01-01T00:00:00Z', data: { status: 's', message: 'm' } },
        expect.stringMatching(/^params\.event must be one of: TASK_CREATED, /),
        'params.event',
      ],
    ])('%s %j → %s', async (method, params, message, field) => {
      const reply = await jsonReply(router.handle(envelope(method, params)));
      expect(reply.status).toBe(200);
      expect(reply.body.error.code).toBe(-32602);
      expect(reply.body.error.message).toEqual(message);
      expect(reply.body.error.details).toEqual({ field });
      expect(reply.body.result).toBeNull();
      expect(seen).toHaveLength(0);
    });

    it('a bad task priority has its own code: -42010 (not -32602), naming the field and the allowed values', async () => {
      const reply = await jsonReply(router.handle(envelope('task.create', { initialMessage: msg, priority: 'MEDIUM' })));
      expect(reply.status).toBe(200);
      expect(reply.body.error).toEqual({
        code: -42010,
        message: 'Invalid priority: params.priority must be one of: LOW, NORMAL, HIGH, URGENT',
        details: { field: 'params.priority', allowed: ['LOW', 'NORMAL', 'HIGH', 'URGENT'] },
      });
    });

    it('a streamed call with bad params is a 400, never a 200 JSON error', async () => {
      const reply = await jsonReply(router.handle(envelope('chat.start', { initialMessage: { role: 'user', parts: [] }, stream: true })));
      expect(reply.status).toBe(400);
      expect(reply.body.error.code).toBe(-32602);
      expect(reply.body.error.message).toBe('params.initialMessage.parts must contain at least 1 item');
    });
  });

  describe('valid params are accepted', () => {
    it.each([
      ['task.create', { initialMessage: userMessage('x'), priority: 'HIGH', metadata: { a: 1 } }],
      ['task.send', { taskId: 't-1', message: userMessage('x') }],
      ['task.info', { taskId: 't-1', includeMessages: true, includeArtifacts: false }],
      ['task.cancel', { taskId: 't-1', reason: null }],
      ['task.subscribe', { taskId: 't-1', callbackUrl: 'https://example.com/hook', events: ['TASK_COMPLETED'] }],
      [
        'task.notification',
        {
          taskId: 't-1',
          event: 'TASK_COMPLETED',
          timestamp: '2025-01-01T00:00:00+00:00',
          data: { status: 'COMPLETED', message: 'done', extra: 1 },
        },
      ],
      [
        'chat.start',
        {
          initialMessage: {
            role: 'user',
            parts: [
              { type: 'DataPart', content: { any: ['json'] } },
              { type: 'image', content: 'AAAA', mimeType: 'image/png', width: 2 },
            ],
          },
        },
      ],
    ])('%s', async (method, params) => {
      const reply = await jsonReply(router.handle(envelope(method, params)));
      expect(reply.body.error).toBeNull();
      expect(reply.status).toBe(200);
      expect(seen).toHaveLength(1);
    });
  });

  it('lowercase part types are accepted and normalised to PascalCase before the handler sees them', async () => {
    const params = {
      initialMessage: {
        role: 'user',
        parts: [
          { type: 'text', content: 'hi' },
          { type: 'data', content: { a: 1 } },
          { type: 'file', content: 'AAAA', mimeType: 'application/pdf' },
          { type: 'image', content: 'AAAA', mimeType: 'image/png' },
          { type: 'audio', content: 'AAAA', mimeType: 'audio/wav' },
        ],
      },
    };
    const reply = await jsonReply(router.handle(envelope('chat.start', params)));
    expect(reply.status).toBe(200);
    expect(seen).toHaveLength(1);
    expect(seen[0].initialMessage.parts.map((p: Json) => p.type)).toEqual(['TextPart', 'DataPart', 'FilePart', 'ImagePart', 'AudioPart']);
  });

  it('lowercase part types in chat.message / task.send are normalised too', async () => {
    await jsonReply(router.handle(envelope('task.send', { taskId: 't-1', message: userMessage('x', 'text') })));
    expect(seen[0].message.parts[0].type).toBe('TextPart');
  });
});

describe('ArcValidator directly', () => {
  const v = new ArcValidator();

  it('returns a valid envelope unchanged', () => {
    const body = envelope('x', {});
    expect(v.validateEnvelope(body)).toBe(body);
  });

  it('validates custom params schemas compiled at registration', () => {
    const validate = v.compileParams({ type: 'object', required: ['amount'], properties: { amount: { type: 'number' } } });
    expect(() => v.validateParams(validate, { amount: 3 })).not.toThrow();
    try {
      v.validateParams(validate, { amount: 'three' });
      throw new Error('should have thrown');
    } catch (err) {
      expect(err).toBeInstanceOf(ArcError);
      expect((err as ArcError).code).toBe(-32602);
      expect((err as ArcError).message).toBe('params.amount must be a number');
    }
  });

  it('has a compiled validator for each of the nine standard methods and none for others', () => {
    for (const m of [
      'chat.start',
      'chat.message',
      'chat.end',
      'task.create',
      'task.send',
      'task.info',
      'task.cancel',
      'task.subscribe',
      'task.notification',
    ]) {
      expect(typeof v.standardParams(m)).toBe('function');
    }
    expect(v.standardParams('task.get')).toBeUndefined();
    expect(v.standardParams('custom.thing')).toBeUndefined();
  });
});
