/**
 * A rate limit as written in configuration: `<points>/<duration>`, e.g. `100/1s`, `6000/1m`,
 * `20/s` (one unit), at most `points` requests per window of `duration`. Windows are whole
 * seconds (s, m or h): the Redis counters expire in seconds, so a sub-second window could not be
 * shared by the replicas.
 */

export interface RateLimitRule {
  /** Requests allowed per window. */
  readonly points: number;
  /** The window, in milliseconds (a whole number of seconds). */
  readonly windowMs: number;
  /** As written, normalised: `100/1s`. */
  readonly text: string;
}

const RULE = /^([1-9][0-9]{0,8})\/([1-9][0-9]{0,5})?(s|m|h)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000 } as const;
/** Longest window: a day (longer ones are quotas, not rate limits). */
const MAX_WINDOW_MS = 24 * 3_600_000;

export const RATE_LIMIT_FORMAT =
  '<points>/<duration>, e.g. 100/1s, 6000/1m or 20/s (points 1 to 999999999; duration in whole s, m or h, at most 24h)';

/** Why `text` is not a rate limit, or null when it is one. */
export function rateLimitProblem(text: unknown): string | null {
  if (typeof text !== 'string') return `is not a rate limit: use ${RATE_LIMIT_FORMAT}`;
  const m = RULE.exec(text.trim());
  if (!m) return `is not a rate limit: use ${RATE_LIMIT_FORMAT}`;
  const windowMs = Number(m[2] ?? 1) * UNIT_MS[m[3] as keyof typeof UNIT_MS];
  if (windowMs > MAX_WINDOW_MS) return `has a window longer than 24h: use ${RATE_LIMIT_FORMAT}`;
  return null;
}

/** Parses `<points>/<duration>`; throws a TypeError naming `name` (e.g. the variable) when it is not one. */
export function parseRateLimit(text: string, name = 'rate limit'): RateLimitRule {
  const problem = rateLimitProblem(text);
  if (problem !== null) throw new TypeError(`${name}=${JSON.stringify(text)} ${problem}`);
  const m = RULE.exec(text.trim())!;
  const count = Number(m[2] ?? 1);
  const unit = m[3] as keyof typeof UNIT_MS;
  return Object.freeze({ points: Number(m[1]), windowMs: count * UNIT_MS[unit], text: `${m[1]}/${count}${unit}` });
}
