/**
 * hr-agent: answers salary and benefits questions (asking for the employee id or what the
 * caller wants to know); otherwise says what it handles. Follow-up messages are acknowledged.
 *
 * Tasks: a leave request (leave-request.ts). It needs the first and the last day (ISO dates in
 * any user message); while one is missing the task asks for it (INPUT_REQUIRED) and runs again,
 * from the start, when task.send brings the answer, so the handler decides from `task.messages`
 * alone. Dates that cannot be granted fail the task with -42004 and the reason.
 */
import { ArcAgent, messageText, type TaskContext, type TaskOutcome, type TaskView } from '@arc/core';
import { employeeOf, leaveDates, leaveRequest } from './leave-request';
import { setTimeout as work } from 'node:timers/promises';

/** TASK_WORK_MS, the service's own setting: how long a task's work takes (validated at start with arc-core's variables). */
export const TASK_WORK_MS = { type: 'integer', minimum: 0, maximum: 600_000, default: 3000 } as const;
const DEFAULT_WORK_MS = TASK_WORK_MS.default;

export const HR_AGENT_ID = 'hr-agent';

export const ASK_DATES =
  'Which dates do you need off? Please give the first and the last day as YYYY-MM-DD, for example 2026-12-21 to 2026-12-24.';

export interface HrAgentOptions {
  /** How long a task's work takes, in ms (TASK_WORK_MS; default 3000): time to watch, cancel or fail it over. */
  workMs?: number;
}

export function hrReply(text: string): string {
  const lower = text.toLowerCase();
  if (lower.includes('salary')) return 'I can help with salary inquiries. Please provide your employee ID.';
  if (lower.includes('benefit')) return 'I can explain our benefits package. What would you like to know?';
  return 'I handle HR matters: salary, benefits, leave. How can I assist?';
}

function leaveRequestTask(workMs: number) {
  return async (task: TaskView, ctx: TaskContext): Promise<TaskOutcome> => {
    const dates = leaveDates(task.messages);
    if (dates.found === 0) return ctx.requestInput(ASK_DATES);
    if (dates.found === 1) return ctx.requestInput(`Your leave starts on ${dates.start}. What is its last day (YYYY-MM-DD)?`);
    const request = leaveRequest(dates.start, dates.end, employeeOf(task.messages, task.metadata));
    await ctx.progress(`Checking the leave from ${request.start} to ${request.end} (${request.days} days)`);
    await work(Math.floor(workMs / 2), undefined, { signal: ctx.signal }); // ends at once on cancel
    await ctx.progress('Recording the leave request');
    await work(workMs - Math.floor(workMs / 2), undefined, { signal: ctx.signal }); // ends at once on cancel
    const who = request.employee !== undefined ? ` for ${request.employee}` : '';
    return {
      message: `Leave request recorded${who}: ${request.start} to ${request.end}, ${request.days} calendar day(s).`,
      artifacts: [{ name: 'leave-request', parts: [{ type: 'DataPart', content: request, mimeType: 'application/json' }] }],
    };
  };
}

export function createHrAgent(options: HrAgentOptions = {}): ArcAgent {
  const workMs = options.workMs ?? DEFAULT_WORK_MS;
  return new ArcAgent(HR_AGENT_ID, { description: 'Salary, payroll, benefits, leave, vacation, hiring and employee records' })
    .on('chat.start', (params) => hrReply(messageText(params.initialMessage)))
    .on('chat.message', (params) => `Let me check that for you: ${messageText(params.message)}`)
    .onTask(leaveRequestTask(workMs));
}
