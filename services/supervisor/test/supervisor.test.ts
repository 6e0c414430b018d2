/**
 * The supervisor in process: mounted on one router with three specialists that say what they
 * received, so each test sees where a request went, with which chatId, from whom, and under
 * which traceId.
 */
import { ArcAgent, ArcRouter, messageText, type ArcReply, type SseEvent } from '@arc/core';
import { createSupervisorAgent, inProcessDirectory, type SupervisorOptions } from '../src/agent';

type Json = any;

/** A specialist that answers "<id> got '<text>' in <chatId> from <requestAgent> [trace <traceId>]". */
function specialist(id: string, description: string): ArcAgent {
  const say = (text: string, ctx: { chat?: { chatId: string } | undefined; requestAgent: string; traceId: string | undefined }) =>
    `${id} got '${text}' in ${ctx.chat?.chatId} from ${ctx.requestAgent} trace ${ctx.traceId}`;
  return new ArcAgent(id, { description })
    .on('chat.start', (p, ctx) => {
      const reply = say(messageText(p.initialMessage), ctx);
      if (!ctx.stream) return reply;
      return (async function* () {
        for (const word of reply.split(' ')) yield `${word} `;
      })();
    })
    .on('chat.message', (p, ctx) => {
      const reply = say(messageText(p.message), ctx);
      if (!ctx.stream) return reply;
      return (async function* () {
        for (const word of reply.split(' ')) yield `${word} `;
      })();
    })
    .onTask(async (task) => ({ message: `${id} did: ${messageText(task.messages[0])}` }));
}

const routers: ArcRouter[] = [];
afterAll(async () => {
  for (const r of routers) await r.close();
});

function setup(options: SupervisorOptions = {}): ArcRouter {
  const router = new ArcRouter({ serverId: 'test' });
  routers.push(router);
  router.addAgent(specialist('finance-agent', 'Invoices, payments, budgets, expenses, billing and refunds'));
  router.addAgent(specialist('hr-agent', 'Salary, payroll, benefits, leave, vacation, hiring and employee records'));
  router.addAgent(specialist('support-agent', 'General support: accounts, passwords, devices, tickets and anything else'));
  router.addAgent(specialist('travel-agent', 'Flights, hotels and trips'));
  router.addAgent(
    createSupervisorAgent({
      specialists: ['finance-agent', 'hr-agent', 'support-agent', 'travel-agent'],
      directory: inProcessDirectory(() => router.agentList, { exclude: ['supervisor'] }),
      ...options,
    }),
  );
  return router;
}

let seq = 0;
function call(router: ArcRouter, method: string, params: Json, extra: Json = {}): Promise<ArcReply> {
  return router.handle({ arc: '1.0', id: `r${++seq}`, method, requestAgent: 'client', targetAgent: 'supervisor', params, ...extra });
}
const user = (text: string) => ({ role: 'user', parts: [{ type: 'TextPart', content: text }] });
async function json(p: Promise<ArcReply>): Promise<Json> {
  const r = await p;
  if (r.kind !== 'json') throw new Error('expected JSON, got a stream');
  return r.body;
}
async function events(p: Promise<ArcReply>): Promise<SseEvent[]> {
  const r = await p;
  if (r.kind !== 'stream') throw new Error(`expected a stream, got ${JSON.stringify(r.body)}`);
  const out: SseEvent[] = [];
  for await (const e of r.events) out.push(e);
  return out;
}
const replyOf = (body: Json): string => body.result.chat.message.parts[0].content;
const streamedText = (evs: SseEvent[]) =>
  evs
    .filter((e) => e.event === 'stream')
    .map((e) => (e.data as Json).message.parts[0].content)
    .join('');

