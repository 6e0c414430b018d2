/**
 * Rate limits as a preHandler hook (after routing and validation, before the concurrency slot):
 *
 *   caller   each caller's requests to one agent (RATE_LIMIT_CALLER); the caller is the
 *            authenticated subject (`locals.auth.subject`) when auth is on, else `requestAgent`
 *   agent    all requests to one agent (RATE_LIMIT_AGENT)
 *
 * and an agent's own `rateLimit` over either. The caller's point is taken first and the agent's
 * only if the caller is within its limit, so one caller's flood of refused requests does not use
 * up the agent's limit for everyone else. Over a limit: -44007 / 429 with Retry-After (whole
 * seconds) and details { limit, windowMs, retryAfterMs, scope, agentId }.
 *
 * When the store cannot answer (Redis down), `onStoreFailure` decides: 'open' (the default) lets
 * the request through, 'closed' refuses it with -41002 / 503 + Retry-After. Either way a warning
 * is logged at most every 10 s while it lasts, and an info line when counting works again; the
 * store reconnects by itself.
 *
 * Nothing is installed when no limit is configured: a router without limits runs no extra code.
 */
import { createHash } from 'node:crypto';
import { ArcError } from '../errors/arc-error';
import { ArcErrorCode } from '../errors/codes';
import { silentLogger, type Logger } from '../logging/logger';
import type { RequestHook } from '../router/hooks';
import type { RequestState } from '../router/request-state';
import type { ArcRouter } from '../router/router';
import { agentRules, type AgentRateLimit, type AgentRules } from './agent-rate-limit';
import { MemoryRateCounterStore } from './memory-rate-counter';
import type { RateCounter, RateCounterStore, RateLimitScope } from './rate-counter';
import { parseRateLimit, type RateLimitRule } from './rate-limit-rule';

export type RateLimitStoreFailure = 'open' | 'closed';

export interface RateLimitOptions {
  /** Each caller's requests to one agent, e.g. '100/1s' (RATE_LIMIT_CALLER); unset: none. */
  caller?: string;
  /** All requests to one agent, e.g. '2000/1s' (RATE_LIMIT_AGENT); unset: none. */
  agent?: string;
  /**
   * Where the counters live (default: this process). A function is called only when a limit
   * applies, so a Redis store is not connected for nothing.
   */
  store?: RateCounterStore | (() => RateCounterStore);
  /** When the store cannot answer: 'open' (default) lets requests through, 'closed' answers -41002 / 503. */
  onStoreFailure?: RateLimitStoreFailure;
  logger?: Logger;
  /** Who is calling (default: the authenticated subject, else requestAgent). */
  callerOf?: (request: RequestState) => string;
}

/** A store failure is logged at most this often while it lasts. */
const WARN_EVERY_MS = 10_000;
/** Longer caller names are counted under their SHA-256 (a token's subject has no length limit). */
const MAX_CALLER_KEY_LENGTH = 256;

interface Limit {
  readonly scope: RateLimitScope;
  readonly rule: RateLimitRule;
  readonly counter: RateCounter;
}

interface AgentLimits {
  readonly caller: Limit | null;
  readonly agent: Limit | null;
}

/**
 * The authenticated subject when an auth hook left one (as `request.auth`, or `locals.auth`),
 * else the envelope's requestAgent (also for a token without a subject).
 */
export function defaultCallerOf(request: RequestState): string {
  const auth = (request as { auth?: { subject?: string } }).auth ?? (request.locals.auth as { subject?: string } | undefined);
  return auth?.subject || request.requestAgent;
}

function callerKey(caller: string): string {
  return caller.length <= MAX_CALLER_KEY_LENGTH ? caller : `sha256:${createHash('sha256').update(caller).digest('hex')}`;
}

export class RateLimiter {
  readonly store: RateCounterStore;
  /** The preHandler hook. */
  readonly hook: RequestHook = (request) => this.check(request);
  private readonly server: AgentRules;
  private readonly mode: RateLimitStoreFailure;
  private readonly logger: Logger;
  private readonly callerOf: (request: RequestState) => string;
  private readonly settingOf: (agentId: string) => AgentRateLimit | undefined;
  /** Limits per agent id, resolved on the agent's first request. */
  private readonly perAgent = new Map<string, AgentLimits>();
  /** Counters by scope and rule text: agents with the same rule share one. */
  private readonly counters = new Map<string, RateCounter>();
  private failing = false;
  private lastWarnAt = 0;
  /** Requests let through (open) or refused (closed) unchecked since the last warning. */
  private unchecked = 0;

  /**
   * @param settingOf an agent's own `rateLimit` (see AgentOptions), looked up once per agent id
   */
  constructor(
    options: RateLimitOptions & { store: RateCounterStore },
    settingOf: (agentId: string) => AgentRateLimit | undefined = () => undefined,
  ) {
    this.server = {
      caller: options.caller === undefined ? null : parseRateLimit(options.caller, 'RATE_LIMIT_CALLER'),
      agent: options.agent === undefined ? null : parseRateLimit(options.agent, 'RATE_LIMIT_AGENT'),
    };
    this.store = options.store;
    this.mode = options.onStoreFailure ?? 'open';
    if (this.mode !== 'open' && this.mode !== 'closed')
      throw new TypeError(`onStoreFailure must be 'open' or 'closed', got ${String(this.mode)}`);
    this.logger = options.logger ?? silentLogger;
    this.callerOf = options.callerOf ?? defaultCallerOf;
    this.settingOf = settingOf;
  }

