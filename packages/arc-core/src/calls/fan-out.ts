/**
 * Asking several agents at once: at most `concurrency` calls in flight, all of them bounded by
 * one deadline. When the deadline comes, the calls still running are aborted and the answers
 * that did come are returned - partial results, each entry saying what became of its call.
 *
 *   const { results, complete } = await fanOut(
 *     { finance: (signal) => ctx.agents.chat.start('finance-agent', q, { signal }),
 *       hr: (signal) => ctx.agents.chat.start('hr-agent', q, { signal }) },
 *     { timeoutMs: 2000, concurrency: 4, signal: ctx.signal },
 *   );
 *   for (const [key, r] of Object.entries(results)) if (r.status === 'ok') use(r.value);
 */
import { ArcError } from '../errors/arc-error';
import { ArcErrorCode } from '../errors/codes';

export type FanOutOutcome<T> =
  | { status: 'ok'; value: T; ms: number }
  /** The call failed (an AgentCallError: its code says why). */
  | { status: 'failed'; error: ArcError; ms: number }
  /** The deadline came first: the call was aborted (or never started). */
  | { status: 'timed-out'; ms: number };

export interface FanOutOptions {
  /** The deadline of the whole fan-out, in ms. */
  timeoutMs: number;
  /** Calls in flight at once (default 4). */
  concurrency?: number;
  /** Stops everything early (pass the handler's ctx.signal). Aborted calls count as timed out. */
  signal?: AbortSignal;
}

export interface FanOutResult<K extends string, T> {
  results: Record<K, FanOutOutcome<T>>;
  /** True when every call answered (successfully or not) before the deadline. */
  complete: boolean;
}

/** Runs `calls` (key → call taking an AbortSignal) as above. Never rejects. */
export async function fanOut<K extends string, T>(
  calls: Readonly<Record<K, (signal: AbortSignal) => Promise<T>>>,
  options: FanOutOptions,
): Promise<FanOutResult<K, T>> {
  const concurrency = options.concurrency ?? 4;
  if (!(options.timeoutMs > 0)) throw new TypeError('fanOut: timeoutMs must be > 0');
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new TypeError('fanOut: concurrency must be an integer >= 1');
  const keys = Object.keys(calls) as K[];
  const results = {} as Record<K, FanOutOutcome<T>>;
  const deadline = new AbortController();
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const end = () => {
    deadline.abort(new ArcError(ArcErrorCode.AgentTimeout, `fan-out deadline of ${options.timeoutMs} ms passed`));
    stop();
  };
  const timer = setTimeout(end, options.timeoutMs);
  const onAbort = () => end();
  if (options.signal?.aborted) end();
  else options.signal?.addEventListener('abort', onAbort, { once: true });

  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < keys.length && !deadline.signal.aborted) {
      const key = keys[next++]!;
      const callStarted = performance.now();
      const call = (async () => calls[key](deadline.signal))();
      const outcome = await Promise.race([
        call.then(
          (value): FanOutOutcome<T> => ({ status: 'ok', value, ms: Math.round(performance.now() - callStarted) }),
          (err: unknown): FanOutOutcome<T> =>
            deadline.signal.aborted
              ? { status: 'timed-out', ms: ms() }
              : { status: 'failed', error: asArcError(err), ms: Math.round(performance.now() - callStarted) },
        ),
        stopped.then((): FanOutOutcome<T> => ({ status: 'timed-out', ms: ms() })),
      ]);
      results[key] = outcome;
      // A call that ignores its signal is left to finish on its own; its late answer is dropped.
      if (outcome.status === 'timed-out') call.catch(() => undefined);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, keys.length) }, worker));
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
  // In the order of `calls`, whatever order the answers came in.
  const ordered = {} as Record<K, FanOutOutcome<T>>;
  let complete = true;
  for (const key of keys) {
    ordered[key] = results[key] ?? { status: 'timed-out', ms: ms() }; // never started
    if (ordered[key].status === 'timed-out') complete = false;
  }
  return { results: ordered, complete };
}

function asArcError(err: unknown): ArcError {
  if (err instanceof ArcError) return err;
  return new ArcError(ArcErrorCode.InternalError, err instanceof Error ? err.message : String(err));
}