describe('routing a new conversation', () => {
  it.each([
    ['I have a question about an invoice', 'finance-agent'],
    ['Two PAYMENTS failed', 'finance-agent'],
    ['our budget for Q3', 'finance-agent'],
    ['expenses report', 'finance-agent'],
    ['what is my salary', 'hr-agent'],
    ['benefits please', 'hr-agent'],
    ['I want to take leave', 'hr-agent'],
    ['vacation days', 'hr-agent'],
    ['new employee onboarding', 'hr-agent'],
    ['book a hotel in Lyon', 'travel-agent'], // no rule: the description decides
    ['my printer is on fire', 'support-agent'], // nothing decides: the fallback
  ])('%s → %s', async (text, agent) => {
    const body = await json(call(setup(), 'chat.start', { initialMessage: user(text) }));
    expect(body.error).toBeNull();
    expect(replyOf(body)).toMatch(new RegExp(`^${agent} got '${text}' in chat-\\w+ from supervisor`));
    expect(body.responseAgent).toBe('supervisor');
  });

  it('a custom policy is asked first; undefined leaves it to the rules', async () => {
    const asked: string[] = [];
    const router = setup({
      policy: ({ text, agents }) => {
        asked.push(`${text} [${agents.map((a) => a.id).join(',')}]`);
        return text.includes('urgent') ? { agent: 'support-agent', reason: 'urgent' } : undefined;
      },
    });
    expect(replyOf(await json(call(router, 'chat.start', { initialMessage: user('urgent invoice') })))).toMatch(/^support-agent got/);
    expect(replyOf(await json(call(router, 'chat.start', { initialMessage: user('invoice') })))).toMatch(/^finance-agent got/);
    expect(asked).toEqual([
      'urgent invoice [finance-agent,hr-agent,support-agent,travel-agent]',
      'invoice [finance-agent,hr-agent,support-agent,travel-agent]',
    ]);
  });

  it('a policy naming an agent that is not a specialist is an internal error, and no chat is left', async () => {
    const router = setup({ policy: () => 'supervisor' });
    const body = await json(call(router, 'chat.start', { initialMessage: user('hi'), chatId: 'chat-bad-policy' }));
    expect(body.error.code).toBe(-32603);
    expect(await router.chatStore.get('supervisor', 'chat-bad-policy')).toBeUndefined();
  });
});

describe('a conversation sticks to its specialist', () => {
  it('chat.message goes to the same specialist chat, not routed again; chat.end ends both', async () => {
    const router = setup();
    const start = await json(call(router, 'chat.start', { initialMessage: user('invoice INV-1') }));
    const chatId = start.result.chat.chatId as string;
    const first = replyOf(start);
    const specialistChat = /in (chat-\w+)/.exec(first)![1]!;
    expect(specialistChat).not.toBe(chatId);
    // "salary" would route to HR; the conversation stays with finance, in the same chat.
    const next = await json(call(router, 'chat.message', { chatId, message: user('and my salary?') }));
    expect(next.result.chat.chatId).toBe(chatId);
    expect(replyOf(next)).toMatch(
      new RegExp(`^finance-agent got 'and my salary\\?' in ${specialistChat} from supervisor trace [0-9a-f]{32}$`),
    );
    const end = await json(call(router, 'chat.end', { chatId, reason: 'done' }));
    expect(end.result.chat).toMatchObject({ chatId, status: 'CLOSED', reason: 'done' });
    expect(await router.chatStore.get('finance-agent', specialistChat)).toMatchObject({ status: 'CLOSED', reason: 'done' });
    // Closed: both say so.
    expect((await json(call(router, 'chat.message', { chatId, message: user('x') }))).error.code).toBe(-43002);
  });

  it('an unknown supervisor chat is -43001 and reaches no specialist', async () => {
    const router = setup();
    const body = await json(call(router, 'chat.message', { chatId: 'chat-nope', message: user('invoice') }));
    expect(body.error).toMatchObject({ code: -43001, details: { chatId: 'chat-nope' } });
    expect((await json(call(router, 'chat.end', { chatId: 'chat-nope' }))).error.code).toBe(-43001);
  });

  it('a specialist chat that is gone there is started again once, with the same specialist', async () => {
    const router = setup();
    const start = await json(call(router, 'chat.start', { initialMessage: user('salary') }));
    const chatId = start.result.chat.chatId as string;
    const old = /in (chat-\w+)/.exec(replyOf(start))![1]!;
    await router.chatStore.delete('hr-agent', old); // expired at the specialist
    const next = replyOf(await json(call(router, 'chat.message', { chatId, message: user('still there?') })));
    const fresh = /in (chat-\w+)/.exec(next)![1]!;
    expect(next).toMatch(/^hr-agent got 'still there\?'/);
    expect(fresh).not.toBe(old);
    // …and the conversation goes on in the new one.
    expect(replyOf(await json(call(router, 'chat.message', { chatId, message: user('ok') })))).toContain(`in ${fresh}`);
  });

  it('chat.end still closes the supervisor chat when the specialist chat is already closed', async () => {
    const router = setup();
    const start = await json(call(router, 'chat.start', { initialMessage: user('invoice') }));
    const chatId = start.result.chat.chatId as string;
    const specialistChat = /in (chat-\w+)/.exec(replyOf(start))![1]!;
    await router.chatStore.close('finance-agent', specialistChat, null, new Date().toISOString());
    expect((await json(call(router, 'chat.end', { chatId }))).result.chat.status).toBe('CLOSED');
  });

  it('carries the traceId to the specialist and echoes it', async () => {
    const router = setup();
    const body = await json(call(router, 'chat.start', { initialMessage: user('invoice') }, { traceId: 'trace-sup-1' }));
    expect(body.traceId).toBe('trace-sup-1');
    expect(replyOf(body)).toMatch(/trace trace-sup-1$/);
  });
});

