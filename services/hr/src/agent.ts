/**
 * hr-agent: answers salary and benefits questions (asking for the employee id or what the
 * caller wants to know); otherwise says what it handles. Follow-up messages are acknowledged.
 */
import { ArcAgent, messageText } from '@arc/core';

export const HR_AGENT_ID = 'hr-agent';

export function hrReply(text: string): string {
  const lower = text.toLowerCase();
  if (lower.includes('salary')) return 'I can help with salary inquiries. Please provide your employee ID.';
  if (lower.includes('benefit')) return 'I can explain our benefits package. What would you like to know?';
  return 'I handle HR matters: salary, benefits, leave. How can I assist?';
}

export function createHrAgent(): ArcAgent {
  return new ArcAgent(HR_AGENT_ID, { description: 'Salary, benefits and leave' })
    .on('chat.start', (params) => hrReply(messageText(params.initialMessage)))
    .on('chat.message', (params) => `Let me check that for you: ${messageText(params.message)}`);
}
