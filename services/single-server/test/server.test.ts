import { MemoryChatStore, silentLogger, loadConfig } from '@arc/core';
import { createServer, DEFAULTS } from '../src/server';

const AGENTS = ['finance-agent', 'hr-agent', 'support-agent', 'supervisor'];

test('mounts the three agents and the supervisor on one server with the guide defaults', async () => {
  const config = loadConfig({}, DEFAULTS);
  expect(config.PORT).toBe(8000);
  const chatStore = new MemoryChatStore();
  const server = createServer({ config, logger: silentLogger, chatStore });
  expect(server.router.agentList.map((a) => a.id)).toEqual(AGENTS);
  const addr = await server.listen(0, '127.0.0.1');
  const info: any = await (await fetch(`${addr.url}/agent-info`)).json();
  expect(info.totalAgents).toBe(AGENTS.length);
  await server.close({ graceMs: 100 });
});

test('the supervisor routes to the agents mounted beside it, in process', async () => {
  const config = loadConfig({}, DEFAULTS);
  const server = createServer({ config, logger: silentLogger, chatStore: new MemoryChatStore() });
  const addr = await server.listen(0, '127.0.0.1');
  try {
    const res = await fetch(`${addr.url}/arc`, {
      method: 'POST',
      body: JSON.stringify({
        arc: '1.0',
        id: '1',
        method: 'chat.start',
        requestAgent: 'me',
        targetAgent: 'supervisor',
        params: { initialMessage: { role: 'user', parts: [{ type: 'TextPart', content: 'invoice question' }] } },
      }),
    });
    const body: any = await res.json();
    expect(body.error).toBeNull();
    expect(body.responseAgent).toBe('supervisor');
    expect(body.result.chat.message.parts[0].content).toBe('I can help with invoice inquiries. Please provide invoice number.');
  } finally {
    await server.close({ graceMs: 100 });
  }
});
