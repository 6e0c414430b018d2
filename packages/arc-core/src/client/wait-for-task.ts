/**
 * Waiting for a task to finish by polling task.info (client.task.waitFor):
 *
 *   const task = await client.task.waitFor('finance-agent', taskId, {
 *     until: ['COMPLETED', 'FAILED', 'CANCELED', 'INPUT_REQUIRED'],   // default: the terminal three
 *     timeoutMs: 60_000,
 *     onProgress: (t) => console.log(t.status, t.statusMessage ?? ''),
 *   });
 *
 * Polls back off: `intervalMs` (200 ms) doubling up to `maxIntervalMs` (5 s), and start again
 * from `intervalMs` whenever the task changed, since a task that moves tends to move again soon.
 * Once the task has been seen, a poll that fails on the way (no answer, a proxy's 502/503/504, an
 * agent briefly unavailable, a rate limit) is tried again until the deadline, after at least its
 * Retry-After: a replica restarting under a load balancer does not end the wait. The first poll's
 * error (an unknown task, a wrong URL) and any other ARC error end it at once.
 */
import type { TaskStatus } from '../protocol/types';
import { ArcResponseError, ArcTimeoutError, ArcTransportError, ArcWaitTimeoutError } from './errors';
import type { TaskInfo } from './task-types';

export interface WaitForTaskOptions {
  /** Statuses that end the wait (default: COMPLETED, FAILED, CANCELED). */
  until?: readonly TaskStatus[];
  /** Longest wait before ArcWaitTimeoutError (default 600000: the engine's default time per run). */
  timeoutMs?: number;
  /** First pause between polls (default 200). */
  intervalMs?: number;
  /** Longest pause between polls (default 5000). */
  maxIntervalMs?: number;
  /** Called with the first task seen and with every one whose status, statusMessage, messages or artifacts changed; awaited. */
  onProgress?: (task: TaskInfo) => void | Promise<void>;
  /** Ends the wait, rejecting with the signal's reason. */
  signal?: AbortSignal;
  /** Sent with every task.info (default true; without them, changes of messages or artifacts are not seen). */
  includeMessages?: boolean;
  includeArtifacts?: boolean;
  traceId?: string;
}

export const WAIT_DEFAULTS = Object.freeze({ timeoutMs: 600_000, intervalMs: 200, maxIntervalMs: 5000 });

const TERMINAL: readonly TaskStatus[] = ['COMPLETED', 'FAILED', 'CANCELED'];
const STATUSES: readonly TaskStatus[] = ['SUBMITTED', 'WORKING', 'INPUT_REQUIRED', ...TERMINAL];

/** One task.info, given the time left (its request timeout) and the signal. */
export type TaskPoll = (timeoutMs: number, signal: AbortSignal | undefined) => Promise<TaskInfo>;

/** Time, for tests to replace. */
export interface WaitClock {
  now(): number;
  sleep(ms: number, signal: AbortSignal | undefined): Promise<void>;
}

export const realClock: WaitClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export async function waitForTask(
  agentId: string,
  taskId: string,
  poll: TaskPoll,
  options: WaitForTaskOptions = {},
  clock: WaitClock = realClock,
): Promise<TaskInfo> {
  const until = options.until ?? TERMINAL;
  const timeoutMs = options.timeoutMs ?? WAIT_DEFAULTS.timeoutMs;
  const first = options.intervalMs ?? WAIT_DEFAULTS.intervalMs;
  const cap = options.maxIntervalMs ?? WAIT_DEFAULTS.maxIntervalMs;
  checkOptions(until, timeoutMs, first, cap);
  const { signal, onProgress } = options;

  const deadline = clock.now() + timeoutMs;
  const timedOut = (last: TaskInfo | undefined, cause: unknown): ArcWaitTimeoutError =>
    new ArcWaitTimeoutError(agentId, taskId, timeoutMs, until, last, cause === undefined ? undefined : { cause });
  let last: TaskInfo | undefined;
  let lastError: unknown;
  let interval = first;
  try {
    for (;;) {
      signal?.throwIfAborted();
      let pause = interval;
      let task: TaskInfo | undefined;
      try {
        task = await poll(Math.max(1, deadline - clock.now()), signal);
        lastError = undefined;
      } catch (err) {
        if (signal?.aborted) throw err;
        if (err instanceof ArcTimeoutError && clock.now() >= deadline) throw timedOut(last, err);
        if (last === undefined || !transient(err)) throw err;
        lastError = err;
        const retryAfter = err instanceof ArcResponseError ? err.retryAfter : undefined;
        if (retryAfter !== undefined) pause = Math.max(pause, retryAfter * 1000);
      }
      if (task) {
        if (changed(last, task)) {
          pause = first;
          await onProgress?.(task);
        }
        last = task;
        if (until.includes(task.status)) return task;
      }
      const left = deadline - clock.now();
      if (left <= 0) throw timedOut(last, lastError);
      await clock.sleep(Math.min(pause, left), signal);
      interval = Math.min(pause * 2, cap);
    }
  } catch (err) {
    // An abort ends the wait with the signal's reason, as fetch does, whatever was in flight.
    if (signal?.aborted) throw signal.reason;
    throw err;
  }
}

/** A failure on the way that the next poll may not meet. */
function transient(err: unknown): boolean {
  if (err instanceof ArcTimeoutError) return true;
  if (err instanceof ArcTransportError)
    return err.httpStatus === undefined || err.httpStatus === 502 || err.httpStatus === 503 || err.httpStatus === 504;
  if (err instanceof ArcResponseError) return err.httpStatus === 429 || err.httpStatus === 503;
  return false;
}

/** What onProgress reports: messages and artifacts are only ever added, so their counts tell. */
function changed(before: TaskInfo | undefined, now: TaskInfo): boolean {
  return (
    before === undefined ||
    before.status !== now.status ||
    before.statusMessage !== now.statusMessage ||
    before.messages?.length !== now.messages?.length ||
    before.artifacts?.length !== now.artifacts?.length
  );
}

function checkOptions(until: readonly TaskStatus[], timeoutMs: number, intervalMs: number, maxIntervalMs: number): void {
  if (!Array.isArray(until) || until.length === 0 || !until.every((s) => STATUSES.includes(s))) {
    throw new TypeError(`waitFor: until must list task statuses (${STATUSES.join(', ')})`);
  }
  for (const [name, value] of [
    ['timeoutMs', timeoutMs],
    ['intervalMs', intervalMs],
    ['maxIntervalMs', maxIntervalMs],
  ] as const) {
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`waitFor: ${name} must be a positive number of ms, not ${value}`);
  }
  if (maxIntervalMs < intervalMs) throw new RangeError(`waitFor: maxIntervalMs (${maxIntervalMs}) must be >= intervalMs (${intervalMs})`);
}
