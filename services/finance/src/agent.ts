/**
 * finance-agent: answers invoice and payment questions (asking for the invoice number or the
 * payment id); otherwise says what it handles. Follow-up messages are acknowledged.
 *
 * Tasks: an invoice summary report (invoice-report.ts). The invoice number (`INV-12345`) may be
 * in any user message; without one the task asks for it (INPUT_REQUIRED) and runs again, from
 * the start, when task.send brings the answer, so the handler decides from `task.messages` alone.
 */
import { ArcAgent, messageText, type TaskContext, type TaskOutcome, type TaskView } from '@arc/core';
import { KNOWN_INVOICES, invoiceSummary, requestedInvoice, summaryText } from './invoice-report';
import { setTimeout as work } from 'node:timers/promises';

/** TASK_WORK_MS, the service's own setting: how long a task's work takes (validated at start with arc-core's variables). */
export const TASK_WORK_MS = { type: 'integer', minimum: 0, maximum: 600_000, default: 3000 } as const;
const DEFAULT_WORK_MS = TASK_WORK_MS.default;

export const FINANCE_AGENT_ID = 'finance-agent';

export const ASK_INVOICE = 'Which invoice number should the report cover?';

export interface FinanceAgentOptions {
  /** How long a task's work takes, in ms (TASK_WORK_MS; default 3000): time to watch, cancel or fail it over. */
  workMs?: number;
}

export function financeReply(text: string): string {
  const lower = text.toLowerCase();
  if (lower.includes('invoice')) return 'I can help with invoice inquiries. Please provide invoice number.';
  if (lower.includes('payment')) return "I can assist with payment processing. What's your payment ID?";
  return 'I handle invoices, payments, and budgets. How can I help?';
}

/** The invoice report task: collect the invoice, compute its totals, return the summary. */
function invoiceReportTask(workMs: number) {
  return async (task: TaskView, ctx: TaskContext): Promise<TaskOutcome> => {
    const invoice = requestedInvoice(task.messages);
    if (invoice === undefined) return ctx.requestInput(ASK_INVOICE);
    const summary = invoiceSummary(invoice);
    if (!summary) {
      return ctx.requestInput(`Invoice ${invoice} is not in the ledger (it holds ${KNOWN_INVOICES.join(', ')}). ${ASK_INVOICE}`);
    }
    await ctx.progress(`Collecting invoice ${invoice}`);
    await work(Math.floor(workMs / 2), undefined, { signal: ctx.signal }); // ends at once on cancel
    await ctx.progress('Computing totals');
    await work(workMs - Math.floor(workMs / 2), undefined, { signal: ctx.signal }); // ends at once on cancel
    const text = summaryText(summary);
    return {
      message: `Invoice summary for ${invoice} is ready: total ${summary.totals.total.toFixed(2)} ${summary.currency}.`,
      // Returned rather than added with ctx.artifact: stored with the completion in one change,
      // so a run that is tried again (after a crash) cannot leave the report twice.
      artifacts: [
        {
          name: 'invoice-summary',
          description: `Summary of invoice ${invoice}`,
          parts: [{ type: 'DataPart', content: summary, mimeType: 'application/json' }, text],
        },
      ],
    };
  };
}

/** A new finance agent (one per server: an agent holds its handlers, not state). */
export function createFinanceAgent(options: FinanceAgentOptions = {}): ArcAgent {
  const workMs = options.workMs ?? DEFAULT_WORK_MS;
  return new ArcAgent(FINANCE_AGENT_ID, { description: 'Invoices, payments, budgets, expenses, billing and refunds' })
    .on('chat.start', (params) => financeReply(messageText(params.initialMessage)))
    .on('chat.message', (params) => `Processing your request: ${messageText(params.message)}`)
    .onTask(invoiceReportTask(workMs));
}
