/**
 * Where rate-limit counters live, behind one interface: this process (MemoryRateCounterStore,
 * the default) or Redis, shared by every replica (RedisRateCounterStore in @arc/core/redis).
 * Both count with rate-limiter-flexible: fixed windows that start at a key's first request.
 */
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimitRule } from './rate-limit-rule';

/** 'caller': each caller's requests to one agent; 'agent': all requests to one agent. */
export type RateLimitScope = 'caller' | 'agent';

/** The counters of one rule. */
export interface RateCounter {
  /**
   * Takes one point: from the agent's counter, or with `caller` from that caller's counter at
   * the agent. Resolves 0 when the request is within the limit, else the milliseconds until the
   * window ends (at least 1). Rejects when the store cannot answer.
   */
  consume(agentId: string, caller?: string): Promise<number>;
}

export interface RateCounterStore {
  /** 'memory' or 'redis', for logs. */
  readonly kind: string;
  /** The counters of `rule` for `scope` (its keys are apart from other scopes'). */
  counter(scope: RateLimitScope, rule: RateLimitRule): RateCounter;
  /** Releases the store (a connection, timers). */
  close(): Promise<void>;
}

/** rate-limiter-flexible's answer as a RateCounter's: it resolves within the limit, rejects with a RateLimiterRes over it. */
export const WITHIN_LIMIT = (): number => 0;

export function overLimit(outcome: unknown): number {
  if (outcome instanceof RateLimiterRes) return Math.max(1, Math.ceil(outcome.msBeforeNext));
  throw outcome;
}
