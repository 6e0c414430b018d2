/**
 * Replays the requests of shared/protocol/captures (recorded between the arc-sdk 1.3.1 client
 * and server) against our ArcServer and compares status and envelope with the recorded reply.
 *
 * Where we differ from the SDK server on purpose (DECISIONS.md), the test asserts OUR behaviour:
 *  - parts leave as PascalCase `TextPart` (the SDK server echoed the handler's lowercase `text`);
 *  - chat.start results carry `createdAt`; error `details` is always an object (never null);
 *  - a parse error has `id: null` (SDK: "error") and, like every error of ours, a `traceId` key;
 *  - envelope errors about a registered agent name that agent as `responseAgent` (SDK: "arc-server");
 *  - chat.end is built in for every agent with chat.start, so the SDK's method-not-found capture
 *    (chat.end to an agent without a chat.end handler) succeeds here; the -32601 case is replayed
 *    with a method the agent really lacks, and against an agent without chat.start.
 */
import { ArcServer } from '../../src/express';
import { ArcAgent, type HandlerContext } from '../../src/router/agent';
import { captureNames, loadCapture, type Capture } from '../support/captures';
import { httpRequest, type RawResponse } from '../support/http';
import { envelope, userMessage, type Json } from '../support/util';

const HANDLED = [
  'chat_message.txt',
  'chat_message_stream.txt',
  'chat_start.txt',
  'chat_start_stream.txt',
  'error_invalid_request.txt',
  'error_invalid_version.txt',
  'error_method_not_found.txt',
  'error_parse_error.txt',
  'error_unknown_agent.txt',
];

/** The task methods' captures and the webhook delivery: replayed in task-captures-replay.test.ts. */
const REPLAYED_ELSEWHERE = [
  'error_task_not_found.txt',
  'task_cancel.txt',
  'task_create.txt',
  'task_info.txt',
  'task_send.txt',
  'task_subscribe.txt',
  'webhook_delivery.txt',
];

const EXISTING_CHAT = 'chat-14500772';

async function* words(text: string): AsyncGenerator<string> {
  for (const w of text.split(/(?<= )/)) yield w;
}

function textOf(message: { parts: Array<{ type: string; content?: unknown }> }): string {
  return message.parts.map((p) => (p.type === 'TextPart' ? String(p.content) : '')).join('');
}

/** Reply text by what the capture's user asked, as the SDK's peer_server.py finance agent answered. */
function startReply(text: string): string {
  if (/invoice/i.test(text)) return 'I can help with invoice inquiries. Please provide invoice number.';
  if (/payment/i.test(text)) return "I can assist with payment processing. What's your payment ID?";
  return 'How can I help?';
}

function reply(text: string, ctx: HandlerContext): string | AsyncGenerator<string> {
  return ctx.stream ? words(text) : text;
}

function financeAgent(withChatStart: boolean): ArcAgent {
  const agent = new ArcAgent('finance-agent');
  if (withChatStart) agent.on('chat.start', (p, ctx) => reply(startReply(textOf(p.initialMessage)), ctx));
  return agent.on('chat.message', (p, ctx) => reply(`Processing your request: ${textOf(p.message)}`, ctx));
}

/** Sends a capture's request body with its own Content-Type / Accept / User-Agent headers. */
function replay(url: string, capture: Capture, body: Buffer = capture.request.body): Promise<RawResponse> {
  const headers: Record<string, string> = {};
  for (const name of ['content-type', 'accept', 'user-agent']) {
    const value = capture.request.headers[name];
    if (value !== undefined) headers[name] = value;
  }
  return httpRequest(url, { method: 'POST', path: '/arc', headers, body });
}

/** The recorded reply with lowercase part types as we emit them (PascalCase). */
function pascalParts(value: Json): Json {
  const names: Record<string, string> = { text: 'TextPart', data: 'DataPart', file: 'FilePart', image: 'ImagePart', audio: 'AudioPart' };
  return JSON.parse(JSON.stringify(value), (key, v) => (key === 'type' && typeof v === 'string' && names[v] ? names[v] : v));
}

function capturedJson(c: Capture): Json {
  return JSON.parse(c.response.body.toString('utf8'));
}

