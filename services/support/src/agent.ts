/**
 * support-agent: greets, and acknowledges follow-up messages with their content.
 *
 * Tasks: opens a support ticket (ticket.ts) for the request and completes with it.
 */
import { ArcAgent, messageText, type TaskContext, type TaskOutcome, type TaskView } from '@arc/core';
import { setTimeout as work } from 'node:timers/promises';
import { openTicket } from './ticket';

/** TASK_WORK_MS, the service's own setting: how long a task's work takes (validated at start with arc-core's variables). */
export const TASK_WORK_MS = { type: 'integer', minimum: 0, maximum: 600_000, default: 3000 } as const;
const DEFAULT_WORK_MS = TASK_WORK_MS.default;

export const SUPPORT_AGENT_ID = 'support-agent';

export const SUPPORT_GREETING = "Hi! I'm here to help with general support. What do you need?";

export interface SupportAgentOptions {
  /** How long a task's work takes, in ms (TASK_WORK_MS; default 3000): time to watch, cancel or fail it over. */
  workMs?: number;
}

function ticketTask(workMs: number) {
  return async (task: TaskView, ctx: TaskContext): Promise<TaskOutcome> => {
    const ticket = openTicket(task);
    await ctx.progress(`Ticket ${ticket.ticketId} opened`);
    await work(Math.floor(workMs / 2), undefined, { signal: ctx.signal }); // ends at once on cancel
    await ctx.progress(`Ticket ${ticket.ticketId} routed to the support queue`);
    await work(workMs - Math.floor(workMs / 2), undefined, { signal: ctx.signal }); // ends at once on cancel
    return {
      message: `Ticket ${ticket.ticketId} is open: "${ticket.subject}". Our support team will follow up.`,
      artifacts: [{ name: 'ticket', parts: [{ type: 'DataPart', content: ticket, mimeType: 'application/json' }] }],
    };
  };
}

export function createSupportAgent(options: SupportAgentOptions = {}): ArcAgent {
  const workMs = options.workMs ?? DEFAULT_WORK_MS;
  return new ArcAgent(SUPPORT_AGENT_ID, { description: 'General support: accounts, passwords, devices, tickets and anything else' })
    .on('chat.start', () => SUPPORT_GREETING)
    .on('chat.message', (params) => `I understand your concern: ${messageText(params.message)}. Let me help you.`)
    .onTask(ticketTask(workMs));
}
