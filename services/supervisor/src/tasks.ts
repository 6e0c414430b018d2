/**
 * Tasks through the supervisor. task.create goes to the routed specialist; the id the caller
 * gets back names that specialist, `<agent>~<its taskId>`, so every later task call (info, send,
 * cancel, subscribe) finds its way from the id alone, on any supervisor replica, with nothing
 * stored. Results come back as the specialist gave them, the task id rewritten.
 *
 * Webhook deliveries of a subscription come from the specialist itself, with its own task id
 * (the part after `~`) and its own signature: docs/operations.md says so.
 */
import { ArcError, ArcErrorCode, type ArcMethods, type HandlerContext } from '@arc/core';

export const TASK_ID_SEPARATOR = '~';

export type ForwardedTaskMethod = 'task.create' | 'task.info' | 'task.send' | 'task.cancel' | 'task.subscribe';

/** `<agent>~<taskId>` → its parts; undefined when it is not a supervisor task id of a specialist. */
export function splitTaskId(id: string, specialists: ReadonlySet<string>): { agent: string; taskId: string } | undefined {
  const at = id.indexOf(TASK_ID_SEPARATOR);
  if (at <= 0 || at === id.length - 1) return undefined;
  const agent = id.slice(0, at);
  return specialists.has(agent) ? { agent, taskId: id.slice(at + 1) } : undefined;
}

/** The specialist's answer, with its task id as the supervisor's. */
function rewrite(result: unknown, agent: string): unknown {
  if (result === null || typeof result !== 'object') return result;
  const r = result as Record<string, unknown>;
  for (const key of ['task', 'subscription'] as const) {
    const inner = r[key];
    if (inner !== null && typeof inner === 'object' && typeof (inner as { taskId?: unknown }).taskId === 'string') {
      return { ...r, [key]: { ...(inner as object), taskId: `${agent}${TASK_ID_SEPARATOR}${(inner as { taskId: string }).taskId}` } };
    }
  }
  return result;
}

/**
 * One task call, forwarded. `agent`: the routed specialist of a task.create; for the others it
 * comes from params.taskId (an id that names no specialist is -42001, like any unknown task).
 */
export async function forwardTask<M extends ForwardedTaskMethod>(
  ctx: HandlerContext,
  method: M,
  params: ArcMethods[M]['params'],
  agent: string | undefined,
  specialists: ReadonlySet<string>,
): Promise<ArcMethods[M]['result']> {
  let forwarded: Record<string, unknown> = { ...params };
  let target = agent;
  if (method !== 'task.create') {
    const id = String((params as { taskId?: unknown }).taskId ?? '');
    const parts = splitTaskId(id, specialists);
    if (parts === undefined) {
      throw new ArcError(ArcErrorCode.TaskNotFound, `Task ${id.slice(0, 256)} not found`, { taskId: id.slice(0, 256) });
    }
    target = parts.agent;
    forwarded = { ...forwarded, taskId: parts.taskId };
  }
  const result = await ctx.agents.request(target!, method, forwarded, { signal: ctx.signal });
  return rewrite(result, target!) as ArcMethods[M]['result'];
}
