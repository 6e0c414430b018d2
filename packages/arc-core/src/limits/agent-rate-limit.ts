/**
 * An agent's own rate limits, declared in code (`new ArcAgent(id, { rateLimit })`), over the
 * server's RATE_LIMIT_CALLER / RATE_LIMIT_AGENT: checked when the agent is created, resolved
 * against the server's rules when rate limits are installed.
 */
import { parseRateLimit, type RateLimitRule } from './rate-limit-rule';

/**
 * '10/1s': all requests to the agent (overrides RATE_LIMIT_AGENT). `{ agent, caller }`: either
 * limit (caller: each caller's requests to this agent); `false` turns that limit off here.
 */
export type AgentRateLimit = string | { agent?: string | false; caller?: string | false };

/** The two rules that apply to one agent (null: no limit). */
export interface AgentRules {
  readonly caller: RateLimitRule | null;
  readonly agent: RateLimitRule | null;
}

/** Throws a TypeError naming the agent when `setting` is not a valid AgentRateLimit. */
export function checkAgentRateLimit(agentId: string, setting: AgentRateLimit): void {
  if (typeof setting === 'string') {
    parseRateLimit(setting, `agent ${agentId} rateLimit`);
    return;
  }
  if (setting === null || typeof setting !== 'object') {
    throw new TypeError(`agent ${agentId} rateLimit must be a string like '10/1s' or { agent?, caller? }`);
  }
  for (const key of Object.keys(setting)) {
    if (key !== 'agent' && key !== 'caller') throw new TypeError(`agent ${agentId} rateLimit has an unknown key "${key}" (agent, caller)`);
    const value = setting[key];
    if (value !== false && value !== undefined) parseRateLimit(value as string, `agent ${agentId} rateLimit.${key}`);
  }
}

/** The rules of an agent: its own setting where it has one, else the server's. */
export function agentRules(server: AgentRules, agentId: string, setting: AgentRateLimit | undefined): AgentRules {
  if (setting === undefined) return server;
  const own = typeof setting === 'string' ? { agent: setting } : setting;
  const pick = (value: string | false | undefined, fallback: RateLimitRule | null, name: string): RateLimitRule | null =>
    value === undefined ? fallback : value === false ? null : parseRateLimit(value, `agent ${agentId} rateLimit${name}`);
  return {
    caller: pick(own.caller, server.caller, '.caller'),
    agent: pick(own.agent, server.agent, typeof setting === 'string' ? '' : '.agent'),
  };
}
