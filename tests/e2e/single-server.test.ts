/**
 * The single server and the three services as real processes on free loopback ports: the
 * guides' client flows, the bad inputs of issue 2, and the Python SDK's captured requests.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ArcClient, ArcResponseError } from '@arc/core/client';
import { manifest } from '@arc/devkit';
import { arcRequest, post, ROOT, startService, stopAll, userText, type Proc } from './support/processes';

let single: Proc;
const services: Record<string, Proc> = {};

beforeAll(async () => {
  [single, services.finance, services.hr, services.support] = await Promise.all([
    startService('single-server', { BODY_LIMIT_BYTES: String(1024 * 1024) }),
    startService('finance'),
    startService('hr'),
    startService('support'),
  ]);
});
afterAll(stopAll);

const arcUrl = (p: Proc) => `${p.url}/arc`;
const replyText = (json: any): string => json.result.chat.message.parts[0].content;

describe.each([
  ['single server', () => single],
  ['own service', (agent: string) => services[agent.replace('-agent', '')]!],
] as const)('guide flows via the %s', (_label, target) => {
  const cases: Array<[string, string, string, string]> = [
    [
      'finance-agent',
      'I need help with an invoice',
      'I can help with invoice inquiries. Please provide invoice number.',
      'Processing your request: Invoice number INV-12345',
    ],
    [
      'finance-agent',
      'Any news on my payment?',
      "I can assist with payment processing. What's your payment ID?",
      'Processing your request: Invoice number INV-12345',
    ],
    [
      'hr-agent',
      'Question about salary',
      'I can help with salary inquiries. Please provide your employee ID.',
      'Let me check that for you: Invoice number INV-12345',
    ],
    [
      'hr-agent',
      'Tell me about benefits',
      'I can explain our benefits package. What would you like to know?',
      'Let me check that for you: Invoice number INV-12345',
    ],
    [
      'support-agent',
      'General support needed',
      "Hi! I'm here to help with general support. What do you need?",
      'I understand your concern: Invoice number INV-12345. Let me help you.',
    ],
  ];
  test.each(cases)('%s: "%s" then a follow-up', async (agent, first, expected, followUp) => {
    const url = arcUrl(target(agent));
    const start = await post(url, JSON.stringify(arcRequest('chat.start', agent, { initialMessage: userText(first) })));
    expect(start.status).toBe(200);
    expect(start.json.responseAgent).toBe(agent);
    expect(start.json.targetAgent).toBe('e2e-client');
    expect(start.json.result.chat.status).toBe('ACTIVE');
    expect(replyText(start.json)).toBe(expected);
    const chatId = start.json.result.chat.chatId;
    const msg = await post(
      url,
      JSON.stringify(arcRequest('chat.message', agent, { chatId, message: userText('Invoice number INV-12345') })),
    );
    expect(msg.status).toBe(200);
    expect(msg.json.result.chat.chatId).toBe(chatId);
    expect(replyText(msg.json)).toBe(followUp);
    const end = await post(url, JSON.stringify(arcRequest('chat.end', agent, { chatId, reason: 'done' })));
    expect(end.json.result.chat).toMatchObject({ chatId, status: 'CLOSED', reason: 'done' });
  });
});

test('the other agents are not served by a single-agent service', async () => {
  const res = await post(
    arcUrl(services.hr!),
    JSON.stringify(arcRequest('chat.start', 'finance-agent', { initialMessage: userText('hi') })),
  );
  expect(res.status).toBe(404);
  expect(res.json.error.code).toBe(-41001);
  expect(res.json.error.details.availableAgents).toEqual(['hr-agent']);
});

test('traceId round trip, and its absence', async () => {
  const withTrace = await post(
    arcUrl(single),
    JSON.stringify(arcRequest('chat.start', 'support-agent', { initialMessage: userText('hi') }, { traceId: 'trace-e2e-42' })),
  );
  expect(withTrace.json.traceId).toBe('trace-e2e-42');
  const without = await post(arcUrl(single), JSON.stringify(arcRequest('chat.start', 'support-agent', { initialMessage: userText('hi') })));
  expect('traceId' in without.json).toBe(false);
});

test('the numeric request id keeps its JSON type', async () => {
  const res = await post(
    arcUrl(single),
    JSON.stringify({ ...arcRequest('chat.start', 'hr-agent', { initialMessage: userText('salary') }), id: 7 }),
  );
  expect(res.json.id).toBe(7);
});

test('health and agent-info', async () => {
  const health = await (await fetch(`${single.url}/health`)).json();
  expect(health).toMatchObject({ status: 'healthy', server_id: 'multi-agent-server', agents: manifest.singleServer.agents.length });
  const info: any = await (await fetch(`${single.url}/agent-info`)).json();
  expect(Object.keys(info.registeredAgents).sort()).toEqual([...manifest.singleServer.agents].sort());
  expect(info.registeredAgents['finance-agent'].supportedMethods).toEqual([
    'chat.start',
    'chat.message',
    'chat.end',
    'task.create',
    'task.info',
    'task.send',
    'task.cancel',
    'task.subscribe',
  ]);
});

test('a streamed chat.start arrives as SSE frames the Python client can parse', async () => {
  const res = await fetch(arcUrl(single), {
    method: 'POST',
    headers: { 'Content-Type': 'text/event-stream', Accept: 'text/event-stream' },
    body: JSON.stringify(arcRequest('chat.start', 'finance-agent', { initialMessage: userText('payment'), stream: true })),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/event-stream');
  const text = await res.text();
  expect(text).not.toContain('\r');
  const frames = text
    .split('\n\n')
    .filter(Boolean)
    .map((f) => {
      const lines = f.split('\n');
      return { event: lines[0]!.replace('event: ', ''), data: JSON.parse(lines[1]!.replace('data: ', '')) };
    });
  expect(frames.map((f) => f.event)).toEqual(['stream', 'done']);
  expect(frames[0]!.data.message.parts[0]).toEqual({
    type: 'TextPart',
    content: "I can assist with payment processing. What's your payment ID?",
  });
  expect(frames[1]!.data).toMatchObject({ status: 'ACTIVE', done: true, chatId: frames[0]!.data.chatId });
});

describe('bad input gets a clear ARC error, never a crash', () => {
  const good = () => arcRequest('chat.start', 'finance-agent', { initialMessage: userText('invoice') });
  const cases: Array<[string, string | Buffer, number, number, RegExp]> = [
    ['invalid JSON', '{"arc":"1.0","id":"x",', 400, -32700, /^Parse error: /],
    ['an empty body', '', 400, -32700, /request body is empty/],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 400, -32700, /not valid UTF-8/],
    ['a JSON array', '[]', 400, -32600, /must be a JSON object, got an array/],
    ['a JSON string', '"hello"', 400, -32600, /must be a JSON object, got a string/],
    ['JSON null', 'null', 400, -32600, /must be a JSON object, got null/],
    ['arc version 2.0', JSON.stringify({ ...good(), arc: '2.0' }), 400, -45001, /^Invalid ARC version: 2.0$/],
    ['arc version as a number', JSON.stringify({ ...good(), arc: 1.0 }), 400, -45001, /^Invalid ARC version: 1$/],
    ['unknown agent', JSON.stringify({ ...good(), targetAgent: 'nope-agent' }), 404, -41001, /^Agent not found: nope-agent$/],
    [
      'unknown method',
      JSON.stringify({ ...good(), method: 'chat.explode' }),
      404,
      -32601,
      /^Method chat.explode not found for agent finance-agent$/,
    ],
    ['params of the wrong type', JSON.stringify({ ...good(), params: [] }), 200, -32602, /^params must be an object$/],
    [
      'a part content of the wrong type',
      JSON.stringify({ ...good(), params: { initialMessage: { role: 'user', parts: [{ type: 'text', content: 5 }] } } }),
      200,
      -32602,
      /^params\.initialMessage\.parts\[0\]\.content must be a string$/,
    ],
    [
      'a missing chatId',
      JSON.stringify(arcRequest('chat.message', 'finance-agent', { message: userText('x') })),
      200,
      -32602,
      /^params\.chatId is required$/,
    ],
    ['an id of the wrong type', JSON.stringify({ ...good(), id: { a: 1 } }), 400, -32600, /^id must be a string or a number$/],
  ];
  for (const field of ['arc', 'id', 'method', 'requestAgent', 'targetAgent', 'params']) {
    const body: Record<string, unknown> = good();
    delete body[field];
    cases.push([`missing ${field}`, JSON.stringify(body), 400, -32600, new RegExp(`^Missing required field: ${field}$`)]);
  }
  test.each(cases)('%s', async (_name, body, status, code, message) => {
    const res = await post(arcUrl(single), body);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.json.arc).toBe('1.0');
    expect(res.json.result).toBeNull();
    expect(res.json.error.code).toBe(code);
    expect(res.json.error.message).toMatch(message);
    expect(typeof res.json.error.details).toBe('object');
    expect(res.text).not.toMatch(/at .*\.js:\d+/);
  });

  test('an oversize body → -45004 / 413', async () => {
    const big = JSON.stringify({ ...good(), params: { initialMessage: userText('x'.repeat(2 * 1024 * 1024)) } });
    const res = await post(arcUrl(single), big);
    expect(res.status).toBe(413);
    expect(res.json.error.code).toBe(-45004);
    expect(res.json.error.message).toBe('Request body exceeds the limit of 1048576 bytes');
  });

  test('chat.message on an unknown chat → -43001, on a closed chat → -43002', async () => {
    const unknown = await post(
      arcUrl(single),
      JSON.stringify(arcRequest('chat.message', 'finance-agent', { chatId: 'chat-nope', message: userText('x') })),
    );
    expect(unknown.status).toBe(200);
    expect(unknown.json.error).toEqual({
      code: -43001,
      message: 'Chat not found: chat-nope',
      details: { chatId: 'chat-nope', chat_id: 'chat-nope' },
    });
    const start = await post(arcUrl(single), JSON.stringify(good()));
    const chatId = start.json.result.chat.chatId;
    await post(arcUrl(single), JSON.stringify(arcRequest('chat.end', 'finance-agent', { chatId })));
    const closed = await post(
      arcUrl(single),
      JSON.stringify(arcRequest('chat.message', 'finance-agent', { chatId, message: userText('x') })),
    );
    expect(closed.status).toBe(200);
    expect(closed.json.error.code).toBe(-43002);
    expect(closed.json.error.message).toBe(`Chat already closed: ${chatId}`);
    const again = await post(arcUrl(single), JSON.stringify(arcRequest('chat.end', 'finance-agent', { chatId })));
    expect(again.json.error.code).toBe(-43002);
  });

  test('GET on /arc → 405 with Allow: POST', async () => {
    const res = await fetch(arcUrl(single));
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(((await res.json()) as any).error.code).toBe(-32600);
  });

  test('the server is still healthy after all of it', async () => {
    expect((await fetch(`${single.url}/health`)).status).toBe(200);
    expect(single.child.exitCode).toBeNull();
  });
});

describe('the Python SDK client, byte for byte (shared/protocol/captures)', () => {
  const dir = join(ROOT, '..', 'shared', 'protocol', 'captures');
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.startsWith('chat_'));
  } catch {
    files = [];
  }
  const parse = (file: string) => {
    const text = readFileSync(join(dir, file), 'latin1');
    const req = text.split('=== REQUEST')[1]!.split('=== RESPONSE')[0]!;
    const [head, body] = req.split('\r\n\r\n') as [string, string];
    const contentType = /Content-Type: (.*)\r\n/.exec(head)![1]!;
    return { contentType, body: body.replace(/\r?\n$/, '') };
  };

  test('captures are present', () => {
    expect(files.length).toBeGreaterThanOrEqual(4);
  });

  test.each(files)('%s: the request the SDK sends gets an answer the SDK accepts', async (file) => {
    const { contentType, body } = parse(file);
    const req = JSON.parse(body);
    if (req.method === 'chat.message') {
      // The captured chat id is not ours: open one first under that id.
      await post(
        arcUrl(single),
        JSON.stringify(arcRequest('chat.start', req.targetAgent, { chatId: req.params.chatId, initialMessage: userText('invoice') })),
      );
    }
    const res = await fetch(arcUrl(single), {
      method: 'POST',
      headers: { 'Content-Type': contentType, 'User-Agent': 'arc-sdk-python' },
      body,
    });
    expect(res.status).toBe(200);
    if (req.params.stream) {
      const text = await res.text();
      const events = text.split('\n\n').filter(Boolean);
      expect(events.at(-1)).toContain('event: done');
      expect(events.at(-1)).toContain(`"requestId":"${req.id}"`);
    } else {
      const env: any = await res.json();
      // What the Python client checks (ARC-PROTOCOL.md §3).
      for (const key of ['arc', 'id', 'responseAgent', 'targetAgent']) expect(env).toHaveProperty(key);
      expect(env.arc).toBe('1.0');
      expect(env.id).toBe(req.id);
      expect(env.error).toBeNull();
      expect(env.result.type).toBe('chat');
      if (req.traceId) expect(env.traceId).toBe(req.traceId);
    }
  });
});

describe('the TypeScript client against the running servers', () => {
  test('a full conversation, and typed errors', async () => {
    const client = new ArcClient(arcUrl(single), { requestAgent: 'ts-e2e' });
    const start = await client.chat.start('finance-agent', 'Help with invoice', { traceId: 'ts-trace' });
    expect(start.traceId).toBe('ts-trace');
    const chatId = start.result.chat.chatId;
    const msg = await client.chat.message('finance-agent', chatId, 'INV-1');
    expect(msg.result.chat.message?.parts[0]).toEqual({ type: 'TextPart', content: 'Processing your request: INV-1' });
    const end = await client.chat.end('finance-agent', chatId, 'bye');
    expect(end.result.chat.status).toBe('CLOSED');
    await expect(client.chat.message('finance-agent', chatId, 'again')).rejects.toMatchObject({ code: -43002, httpStatus: 200 });
    const unknownAgent = await client.chat.start('ghost-agent', 'hi').catch((e: unknown) => e);
    expect(unknownAgent).toBeInstanceOf(ArcResponseError);
    expect(unknownAgent).toMatchObject({ code: -41001, httpStatus: 404, details: { agentId: 'ghost-agent' } });
    await expect(client.request('report.generate', 'finance-agent', {})).rejects.toMatchObject({ code: -32601, httpStatus: 404 });
  });
});

describe('the supervisor in the single server', () => {
  // The guide's sample messages, each to the specialist its rules name (support when none does).
  test.each([
    ['I need help with an invoice', 'I can help with invoice inquiries. Please provide invoice number.'],
    ['Any news on my payment?', "I can assist with payment processing. What's your payment ID?"],
    ['Question about salary', 'I can help with salary inquiries. Please provide your employee ID.'],
    ['Tell me about benefits', 'I can explain our benefits package. What would you like to know?'],
    ['General support needed', "Hi! I'm here to help with general support. What do you need?"],
  ])('routes "%s" to the right specialist', async (text, reply) => {
    const client = new ArcClient(arcUrl(single), { requestAgent: 'ts-e2e' });
    const start = await client.chat.start('supervisor', text);
    expect(start.responseAgent).toBe('supervisor');
    expect(start.result.chat.message?.parts[0]).toMatchObject({ content: reply });
    await client.chat.end('supervisor', start.result.chat.chatId);
  });

  test('routes a conversation to the specialist mounted beside it (in process) and keeps it there', async () => {
    const client = new ArcClient(arcUrl(single), { requestAgent: 'ts-e2e' });
    const start = await client.chat.start('supervisor', 'invoice question');
    expect(start.responseAgent).toBe('supervisor');
    expect(start.result.chat.message?.parts[0]).toMatchObject({
      content: 'I can help with invoice inquiries. Please provide invoice number.',
    });
    const chatId = start.result.chat.chatId;
    const msg = await client.chat.message('supervisor', chatId, 'INV-1');
    expect(msg.result.chat.message?.parts[0]).toMatchObject({ content: 'Processing your request: INV-1' });
    const end = await client.chat.end('supervisor', chatId);
    expect(end.result.chat.status).toBe('CLOSED');
  });
});
