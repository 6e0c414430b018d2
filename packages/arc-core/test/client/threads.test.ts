/**
 * client.threads against a real ArcServer: one chat per agent, started by the first message and
 * continued after; a new chat, once, when the agent no longer knows the chat (-43001) or closed it
 * (-43002); concurrent sends to an agent without a chat share one chat.start; end and endAll.
 */
import { ArcClient, ArcResponseError, ArcThreads } from '../../src/client';
import { ArcError, errors } from '../../src/errors/arc-error';
import { ArcServer } from '../../src/express';
import { messageText } from '../../src/protocol/parts';
import type { ArcSuccessResponse, ChatResult } from '../../src/protocol/types';
import { ArcAgent } from '../../src/router/agent';
import { rejection } from '../support/util';

describe('client.threads', () => {
  let server: ArcServer;
  let url: string;
  /** What the agents received: `<agent> <method> <chatId> <text>`. */
  let calls: string[];
  /** Chats the agents answer -43001 for. */
  const expired = new Set<string>();
  const clients: ArcClient[] = [];

  beforeAll(async () => {
    server = new ArcServer({ serverId: 'threads-test' });
    for (const id of ['finance-agent', 'hr-agent']) {
      server.addAgent(
        new ArcAgent(id)
          .on('chat.start', async function* (p, ctx) {
            const text = messageText(p.initialMessage);
            calls.push(`${id} start ${ctx.chat?.chatId} ${text}`);
            if (text === 'refuse') throw new ArcError(-42004, 'refused');
            yield `started: ${text}`;
          })
          .on('chat.message', (p) => {
            const text = messageText(p.message);
            calls.push(`${id} message ${p.chatId} ${text}`);
            // As if the chat had expired on the agent's side: refused before any answer.
            if (expired.has(p.chatId)) throw errors.chatNotFound(p.chatId);
            return (async function* () {
              yield `got: ${text}`;
            })();
          }),
      );
    }
    ({ url } = await server.listen(0, '127.0.0.1'));
  });

  beforeEach(() => {
    calls = [];
    expired.clear();
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  afterAll(async () => {
    await server.close({ graceMs: 1000 });
  });

  function client(): ArcClient {
    const c = new ArcClient(`${url}/arc`, { requestAgent: 'threads-client', timeoutMs: 5000 });
    clients.push(c);
    return c;
  }

  it('the first send starts a chat, the next ones continue it; one chat per agent', async () => {
    const c = client();
    expect(c.threads.chatId('finance-agent')).toBeUndefined();
    const first = await c.threads.send('finance-agent', 'one');
    expect(first.message).toEqual({ role: 'agent', parts: [{ type: 'TextPart', content: 'started: one' }] });
    const chatId = first.chatId;
    expect(c.threads.chatId('finance-agent')).toBe(chatId);
    const second = await c.threads.send('finance-agent', 'two');
    expect(second.chatId).toBe(chatId);
    const hr = await c.threads.send('hr-agent', 'three');
    expect(hr.chatId).not.toBe(chatId);
    expect(calls).toEqual([
      `finance-agent start ${chatId} one`,
      `finance-agent message ${chatId} two`,
      `hr-agent start ${hr.chatId} three`,
    ]);
  });

  it('sendStream starts and continues the same way', async () => {
    const c = client();
    const first = await c.threads.sendStream('finance-agent', 'one');
    await expect(first.collect()).resolves.toMatchObject({ text: 'started: one' });
    expect(c.threads.chatId('finance-agent')).toBe(first.chatId);
    const next = await c.threads.sendStream('finance-agent', 'two');
    await expect(next.collect()).resolves.toEqual({ chatId: first.chatId, status: 'ACTIVE', text: 'got: two' });
  });

  it('-43001 (the agent no longer knows the chat): the message starts a new chat, once', async () => {
    const c = client();
    const old = (await c.threads.send('finance-agent', 'one')).chatId;
    expired.add(old);
    const fresh = await c.threads.send('finance-agent', 'expire please');
    expect(fresh.chatId).not.toBe(old);
    expect(fresh.message).toEqual({ role: 'agent', parts: [{ type: 'TextPart', content: 'started: expire please' }] });
    expect(c.threads.chatId('finance-agent')).toBe(fresh.chatId);
    expect(calls).toEqual([
      `finance-agent start ${old} one`,
      `finance-agent message ${old} expire please`,
      `finance-agent start ${fresh.chatId} expire please`,
    ]);
  });

  it('-43001 on a streamed send: the stream comes from the new chat', async () => {
    const c = client();
    const old = (await c.threads.send('finance-agent', 'one')).chatId;
    expired.add(old);
    const stream = await c.threads.sendStream('finance-agent', 'expire again');
    await expect(stream.collect()).resolves.toMatchObject({ text: 'started: expire again' });
    expect(stream.chatId).not.toBe(old);
    expect(c.threads.chatId('finance-agent')).toBe(stream.chatId);
  });

  it('-43002 (the chat was closed): a new chat', async () => {
    const c = client();
    const old = (await c.threads.send('finance-agent', 'one')).chatId;
    await c.chat.end('finance-agent', old);
    const fresh = await c.threads.send('finance-agent', 'after the end');
    expect(fresh.chatId).not.toBe(old);
    expect(calls.at(-1)).toBe(`finance-agent start ${fresh.chatId} after the end`);
  });

  it('a failed restart is thrown (no second restart); other errors are thrown as they came, the chat kept', async () => {
    const c = client();
    const old = (await c.threads.send('finance-agent', 'one')).chatId;
    await c.chat.end('finance-agent', old);
    const err = (await rejection(c.threads.send('finance-agent', 'refuse'))) as ArcResponseError;
    expect(err).toBeInstanceOf(ArcResponseError);
    expect(err.code).toBe(-42004);
    expect(c.threads.chatId('finance-agent')).toBeUndefined();

    const kept = (await c.threads.send('finance-agent', 'two')).chatId;
    const unknown = (await rejection(c.threads.send('nobody', 'hi'))) as ArcResponseError;
    expect(unknown.code).toBe(-41001);
    expect(c.threads.chatId('finance-agent')).toBe(kept);
  });

  it('concurrent sends to an agent without a chat open one chat and continue it', async () => {
    const c = client();
    const results = await Promise.all([
      c.threads.send('finance-agent', 'a'),
      c.threads.send('finance-agent', 'b'),
      c.threads.send('finance-agent', 'c'),
    ]);
    const chatId = results[0]!.chatId;
    expect(results.map((r) => r.chatId)).toEqual([chatId, chatId, chatId]);
    expect(calls.filter((x) => x.includes(' start '))).toEqual([`finance-agent start ${chatId} a`]);
    expect(calls.filter((x) => x.includes(' message ')).sort()).toEqual([
      `finance-agent message ${chatId} b`,
      `finance-agent message ${chatId} c`,
    ]);
  });

  it('concurrent sends after the chat expired open one new chat', async () => {
    const c = client();
    const old = (await c.threads.send('finance-agent', 'one')).chatId;
    expired.add(old);
    const [x, y] = await Promise.all([c.threads.send('finance-agent', 'x'), c.threads.send('finance-agent', 'y')]);
    // Both were refused in the old chat; one started the new chat, the other was sent there.
    expect(x.chatId).toBe(y.chatId);
    expect(x.chatId).not.toBe(old);
    const starts = calls.filter((line) => line.includes(' start '));
    expect(starts).toHaveLength(2);
    expect(starts[0]).toBe(`finance-agent start ${old} one`);
    expect(starts[1]).toMatch(new RegExp(`^finance-agent start ${x.chatId} [xy]$`));
    expect(calls.filter((line) => line.includes(` message ${x.chatId} `))).toHaveLength(1);
  });

  it('a send refused in the new chat too fails: a chat is restarted once per send', async () => {
    // Fake chat calls, to order the steps: both sends are refused in chat c1; the first restarts
    // (c2); the second waits for it, is refused in c2 as well, and fails instead of restarting again.
    const gone = (chatId: string): ArcResponseError =>
      new ArcResponseError(
        {
          arc: '1.0',
          id: 'r',
          responseAgent: 'a',
          targetAgent: 'c',
          traceId: null,
          result: null,
          error: { code: -43001, message: `Chat not found: ${chatId}`, details: {} },
        },
        404,
      );
    const starts: string[] = [];
    let chats = 0;
    const reply = (chatId: string): ArcSuccessResponse<ChatResult> => ({
      arc: '1.0',
      id: 'r',
      responseAgent: 'a',
      targetAgent: 'c',
      traceId: null,
      result: { type: 'chat', chat: { chatId, status: 'ACTIVE' } },
      error: null,
    });
    const threads = new ArcThreads({
      start: async (_agent, message) => {
        starts.push(typeof message === 'string' ? message : '?');
        return reply(`c${++chats}`);
      },
      message: async (_agent, chatId) => Promise.reject(gone(chatId)),
      end: async (_agent, chatId) => reply(chatId),
      startStream: () => Promise.reject(new Error('not used')),
      messageStream: () => Promise.reject(new Error('not used')),
    });
    await threads.send('a', 'first');
    const [x, y] = await Promise.allSettled([threads.send('a', 'x'), threads.send('a', 'y')]);
    expect(x).toMatchObject({ status: 'fulfilled', value: { chatId: 'c2' } });
    expect(y).toMatchObject({ status: 'rejected', reason: { code: -43001, message: 'Chat not found: c2' } });
    expect(starts).toEqual(['first', 'x']);
    expect(threads.chatId('a')).toBe('c2');
  });

  it('concurrent streamed sends share the chat the first stream opens', async () => {
    const c = client();
    const [first, second] = await Promise.all([c.threads.sendStream('finance-agent', 'a'), c.threads.sendStream('finance-agent', 'b')]);
    const [one, two] = await Promise.all([first.collect(), second.collect()]);
    expect(two.chatId).toBe(one.chatId);
    expect(calls.filter((x) => x.includes(' start '))).toHaveLength(1);
  });

  it('end and endAll close the chats and forget them', async () => {
    const c = client();
    const finance = (await c.threads.send('finance-agent', 'one')).chatId;
    await c.threads.send('hr-agent', 'two');
    await c.threads.end('finance-agent', 'done');
    expect(c.threads.chatId('finance-agent')).toBeUndefined();
    expect(((await rejection(c.chat.message('finance-agent', finance, 'more'))) as ArcResponseError).code).toBe(-43002);
    await c.threads.end('finance-agent');
    const hr = c.threads.chatId('hr-agent')!;
    await c.threads.endAll('bye');
    expect(c.threads.chatId('hr-agent')).toBeUndefined();
    expect(((await rejection(c.chat.message('hr-agent', hr, 'more'))) as ArcResponseError).code).toBe(-43002);
  });
});
