/**
 * finance-agent: answers invoice and payment questions (asking for the invoice number or the
 * payment id); otherwise says what it handles. Follow-up messages are acknowledged.
 */
import { ArcAgent, messageText } from '@arc/core';

export const FINANCE_AGENT_ID = 'finance-agent';

export function financeReply(text: string): string {
  const lower = text.toLowerCase();
  if (lower.includes('invoice')) return 'I can help with invoice inquiries. Please provide invoice number.';
  if (lower.includes('payment')) return "I can assist with payment processing. What's your payment ID?";
  return 'I handle invoices, payments, and budgets. How can I help?';
}

/** A new finance agent (one per server: an agent holds its handlers, not state). */
export function createFinanceAgent(): ArcAgent {
  return new ArcAgent(FINANCE_AGENT_ID, { description: 'Invoices, payments and budgets' })
    .on('chat.start', (params) => financeReply(messageText(params.initialMessage)))
    .on('chat.message', (params) => `Processing your request: ${messageText(params.message)}`);
}
