import { ArcRouter } from '@arc/core';
import { SUPPORT_GREETING, createSupportAgent } from '../src/agent';

const router = new ArcRouter({ serverId: 'test' });
router.addAgent(createSupportAgent());
const text = (content: string) => ({ role: 'user', parts: [{ type: 'text', content }] });

test('greets, then acknowledges follow-ups with their content', async () => {
  const start: any = await router.handle({
    arc: '1.0',
    id: 1,
    method: 'chat.start',
    requestAgent: 't',
    targetAgent: 'support-agent',
    params: { initialMessage: text('anything') },
  });
  expect(start.body.result.chat.message.parts[0].content).toBe(SUPPORT_GREETING);
  const chatId = start.body.result.chat.chatId;
  const msg: any = await router.handle({
    arc: '1.0',
    id: 2,
    method: 'chat.message',
    requestAgent: 't',
    targetAgent: 'support-agent',
    params: { chatId, message: text('printer jammed') },
  });
  expect(msg.body.result.chat.message.parts[0].content).toBe('I understand your concern: printer jammed. Let me help you.');
});
