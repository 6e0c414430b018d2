/**
 * Which specialist a new conversation goes to. A routing policy is a function: the supervisor
 * asks it once per conversation (chat.start, task.create) and keeps the answer for the
 * conversation's life. The default policy tries, in order:
 *
 *   1. keyword rules (the ARC guide's: invoice, payment, budget, expense → finance; salary,
 *      benefits, leave, vacation, employee → HR), whole words, case-insensitive;
 *   2. the agents' own descriptions and methods, as discovered from /agent-info (directory.ts):
 *      the agent whose description shares most words with the message, if any does;
 *   3. the fallback agent (support).
 *
 * Replace it with anything that returns an agent id - an LLM call, say (docs: services/supervisor
 * README section in docs/operations.md):
 *
 *   createSupervisorAgent({ policy: async ({ text, agents }) => (await llm.pick(text, agents)) ?? 'support-agent' })
 */
import type { Message } from '@arc/core';
import type { AgentSummary } from './directory';

export interface RoutingInput {
  /** The text of the user's message (its TextParts). */
  text: string;
  message: Message;
  /** Who is asking. */
  requestAgent: string;
  /** 'chat' for chat.start, 'task' for task.create. */
  kind: 'chat' | 'task';
  /** The specialists the supervisor may route to, with what discovery knows of them. */
  agents: readonly AgentSummary[];
}

export interface RoutingDecision {
  agent: string;
  /** Why (logged, and shown in the supervisor's metadata): 'rule:invoice', 'description', 'fallback', … */
  reason: string;
}

/** A routing policy: the specialist for a new conversation; undefined lets the next policy decide. */
export type RoutingPolicy = (input: RoutingInput) => RoutingDecision | string | undefined | Promise<RoutingDecision | string | undefined>;

export interface KeywordRule {
  agent: string;
  keywords: readonly string[];
}

/** The ARC guide's supervisor rules. */
export const DEFAULT_RULES: readonly KeywordRule[] = Object.freeze([
  { agent: 'finance-agent', keywords: ['invoice', 'payment', 'budget', 'expense'] },
  { agent: 'hr-agent', keywords: ['salary', 'benefits', 'leave', 'vacation', 'employee'] },
]);

export const DEFAULT_FALLBACK_AGENT = 'support-agent';

/** Lower-case words of a text (letters and digits), with a naive plural folded: "invoices" → "invoice". */
export function words(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).map((w) =>
    w.length > 3 && w.endsWith('s') && !w.endsWith('ss') ? w.slice(0, -1) : w,
  );
}

/** Rule by rule, the first whose keyword is a word of the message (a rule for an agent not in `agents` is skipped). */
export function keywordPolicy(rules: readonly KeywordRule[] = DEFAULT_RULES): RoutingPolicy {
  const folded = rules.map((r) => ({ agent: r.agent, keywords: new Set(r.keywords.flatMap((k) => words(k))) }));
  return ({ text, agents }) => {
    const known = new Set(agents.map((a) => a.id));
    const have = new Set(words(text));
    for (const rule of folded) {
      if (!known.has(rule.agent)) continue;
      for (const k of rule.keywords) if (have.has(k)) return { agent: rule.agent, reason: `rule:${k}` };
    }
    return undefined;
  };
}

/** Words too common to say anything about an agent. */
const STOP_WORDS = new Set(
  'a an and are as at be by can do for from has have how i in is it me my of on or our please the this to what when where which who why with you your agent agents help handle handles question questions'.split(
    ' ',
  ),
);

/**
 * The agent whose description (and custom method names) shares the most words with the message;
 * undefined when none shares any, or two share as many (no guess between equals).
 */
export function descriptionPolicy(): RoutingPolicy {
  return ({ text, agents }) => {
    const have = new Set(words(text).filter((w) => !STOP_WORDS.has(w)));
    if (have.size === 0) return undefined;
    let best: { agent: string; score: number } | undefined;
    let tie = false;
    for (const a of agents) {
      const vocabulary = new Set(
        [a.description ?? '', ...a.methods.filter((m) => !m.startsWith('chat.') && !m.startsWith('task.'))].flatMap((s) =>
          words(s.replace(/[._-]/g, ' ')),
        ),
      );
      let score = 0;
      for (const w of have) if (vocabulary.has(w)) score++;
      if (score === 0) continue;
      if (best === undefined || score > best.score) {
        best = { agent: a.id, score };
        tie = false;
      } else if (score === best.score) tie = true;
    }
    return best !== undefined && !tie ? { agent: best.agent, reason: 'description' } : undefined;
  };
}

/** Policies in turn; the first answer wins; none: `fallback`. */
export function firstOf(
  policies: readonly RoutingPolicy[],
  fallback: string = DEFAULT_FALLBACK_AGENT,
): (input: RoutingInput) => Promise<RoutingDecision> {
  return async (input) => {
    for (const policy of policies) {
      const answer = await policy(input);
      if (answer !== undefined) return typeof answer === 'string' ? { agent: answer, reason: 'policy' } : answer;
    }
    return { agent: fallback, reason: 'fallback' };
  };
}

/** Rules, then descriptions, then the fallback. */
export function defaultPolicy(
  options: { rules?: readonly KeywordRule[]; fallback?: string } = {},
): (input: RoutingInput) => Promise<RoutingDecision> {
  return firstOf([keywordPolicy(options.rules), descriptionPolicy()], options.fallback);
}
