/**
 * Rate-limit counters in this process (rate-limiter-flexible's RateLimiterMemory): for a single
 * replica, or when every replica may count on its own. A key lives for one window (a timer that
 * does not keep the process alive), so memory follows the number of callers active per window.
 */
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { overLimit, WITHIN_LIMIT, type RateCounter, type RateCounterStore, type RateLimitScope } from './rate-counter';
import type { RateLimitRule } from './rate-limit-rule';

export class MemoryRateCounterStore implements RateCounterStore {
  readonly kind = 'memory';

  counter(_scope: RateLimitScope, rule: RateLimitRule): RateCounter {
    // One limiter per rule and scope: keys need no prefix. Agent ids have no spaces, so
    // "<agent> <caller>" cannot be mistaken for another agent's key.
    const limiter = new RateLimiterMemory({ points: rule.points, duration: rule.windowMs / 1000, keyPrefix: '' });
    return {
      consume: (agentId, caller) => limiter.consume(caller === undefined ? agentId : `${agentId} ${caller}`).then(WITHIN_LIMIT, overLimit),
    };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
