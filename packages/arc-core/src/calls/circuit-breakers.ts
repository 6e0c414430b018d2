/**
 * A circuit breaker per remote target (opossum), around each call to an agent outside this
 * router (and the start of each stream to it), so that a target that is down is not waited on
 * by every caller: once it fails, calls to it fail at once with -41003 until it is tried again.
 *
 *   closed     calls go through. A failure that counts opens the breaker when, within the last
 *              10 s, at least `failureThreshold` calls (default 5) went to the target and more
 *              than half of them failed (opossum's volumeThreshold and errorThresholdPercentage
 *              50) — so `failureThreshold` failures in a row always open it.
 *   open       calls fail at once with -41003 (retryable, Retry-After: the time left), nothing is
 *              sent; after `resetTimeoutMs` (default 10 s) the breaker is half-open.
 *   half-open  one call goes through (the others fail at once): its success closes the breaker,
 *              its failure opens it again for another `resetTimeoutMs`.
 *
 * What counts as a failure: the target could not be reached or did not answer (-41003, -41006),
 * refused for load (-41002, -41011, -44007: AgentCallError.retryable). An ARC error the target
 * answered on purpose (-32602, -43001, -44003, …) shows it is up: it counts as a success, as
 * does a call the caller aborted itself.
 *
 * Timers: one rolling-window clock for all breakers (unref'd) instead of opossum's two per
 * breaker, no snapshots; `close()` shuts every breaker down.
 */
import { EventEmitter } from 'node:events';
import CircuitBreaker from 'opossum';
import { ArcError } from '../errors/arc-error';
import { ArcErrorCode } from '../errors/codes';
import type { Logger } from '../logging/logger';
import { AgentCallError } from './errors';

export const DEFAULT_BREAKER_FAILURE_THRESHOLD = 5;
export const DEFAULT_BREAKER_RESET_MS = 10_000;
/** The rolling window the failure rate is computed over (opossum's rollingCountTimeout). */
export const BREAKER_WINDOW_MS = 10_000;
const WINDOW_BUCKETS = 10;
/** Breakers kept at most; past it the oldest closed one is dropped (it only loses its counts). */
export const MAX_BREAKERS = 1000;

/** AgentCallConfig.breaker. */
export interface BreakerOptions {
  /** Calls within 10 s, more than half of them failed, before the breaker opens (default 5; see above). */
  failureThreshold?: number;
  /** Time an open breaker refuses calls before it lets one through (default 10000 ms). */
  resetTimeoutMs?: number;
  /** Default true (AGENT_CALL_BREAKER=on). */
  enabled?: boolean;
}

export type BreakerState = 'closed' | 'half-open' | 'open';

/** Codes that count as the target failing (besides AgentCallError.retryable). */
const FAILURE_CODES: ReadonlySet<number> = new Set([
  ArcErrorCode.AgentUnreachable,
  ArcErrorCode.AgentNotAvailable,
  ArcErrorCode.AgentTimeout,
  ArcErrorCode.AgentCapacityExceeded,
]);

/** True when `err` says the target is failing (see the header); false for an answer it gave on purpose. */
export function countsAsFailure(err: unknown): boolean {
  if (err instanceof AgentCallError) return err.retryable || FAILURE_CODES.has(err.code);
  if (err instanceof ArcError) return FAILURE_CODES.has(err.code);
  return true;
}

type Work = () => Promise<unknown>;

interface Entry {
  readonly breaker: CircuitBreaker<[Work], unknown>;
  /** Date.now() when it last opened. */
  openedAt: number;
}

export class CircuitBreakers {
  readonly failureThreshold: number;
  readonly resetTimeoutMs: number;
  private readonly entries = new Map<string, Entry>();
  /** Errors not to count (the caller aborted): opossum's errorFilter sees only the error. */
  private readonly uncounted = new WeakSet<object>();
  private readonly clock = new EventEmitter();
  private clockTimer: NodeJS.Timeout | undefined = undefined;
  private closed = false;

  constructor(
    options: BreakerOptions,
    private readonly logger: Logger,
    private readonly onState: (target: string, state: BreakerState) => void,
  ) {
    this.failureThreshold = options.failureThreshold ?? DEFAULT_BREAKER_FAILURE_THRESHOLD;
    this.resetTimeoutMs = options.resetTimeoutMs ?? DEFAULT_BREAKER_RESET_MS;
    if (!Number.isInteger(this.failureThreshold) || this.failureThreshold < 1)
      throw new TypeError('agentCalls.breaker.failureThreshold must be an integer >= 1');
    if (!(this.resetTimeoutMs > 0)) throw new TypeError('agentCalls.breaker.resetTimeoutMs must be > 0');
    this.clock.setMaxListeners(0);
  }

  /** The breaker state of `target`; undefined when no call went to it yet. */
  state(target: string): BreakerState | undefined {
    const entry = this.entries.get(target);
    return entry === undefined ? undefined : stateOf(entry.breaker);
  }

