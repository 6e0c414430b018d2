/** When to read a task again (task.info): soon after a change, then less and less often. */

export const POLL_FIRST_MS = 250;
export const POLL_MAX_MS = 3000;
export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(['COMPLETED', 'FAILED', 'CANCELED']);

/** The delay before the next task.info: back to the first after a change, else 1.6 times the last, at most POLL_MAX_MS. */
export function nextPollDelay(lastMs: number, changed: boolean): number {
  if (changed || lastMs <= 0) return POLL_FIRST_MS;
  return Math.min(POLL_MAX_MS, Math.round(lastMs * 1.6));
}
