/** The call-chain header and W3C traceparent helpers of agent calls. */
import { MAX_CHAIN_ENTRIES, formatCallChain, nextChain, parseCallChain } from '../../src/calls/call-chain';
import { AgentCallError } from '../../src/calls/errors';
import { childTraceparent, parseTraceparent, w3cTraceId } from '../../src/calls/trace-context';
import { ArcErrorCode } from '../../src/errors/codes';

describe('call chain', () => {
  it('parses a header into agent ids, dropping what is not one, bounded', () => {
    expect(parseCallChain(undefined)).toBeUndefined();
    expect(parseCallChain('')).toBeUndefined();
    expect(parseCallChain('a, b ,c')).toEqual(['a', 'b', 'c']);
    expect(parseCallChain(['a', 'b'])).toEqual(['a', 'b']);
    expect(parseCallChain('a,<script>,,b c,d')).toEqual(['a', 'd']);
    expect(parseCallChain(',,,')).toBeUndefined();
    const long = Array.from({ length: 500 }, (_, i) => `agent-${i}`).join(',');
    expect(parseCallChain(long)).toHaveLength(MAX_CHAIN_ENTRIES);
    expect(formatCallChain(['a', 'b'])).toBe('a,b');
  });

  it('appends the caller once, refuses a target already in the chain and a chain past maxHops', () => {
    expect(nextChain(undefined, 'a', 'b', 'm', 8)).toEqual(['a']);
    expect(nextChain(['x'], 'a', 'b', 'm', 8)).toEqual(['x', 'a']);
    expect(nextChain(['x', 'a'], 'a', 'b', 'm', 8)).toEqual(['x', 'a']);
    const cycle = (() => {
      try {
        return nextChain(['a', 'b'], 'c', 'a', 'chat.start', 8);
      } catch (err) {
        return err;
      }
    })() as AgentCallError;
    expect(cycle).toBeInstanceOf(AgentCallError);
    expect(cycle.code).toBe(ArcErrorCode.CircularReference);
    expect(cycle.details).toEqual({ chain: ['a', 'b', 'c'], target: 'a' });
    expect(() => nextChain(undefined, 'a', 'a', 'm', 8)).toThrow(AgentCallError);
    expect(nextChain(['a', 'b'], 'c', 'd', 'm', 3)).toEqual(['a', 'b', 'c']);
    expect(() => nextChain(['a', 'b', 'c'], 'd', 'e', 'm', 3)).toThrow(/exceed the limit of 3/);
  });
});

describe('traceparent', () => {
  const tid = '4bf92f3577b34da6a3ce929d0e0e4736';
  it('accepts valid headers and refuses malformed, version ff and all-zero ids', () => {
    expect(parseTraceparent(`00-${tid}-00f067aa0ba902b7-01`)).toEqual({ traceId: tid, parentId: '00f067aa0ba902b7', flags: '01' });
    expect(parseTraceparent(`00-${tid.toUpperCase()}-00f067aa0ba902b7-00`)?.traceId).toBe(tid);
    expect(parseTraceparent(`01-${tid}-00f067aa0ba902b7-01-extra`)?.traceId).toBe(tid);
    for (const bad of [
      undefined,
      '',
      'garbage',
      `ff-${tid}-00f067aa0ba902b7-01`,
      `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
      `00-${tid}-${'0'.repeat(16)}-01`,
      `00-${tid}-00f067aa0ba902b7-01-extra`,
      `00-${tid.slice(1)}-00f067aa0ba902b7-01`,
    ])
      expect(parseTraceparent(bad)).toBeUndefined();
  });

  it('a child keeps the trace-id with a new parent-id; a W3C trace-id is reused, anything else replaced', () => {
    const child = childTraceparent(tid);
    expect(parseTraceparent(child)?.traceId).toBe(tid);
    expect(childTraceparent(tid)).not.toBe(child);
    expect(w3cTraceId(tid)).toBe(tid);
    expect(w3cTraceId('not-hex')).toMatch(/^[0-9a-f]{32}$/);
    expect(w3cTraceId(undefined)).toMatch(/^[0-9a-f]{32}$/);
  });
});
