import { ArcRouter } from '@arc/core';
import { createFinanceAgent, financeReply } from '../src/agent';

const router = new ArcRouter({ serverId: 'test' });
router.addAgent(createFinanceAgent());
const say = async (method: string, params: Record<string, unknown>) =>
  router.handle({ arc: '1.0', id: 'x', method, requestAgent: 't', targetAgent: 'finance-agent', params });
const text = (content: string) => ({ role: 'user', parts: [{ type: 'text', content }] });

test.each([
  ['Where is my INVOICE?', 'I can help with invoice inquiries. Please provide invoice number.'],
  ['payment status please', "I can assist with payment processing. What's your payment ID?"],
  ['hello', 'I handle invoices, payments, and budgets. How can I help?'],
])('chat.start "%s"', (input, expected) => {
  expect(financeReply(input)).toBe(expected);
});

test('a conversation through the router: start, follow-up acknowledged with its content', async () => {
  const start: any = await say('chat.start', { initialMessage: text('invoice') });
  const chatId = start.body.result.chat.chatId;
  const msg: any = await say('chat.message', { chatId, message: text('INV-9') });
  expect(msg.body.result.chat.message.parts[0].content).toBe('Processing your request: INV-9');
});
