import { ArcAgent, ArcError, ArcErrorCode, messageText } from '@arc/core';
import { createArcServer } from '@arc/core/express';

const agent = new ArcAgent('echo-agent')
  .on('chat.start', (params) => `You said: ${messageText(params.initialMessage)}`)
  .on('chat.message', async function* (params) {
    // a generator streams its chunks
    yield 'Thinking… ';
    yield messageText(params.message);
  })
  .on('task.create', () => {
    throw new ArcError(ArcErrorCode.TaskExecution, 'Tasks are not supported yet');
  });

await createArcServer({ serverId: 'echo-server' })
  .addAgent(agent)
  .listen(Number(process.env.PORT ?? 9000));
// or the guide's style: server.agentHandler('echo-agent', 'chat.start', async (params, context) => ...)