  /** Closes the store (its Redis connection). */
  close(): Promise<void> {
    return this.store.close();
  }

  /** Resolves when the request is within its limits; rejects with -44007 (or -41002, closed) when not. */
  check(request: RequestState): Promise<void> | void {
    const limits = this.perAgent.get(request.agentId) ?? this.resolve(request.agentId);
    if (limits.caller !== null) return this.checkCaller(limits.caller, limits.agent, request);
    if (limits.agent !== null) return this.take(limits.agent, request.agentId, undefined);
  }

  private async checkCaller(caller: Limit, agent: Limit | null, request: RequestState): Promise<void> {
    await this.take(caller, request.agentId, callerKey(this.callerOf(request)));
    if (agent !== null) await this.take(agent, request.agentId, undefined);
  }

  private async take(limit: Limit, agentId: string, caller: string | undefined): Promise<void> {
    let waitMs: number;
    try {
      waitMs = await limit.counter.consume(agentId, caller);
    } catch (err) {
      this.storeFailed(limit, agentId, err);
      return;
    }
    if (this.failing) this.recovered();
    if (waitMs > 0) throw this.exceeded(limit, agentId, waitMs);
  }

  private exceeded(limit: Limit, agentId: string, waitMs: number): ArcError {
    const { points, windowMs } = limit.rule;
    const window =
      windowMs % 3_600_000 === 0
        ? `${windowMs / 3_600_000} h`
        : windowMs % 60_000 === 0
          ? `${windowMs / 60_000} min`
          : `${windowMs / 1000} s`;
    const message =
      limit.scope === 'caller'
        ? `Rate limit exceeded: at most ${points} requests per ${window} from each caller to ${agentId}`
        : `Rate limit exceeded: at most ${points} requests per ${window} to ${agentId}`;
    return new ArcError(
      ArcErrorCode.RateLimitExceeded,
      message,
      { limit: points, windowMs, retryAfterMs: waitMs, scope: limit.scope, agentId },
      { retryAfter: Math.max(1, Math.ceil(waitMs / 1000)) },
    );
  }

  private storeFailed(limit: Limit, agentId: string, err: unknown): void {
    this.unchecked++;
    const now = Date.now();
    if (!this.failing || now - this.lastWarnAt >= WARN_EVERY_MS) {
      this.logger.warn(
        this.mode === 'open'
          ? 'rate limits not enforced: the counter store does not answer; requests are let through'
          : 'rate limits cannot be checked: the counter store does not answer; requests are refused with -41002',
        {
          store: this.store.kind,
          onStoreFailure: this.mode,
          unchecked: this.unchecked,
          err: err instanceof Error ? err.message : String(err),
        },
      );
      this.lastWarnAt = now;
      this.unchecked = 0;
    }
    this.failing = true;
    if (this.mode === 'closed') {
      throw new ArcError(
        ArcErrorCode.AgentNotAvailable,
        'Agent temporarily unavailable: rate limits cannot be checked; retry shortly',
        { agentId, scope: limit.scope },
        { retryAfter: 1 },
      );
    }
  }

  private recovered(): void {
    this.failing = false;
    this.logger.info('rate limits enforced again: the counter store answers', { store: this.store.kind, unchecked: this.unchecked });
    this.unchecked = 0;
  }

  private resolve(agentId: string): AgentLimits {
    const rules = agentRules(this.server, agentId, this.settingOf(agentId));
    const limits = { caller: this.limit('caller', rules.caller), agent: this.limit('agent', rules.agent) };
    this.perAgent.set(agentId, limits);
    return limits;
  }

  private limit(scope: RateLimitScope, rule: RateLimitRule | null): Limit | null {
    if (rule === null) return null;
    const name = `${scope} ${rule.text}`;
    let counter = this.counters.get(name);
    if (counter === undefined) {
      counter = this.store.counter(scope, rule);
      this.counters.set(name, counter);
    }
    return { scope, rule, counter };
  }
}

/**
 * Adds the rate-limit hook to `router` when a limit applies: a server rule, or an agent's own
 * `rateLimit` (agents mounted by now). Returns the limiter (close it on shutdown), or undefined
 * when there is nothing to limit and nothing was added.
 */
export function installRateLimits(router: ArcRouter, options: RateLimitOptions): RateLimiter | undefined {
  const agents = router.agentList;
  const anyAgentLimit = agents.some((a) => a.rateLimit !== undefined);
  if (options.caller === undefined && options.agent === undefined && !anyAgentLimit) return undefined;
  // Bad rules throw before a store (a Redis connection) exists.
  if (options.caller !== undefined) parseRateLimit(options.caller, 'RATE_LIMIT_CALLER');
  if (options.agent !== undefined) parseRateLimit(options.agent, 'RATE_LIMIT_AGENT');
  const store = typeof options.store === 'function' ? options.store() : (options.store ?? new MemoryRateCounterStore());
  const limiter = new RateLimiter(
    { ...options, store, logger: options.logger ?? router.logger },
    (agentId) => router.agentList.find((a) => a.id === agentId)?.rateLimit,
  );
  router.addHook('preHandler', limiter.hook);
  return limiter;
}
