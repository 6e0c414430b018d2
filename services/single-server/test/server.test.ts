import { MemoryChatStore, silentLogger, loadConfig } from '@arc/core';
import { createServer, DEFAULTS } from '../src/server';

test('mounts the three agents on one server with the guide defaults', async () => {
  const config = loadConfig({}, DEFAULTS);
  expect(config.PORT).toBe(8000);
  const chatStore = new MemoryChatStore();
  const server = createServer({ config, logger: silentLogger, chatStore });
  expect(server.router.agentList.map((a) => a.id)).toEqual(['finance-agent', 'hr-agent', 'support-agent']);
  const addr = await server.listen(0, '127.0.0.1');
  const info: any = await (await fetch(`${addr.url}/agent-info`)).json();
  expect(info.totalAgents).toBe(3);
  await server.close({ graceMs: 100 });
});
