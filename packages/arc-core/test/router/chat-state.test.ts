/**
 * HandlerContext.saveChatState: what an agent keeps with a chat between its requests (a
 * supervisor's specialist, say), read back as `ctx.chat.state` by the chat's next requests.
 */
import { ArcAgent, type HandlerContext } from '../../src/router/agent';
import { ArcRouter } from '../../src/router/router';
import { MAX_CHAT_STATE_BYTES } from '../../src/router/chat-lifecycle';
import { envelope, jsonReply, streamEvents, userMessage } from '../support/util';

const routers: ArcRouter[] = [];
afterAll(async () => {
  for (const r of routers) await r.chatStore.dispose();
});

/** An agent that counts the messages of each chat in its state and reports what it saw. */
function countingRouter(): { router: ArcRouter; seen: Array<Record<string, unknown> | undefined> } {
  const seen: Array<Record<string, unknown> | undefined> = [];
  const remember = async (ctx: HandlerContext): Promise<string> => {
    seen.push(ctx.chat?.state);
    const count = ((ctx.chat?.state?.count as number | undefined) ?? 0) + 1;
    await ctx.saveChatState({ count, last: ctx.method });
    return `message ${count}`;
  };
  const router = new ArcRouter({ serverId: 'test-server' });
  routers.push(router);
  router.addAgent(
    new ArcAgent('agent-a')
      .on('chat.start', (_p, ctx) => remember(ctx))
      .on('chat.message', async (_p, ctx) => {
        if (!ctx.stream) return remember(ctx);
        const text = await remember(ctx);
        return (async function* () {
          yield text;
        })();
      })
      .on('chat.end', (_p, ctx) => {
        seen.push(ctx.chat?.state);
      })
      .on('not-a-chat', async (_p, ctx) => {
        await ctx.saveChatState({ x: 1 });
        return 'saved';
      }),
  );
  return { router, seen };
}

const start = () => envelope('chat.start', { initialMessage: userMessage('hi') });
const message = (chatId: string, extra: Record<string, unknown> = {}) =>
  envelope('chat.message', { chatId, message: userMessage('more'), ...extra });

describe('saveChatState', () => {
  it('keeps state from chat.start for chat.message (plain and streamed) and chat.end', async () => {
    const { router, seen } = countingRouter();
    const started = await jsonReply(router.handle(start()));
    const chatId = started.body.result.chat.chatId as string;
    expect(started.body.result.chat.message.parts[0].content).toBe('message 1');
    const second = await jsonReply(router.handle(message(chatId)));
    expect(second.body.result.chat.message.parts[0].content).toBe('message 2');
    const events = await streamEvents(router.handle(message(chatId, { stream: true })));
    expect(events[0]!.data).toMatchObject({ message: { parts: [{ content: 'message 3' }] } });
    await jsonReply(router.handle(envelope('chat.end', { chatId })));
    expect(seen).toEqual([
      undefined,
      { count: 1, last: 'chat.start' },
      { count: 2, last: 'chat.message' },
      { count: 3, last: 'chat.message' },
    ]);
    // The client never sees it.
    expect(JSON.stringify(started.body)).not.toContain('count');
  });

  it('keeps each chat its own state', async () => {
    const { router } = countingRouter();
    const a = (await jsonReply(router.handle(start()))).body.result.chat.chatId as string;
    const b = (await jsonReply(router.handle(start()))).body.result.chat.chatId as string;
    await jsonReply(router.handle(message(a)));
    await jsonReply(router.handle(message(a)));
    expect((await router.chatStore.get('agent-a', a))?.state).toEqual({ count: 3, last: 'chat.message' });
    expect((await router.chatStore.get('agent-a', b))?.state).toEqual({ count: 1, last: 'chat.start' });
  });

  it('a state larger than the limit is an internal error, and nothing is kept', async () => {
    const router = new ArcRouter({ serverId: 'test-server' });
    routers.push(router);
    router.addAgent(
      new ArcAgent('agent-a').on('chat.start', async (_p, ctx) => {
        await ctx.saveChatState({ blob: 'x'.repeat(MAX_CHAT_STATE_BYTES) });
        return 'never';
      }),
    );
    const { status, body } = await jsonReply(router.handle(start()));
    expect(status).toBe(500);
    expect(body.error.code).toBe(-32603);
    expect(body.error.message).not.toContain('bytes'); // the handler's mistake is logged, not told
  });

  it('outside a chat request it is a handler mistake (-32603)', async () => {
    const { router } = countingRouter();
    const { body } = await jsonReply(router.handle(envelope('not-a-chat', {})));
    expect(body.error.code).toBe(-32603);
  });
});
