/** support-agent: greets, and acknowledges follow-up messages with their content. */
import { ArcAgent, messageText } from '@arc/core';

export const SUPPORT_AGENT_ID = 'support-agent';

export const SUPPORT_GREETING = "Hi! I'm here to help with general support. What do you need?";

export function createSupportAgent(): ArcAgent {
  return new ArcAgent(SUPPORT_AGENT_ID, { description: 'General support' })
    .on('chat.start', () => SUPPORT_GREETING)
    .on('chat.message', (params) => `I understand your concern: ${messageText(params.message)}. Let me help you.`);
}
