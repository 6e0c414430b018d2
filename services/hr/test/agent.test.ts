import { ArcRouter } from '@arc/core';
import { createHrAgent, hrReply } from '../src/agent';

const router = new ArcRouter({ serverId: 'test' });
router.addAgent(createHrAgent());
const text = (content: string) => ({ role: 'user', parts: [{ type: 'text', content }] });

test.each([
  ['My Salary is late', 'I can help with salary inquiries. Please provide your employee ID.'],
  ['what benefits do I get', 'I can explain our benefits package. What would you like to know?'],
  ['hello', 'I handle HR matters: salary, benefits, leave. How can I assist?'],
])('chat.start "%s"', (input, expected) => {
  expect(hrReply(input)).toBe(expected);
});

test('a follow-up is acknowledged with its content', async () => {
  const start: any = await router.handle({
    arc: '1.0',
    id: 1,
    method: 'chat.start',
    requestAgent: 't',
    targetAgent: 'hr-agent',
    params: { initialMessage: text('salary') },
  });
  const chatId = start.body.result.chat.chatId;
  const msg: any = await router.handle({
    arc: '1.0',
    id: 2,
    method: 'chat.message',
    requestAgent: 't',
    targetAgent: 'hr-agent',
    params: { chatId, message: text('E-77') },
  });
  expect(msg.body.result.chat.message.parts[0].content).toBe('Let me check that for you: E-77');
});