describe('streaming is relayed', () => {
  it('chat.start and chat.message with stream: true arrive chunk by chunk under the supervisor chatId', async () => {
    const router = setup();
    const started = await events(call(router, 'chat.start', { initialMessage: user('invoice'), stream: true }));
    const stream = started.filter((e) => e.event === 'stream');
    expect(stream.length).toBeGreaterThan(5); // one per word, not one block
    const chatId = (stream[0]!.data as Json).chatId as string;
    for (const e of started) expect((e.data as Json).chatId).toBe(chatId);
    expect(started.at(-1)).toMatchObject({ event: 'done', data: { chatId, status: 'ACTIVE', done: true } });
    const specialistChat = /in (chat-\w+)/.exec(streamedText(started))![1]!;
    expect(specialistChat).not.toBe(chatId);

    const next = await events(call(router, 'chat.message', { chatId, message: user('more'), stream: true }));
    expect(streamedText(next).trim()).toMatch(
      new RegExp(`^finance-agent got 'more' in ${specialistChat} from supervisor trace [0-9a-f]{32}$`),
    );
    // A plain message after a streamed one continues the same specialist chat.
    expect(replyOf(await json(call(router, 'chat.message', { chatId, message: user('plain') })))).toContain(`in ${specialistChat}`);
  });
});

describe('tasks are forwarded', () => {
  it('task.create is routed; its id names the specialist; task.info finds it', async () => {
    const router = setup();
    const created = await json(call(router, 'task.create', { initialMessage: user('an expense report') }));
    const taskId = created.result.task.taskId as string;
    expect(taskId).toMatch(/^finance-agent~/);
    let info: Json;
    for (;;) {
      info = await json(call(router, 'task.info', { taskId }));
      if (info.result.task.status === 'COMPLETED') break;
      await new Promise((r) => setImmediate(r));
    }
    expect(info.result.task.taskId).toBe(taskId);
    expect(JSON.stringify(info.result.task.messages)).toContain('finance-agent did: an expense report');
  });

  it.each(['task-1', 'nobody~task-1', 'supervisor~x', '~x', 'finance-agent~'])(
    'an id that names no specialist (%s) is -42001',
    async (taskId) => {
      const body = await json(call(setup(), 'task.info', { taskId }));
      expect(body.error.code).toBe(-42001);
    },
  );
});