  /**
   * Runs `work` (one call to `target`) through the target's breaker: its result or its error
   * (an AgentCallError), or -41003 at once while the breaker is open.
   */
  async run<T>(target: string, method: string, timeoutMs: number, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    const entry = this.entryFor(target);
    const guarded: Work = () =>
      work().catch((err: unknown) => {
        const error = AgentCallError.from(err, target, method, timeoutMs);
        if (signal?.aborted) this.uncounted.add(error);
        throw error;
      });
    try {
      return (await entry.breaker.fire(guarded)) as T;
    } catch (err) {
      if (err instanceof AgentCallError) throw err;
      throw this.refusal(entry, target, method, err);
    }
  }

  /** Shuts every breaker down (their timers go); later calls are refused with -41003. */
  close(): void {
    this.closed = true;
    clearInterval(this.clockTimer);
    this.clockTimer = undefined;
    for (const entry of this.entries.values()) entry.breaker.shutdown();
    this.entries.clear();
  }

  private entryFor(target: string): Entry {
    const found = this.entries.get(target);
    if (found !== undefined) return found;
    if (this.entries.size >= MAX_BREAKERS) this.evictOne();
    const breaker = new CircuitBreaker<[Work], unknown>((work: Work) => work(), {
      name: target,
      timeout: false, // the transport has the call's timeout
      resetTimeout: this.resetTimeoutMs,
      errorThresholdPercentage: 50,
      volumeThreshold: this.failureThreshold,
      rollingCountTimeout: BREAKER_WINDOW_MS,
      rollingCountBuckets: WINDOW_BUCKETS,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      rotateBucketController: this.clock,
      errorFilter: (err: unknown) => (typeof err === 'object' && err !== null && this.uncounted.has(err)) || !countsAsFailure(err),
    });
    const entry: Entry = { breaker, openedAt: 0 };
    breaker.on('open', () => {
      entry.openedAt = Date.now();
      this.logger.warn('agent call circuit open', {
        target,
        resetTimeoutMs: this.resetTimeoutMs,
        retryAt: new Date(entry.openedAt + this.resetTimeoutMs).toISOString(),
      });
      this.onState(target, 'open');
    });
    breaker.on('halfOpen', () => {
      this.logger.info('agent call circuit half-open: trying one call', { target });
      this.onState(target, 'half-open');
    });
    breaker.on('close', () => {
      this.logger.info('agent call circuit closed', { target });
      this.onState(target, 'closed');
    });
    if (this.closed) breaker.shutdown();
    else this.startClock();
    this.entries.set(target, entry);
    this.onState(target, 'closed');
    return entry;
  }

  /** Drops the oldest closed breaker (Map order is insertion order), so the map stays bounded. */
  private evictOne(): void {
    for (const [target, entry] of this.entries) {
      if (entry.breaker.closed) {
        entry.breaker.shutdown();
        this.entries.delete(target);
        return;
      }
    }
  }

  /** The one clock that moves every breaker's rolling window on. */
  private startClock(): void {
    if (this.clockTimer !== undefined) return;
    this.clockTimer = setInterval(() => this.clock.emit('rotate'), BREAKER_WINDOW_MS / WINDOW_BUCKETS);
    this.clockTimer.unref();
  }

  /** The error of a call the breaker refused without sending it. */
  private refusal(entry: Entry, target: string, method: string, err: unknown): AgentCallError {
    const details: Record<string, unknown> = { agentId: target };
    if (entry.breaker.isShutdown) {
      return new AgentCallError(ArcErrorCode.AgentUnreachable, `Agent calls are closed: ${target} was not called`, target, method, {
        details,
        retryable: false,
        cause: err,
      });
    }
    if (entry.breaker.halfOpen) {
      details.circuit = 'half-open';
      return new AgentCallError(
        ArcErrorCode.AgentUnreachable,
        `Circuit half-open for agent ${target}: a trial call is in flight, others are refused until it succeeds`,
        target,
        method,
        { details, retryable: true, retryAfter: 1, cause: err },
      );
    }
    const retryAt = entry.openedAt + this.resetTimeoutMs;
    const leftMs = Math.max(0, retryAt - Date.now());
    details.circuit = 'open';
    details.retryAfterMs = leftMs;
    return new AgentCallError(
      ArcErrorCode.AgentUnreachable,
      `Circuit open for agent ${target} after repeated failures: not called; tried again in ${Math.ceil(leftMs / 1000)} s (${new Date(retryAt).toISOString()})`,
      target,
      method,
      { details, retryable: true, retryAfter: Math.max(1, Math.ceil(leftMs / 1000)), cause: err },
    );
  }
}

function stateOf(breaker: CircuitBreaker<[Work], unknown>): BreakerState {
  if (breaker.opened) return 'open';
  if (breaker.halfOpen) return 'half-open';
  return 'closed';
}