describe('replaying the arc-sdk 1.3.1 captures', () => {
  let server: ArcServer;
  let url: string;

  beforeAll(async () => {
    // The SDK's error envelopes name the server "arc-server"; so does ours here.
    server = new ArcServer({ serverId: 'arc-server' });
    server.addAgent(financeAgent(true));
    server.addAgent(new ArcAgent('hr-agent').on('chat.start', () => 'hr'));
    server.addAgent(new ArcAgent('support-agent').on('chat.start', () => 'support'));
    ({ url } = await server.listen(0, '127.0.0.1'));
    // The recorded chat.message requests continue a chat the recorded session had started.
    const opened = await server.router.handle(
      envelope(
        'chat.start',
        { initialMessage: userMessage('I need help with an invoice'), chatId: EXISTING_CHAT },
        { targetAgent: 'finance-agent', requestAgent: 'arc-capture-client' },
      ),
    );
    expect(opened.kind === 'json' && opened.body.error).toBeNull();
  });

  afterAll(async () => {
    await server.close({ graceMs: 1000 });
  });

  it('every capture file is covered by a test below or in task-captures-replay.test.ts', () => {
    expect(captureNames()).toEqual([...HANDLED, ...REPLAYED_ELSEWHERE].sort());
  });

  it('the capture parser reads what the markers announce', () => {
    const c = loadCapture('chat_start.txt');
    expect(c.request.startLine).toBe('POST /arc HTTP/1.1');
    expect(c.request.body.length).toBe(Number(c.request.headers['content-length']));
    expect(c.response.status).toBe(200);
    const s = loadCapture('chat_start_stream.txt');
    expect(s.response.body.toString('utf8').startsWith('event: stream\ndata: ')).toBe(true);
  });

  describe('successful calls', () => {
    it('chat_start.txt: same status, envelope keys in order, ids, traceId echoed, chat result', async () => {
      const c = loadCapture('chat_start.txt');
      const res = await replay(url, c);
      expect(res.status).toBe(c.response.status);
      expect(res.headers['content-type']).toBe(c.response.headers['content-type']);
      const ours = res.json();
      const theirs = capturedJson(c);
      expect(Object.keys(ours)).toEqual(Object.keys(theirs));
      for (const key of ['arc', 'id', 'responseAgent', 'targetAgent', 'error', 'traceId']) expect(ours[key]).toEqual(theirs[key]);
      expect(ours.traceId).toBe('trace-capture-0001');
      // Ours: PascalCase parts, a server-generated chatId of ours, createdAt added.
      const expected = pascalParts(theirs.result);
      expected.chat.chatId = expect.stringMatching(/^chat-[0-9a-f]+$/);
      expect(ours.result).toEqual({ ...expected, chat: { ...expected.chat, createdAt: expect.any(String) } });
      expect(ours.result.chat.message.parts[0].type).toBe('TextPart');
    });

    it('chat_message.txt: same envelope, no traceId key (the request had none)', async () => {
      const c = loadCapture('chat_message.txt');
      const res = await replay(url, c);
      expect(res.status).toBe(200);
      const ours = res.json();
      const theirs = capturedJson(c);
      expect(Object.keys(ours)).toEqual(Object.keys(theirs));
      expect('traceId' in ours).toBe(false);
      expect(ours).toEqual(pascalParts(theirs));
    });

    it('chat_message_stream.txt: SSE byte for byte (after de-chunking)', async () => {
      const c = loadCapture('chat_message_stream.txt');
      expect(c.request.headers['content-type']).toBe('text/event-stream');
      const res = await replay(url, c);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe(c.response.headers['content-type']);
      expect(res.headers['cache-control']).toBe(c.response.headers['cache-control']);
      expect(res.text).toBe(c.response.body.toString('utf8'));
    });

    it('chat_start_stream.txt: SSE byte for byte except the generated chatId', async () => {
      const c = loadCapture('chat_start_stream.txt');
      const res = await replay(url, c);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/event-stream');
      const ourId = /"chatId":"([^"]+)"/.exec(res.text)?.[1];
      const theirId = /"chatId":"([^"]+)"/.exec(c.response.body.toString('utf8'))?.[1];
      expect(ourId).toMatch(/^chat-/);
      expect(res.text.split(ourId!).join(theirId!)).toBe(c.response.body.toString('utf8'));
      // The streamed chat.start registered the chat.
      expect((await server.router.chatStore.get('finance-agent', ourId!))?.status).toBe('ACTIVE');
    });
  });

  describe('errors', () => {
    /** Common checks: status, Content-Type, key order, addressing, code. */
    function expectErrorLike(res: RawResponse, c: Capture, options: { keys?: string[] } = {}): { ours: Json; theirs: Json } {
      const ours = res.json();
      const theirs = capturedJson(c);
      expect(res.status).toBe(c.response.status);
      expect(res.headers['content-type']).toBe('application/json');
      expect(Object.keys(ours)).toEqual(options.keys ?? Object.keys(theirs));
      expect(ours.arc).toBe('1.0');
      expect(ours.result).toBeNull();
      expect(ours.error.code).toBe(theirs.error.code);
      expect(typeof ours.error.details).toBe('object');
      expect(ours.error.details).not.toBeNull();
      return { ours, theirs };
    }

    it('error_parse_error.txt: -32700 / 400; our id is null and traceId is present (null)', async () => {
      const c = loadCapture('error_parse_error.txt');
      const res = await replay(url, c);
      const { ours, theirs } = expectErrorLike(res, c, {
        keys: ['arc', 'id', 'responseAgent', 'targetAgent', 'traceId', 'result', 'error'],
      });
      expect(theirs.id).toBe('error');
      expect(ours.id).toBeNull();
      expect(ours.responseAgent).toBe(theirs.responseAgent);
      expect(ours.targetAgent).toBe(theirs.targetAgent);
      expect(ours.traceId).toBeNull();
      expect(theirs.error.details).toBeNull();
      expect(ours.error.details).toEqual({});
      expect(ours.error.message).toMatch(/^Parse error: \S/);
    });

    it('error_invalid_request.txt: -32600 / 400 "Missing required field: method"', async () => {
      const c = loadCapture('error_invalid_request.txt');
      const res = await replay(url, c);
      const { ours, theirs } = expectErrorLike(res, c);
      expect(ours.error.message).toBe(theirs.error.message);
      expect(ours.error.details).toMatchObject(theirs.error.details);
      expect(ours.id).toBe(theirs.id);
      expect(ours.targetAgent).toBe(theirs.targetAgent);
      expect(ours.traceId).toBeNull();
      // The request named a registered agent; ours answers as that agent (SDK: "arc-server").
      expect(theirs.responseAgent).toBe('arc-server');
      expect(ours.responseAgent).toBe('finance-agent');
    });

    it('error_invalid_version.txt: -45001 / 400 identical to the SDK apart from responseAgent', async () => {
      const c = loadCapture('error_invalid_version.txt');
      const res = await replay(url, c);
      const { ours, theirs } = expectErrorLike(res, c);
      expect(ours.error).toEqual(theirs.error);
      expect({ ...ours, responseAgent: theirs.responseAgent }).toEqual(theirs);
      expect(ours.responseAgent).toBe('finance-agent');
    });

    it('error_unknown_agent.txt: -41001 / 404 with requestedAgent and the same availableAgents', async () => {
      const c = loadCapture('error_unknown_agent.txt');
      const res = await replay(url, c);
      const { ours, theirs } = expectErrorLike(res, c);
      expect(ours.error.message).toBe(theirs.error.message);
      expect(ours.error.details).toMatchObject(theirs.error.details);
      expect(ours.error.details.agentId).toBe('unknown-agent');
      for (const key of ['id', 'responseAgent', 'targetAgent', 'traceId']) expect(ours[key]).toEqual(theirs[key]);
    });

    it('error_method_not_found.txt with a method finance-agent lacks: -32601 / 404', async () => {
      const c = loadCapture('error_method_not_found.txt');
      const raw = c.request.body.toString('utf8');
      expect(raw).toContain('"method": "chat.end"');
      const res = await replay(url, c, Buffer.from(raw.replace('"method": "chat.end"', '"method": "task.create"'), 'utf8'));
      const { ours, theirs } = expectErrorLike(res, c);
      expect(ours.error.message).toBe('Method task.create not found for agent finance-agent');
      // chat.end is built in, so it is listed (the SDK listed only the registered handlers).
      expect(theirs.error.details.supportedMethods).toEqual(['chat.start', 'chat.message']);
      expect(ours.error.details.supportedMethods).toEqual(['chat.start', 'chat.message', 'chat.end']);
      for (const key of ['id', 'responseAgent', 'targetAgent', 'traceId']) expect(ours[key]).toEqual(theirs[key]);
    });

    it('error_method_not_found.txt verbatim against an agent without chat.start: same reply as the SDK', async () => {
      const bare = new ArcServer({ serverId: 'arc-server' });
      bare.addAgent(financeAgent(false));
      const { url: bareUrl } = await bare.listen(0, '127.0.0.1');
      try {
        const c = loadCapture('error_method_not_found.txt');
        const res = await replay(bareUrl, c);
        const { ours, theirs } = expectErrorLike(res, c);
        expect(ours.error.message).toBe(theirs.error.message);
        expect(ours.error.details).toMatchObject({ supportedMethods: ['chat.message'] });
        for (const key of ['id', 'responseAgent', 'targetAgent', 'traceId']) expect(ours[key]).toEqual(theirs[key]);
      } finally {
        await bare.close();
      }
    });

    it('error_method_not_found.txt verbatim against our finance-agent: chat.end is built in, the chat is closed', async () => {
      const c = loadCapture('error_method_not_found.txt');
      const res = await replay(url, c);
      expect(res.status).toBe(200);
      const ours = res.json();
      expect(ours.error).toBeNull();
      expect(ours.result.chat).toEqual({ chatId: EXISTING_CHAT, status: 'CLOSED', closedAt: expect.any(String), reason: null });
      // Replayed again: the chat is closed now.
      const again = (await replay(url, c)).json();
      expect(again.error.code).toBe(-43002);
      // And the recorded chat.message is refused on the closed chat, with 200.
      const late = await replay(url, loadCapture('chat_message.txt'));
      expect(late.status).toBe(200);
      expect(late.json().error.code).toBe(-43002);
    });
  });
});
