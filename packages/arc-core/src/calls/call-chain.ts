/**
 * The chain of agents a request went through (A → B → C), so that a call back into the chain
 * (a cycle) or a chain longer than the hop limit is refused with -45006 before anything is
 * sent. In process it rides on RequestMeta.callChain; over HTTP in `X-Arc-Call-Chain: a,b`
 * (agent ids, comma-separated, bounded).
 */
import { ArcErrorCode } from '../errors/codes';
import { AgentCallError } from './errors';

export const CALL_CHAIN_HEADER = 'x-arc-call-chain';
/** Hops allowed by default: calls in a row from the first agent. */
export const DEFAULT_MAX_HOPS = 8;
/** Entries read from a header at most; more are cut off (a chain that long fails any hop limit anyway). */
export const MAX_CHAIN_ENTRIES = 64;
/** Longest header value read. */
const MAX_HEADER_CHARS = MAX_CHAIN_ENTRIES * 129;
/** An agent id as calls accept it (in the header, in AGENT_ROUTES). */
export const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * The chain in an `X-Arc-Call-Chain` header value; undefined when there is none. Entries that
 * are not agent ids are dropped; at most MAX_CHAIN_ENTRIES are kept.
 */
export function parseCallChain(header: string | string[] | undefined): string[] | undefined {
  if (Array.isArray(header)) header = header.join(',');
  if (header === undefined || header === '') return undefined;
  const out: string[] = [];
  for (const raw of header.slice(0, MAX_HEADER_CHARS).split(',')) {
    const id = raw.trim();
    if (AGENT_ID.test(id)) out.push(id);
    if (out.length === MAX_CHAIN_ENTRIES) break;
  }
  return out.length === 0 ? undefined : out;
}

export function formatCallChain(chain: readonly string[]): string {
  return chain.join(',');
}

/**
 * The chain as the callee will see it (`chain` then `caller`, unless the chain already ends with
 * it), after checking that calling `target` neither closes a cycle nor exceeds `maxHops`.
 */
export function nextChain(chain: readonly string[] | undefined, caller: string, target: string, method: string, maxHops: number): string[] {
  const next = chain === undefined ? [caller] : chain[chain.length - 1] === caller ? [...chain] : [...chain, caller];
  if (next.includes(target)) {
    throw new AgentCallError(ArcErrorCode.CircularReference, `Circular agent call: ${formatCallChain(next)} → ${target}`, target, method, {
      details: { chain: next, target },
      retryable: false,
    });
  }
  // Hops so far (agents in the chain after the first) plus this one.
  if (next.length > maxHops) {
    throw new AgentCallError(
      ArcErrorCode.CircularReference,
      `Agent call chain too long: ${next.length} hops would exceed the limit of ${maxHops}`,
      target,
      method,
      { details: { chain: next, target, maxHops }, retryable: false },
    );
  }
  return next;
}
