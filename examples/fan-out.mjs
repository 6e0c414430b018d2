// Fan-out: one agent asks several others the same question at once and answers with what came
// back in time. `briefing-agent` runs here, on a port of its own; the specialists are those of
// the single server (`npm start`), reached over HTTP; `legal-agent` is routed to an address where
// nothing listens, to show a failed call among the answers.
// Usage: node examples/fan-out.mjs ["question"] [http://localhost:8000/arc]
import { ArcAgent, fanOut, messageText } from '@arc/core';
import { createArcServer } from '@arc/core/express';
import { ArcClient } from '@arc/core/client';

const question = process.argv[2] ?? 'What do I need to know before my budget review?';
const specialists = process.argv[3] ?? process.env.ARC_URL ?? 'http://localhost:8000/arc';
const asked = ['finance-agent', 'hr-agent', 'support-agent', 'legal-agent'];

const briefing = new ArcAgent('briefing-agent').on('chat.start', async (params, ctx) => {
  const text = messageText(params.initialMessage);
  // One call per agent: start a chat, keep its first answer, end it. At most 3 at a time, 2 s in all.
  const calls = Object.fromEntries(
    asked.map((agent) => [
      agent,
      async (signal) => {
        const { chat } = await ctx.agents.chat.start(agent, text, { signal });
        await ctx.agents.chat.end(agent, chat.chatId, 'briefing done', { signal });
        return messageText(chat.message);
      },
    ]),
  );
  const { results, complete } = await fanOut(calls, { timeoutMs: 2000, concurrency: 3, signal: ctx.signal });
  const lines = Object.entries(results).map(([agent, r]) =>
    r.status === 'ok'
      ? `${agent}: ${r.value}`
      : r.status === 'failed'
        ? `${agent}: failed (${r.error.code})`
        : `${agent}: no answer in time`,
  );
  return `${complete ? 'Answers' : 'Answers within 2 s'} to "${text}":\n${lines.join('\n')}`;
});

const server = createArcServer({
  serverId: 'briefing-server',
  agentCalls: {
    routes: {
      'finance-agent': specialists,
      'hr-agent': specialists,
      'support-agent': specialists,
      'legal-agent': 'http://127.0.0.1:9/arc',
    },
    timeoutMs: 2000,
  },
}).addAgent(briefing);
const { port } = await server.listen(0, '127.0.0.1');

try {
  const client = new ArcClient(`http://127.0.0.1:${port}/arc`, { requestAgent: 'fan-out-example' });
  const { result } = await client.chat.start('briefing-agent', question);
  console.log(messageText(result.chat.message));
} finally {
  await server.close();
}
