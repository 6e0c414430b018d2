/** The scope matrix as data (auth/scopes.ts) and the scopes handlers declare at registration. */
import { METHOD_SCOPES, grants, missingScopes, requiredScopes, scopesFromClaims } from '../../src/auth/scopes';
import { STANDARD_METHODS } from '../../src/protocol/methods';
import { ArcAgent } from '../../src/router/agent';

describe('scopes', () => {
  it('every standard method has a row; aliases need what their method needs', () => {
    expect([...METHOD_SCOPES.keys()].sort()).toEqual([...STANDARD_METHODS].sort());
    expect(requiredScopes('task.get')).toBe(requiredScopes('task.info'));
    for (const m of ['start', 'message', 'end']) expect(requiredScopes(`stream.${m}`)).toEqual(['arc.chat.controller', 'arc.agent.caller']);
    expect(requiredScopes('task.notification')).toEqual(['arc.task.notify', 'arc.agent.receiver']);
  });

  it('a custom method needs its declared scopes, or none; declared scopes add to a standard row', () => {
    expect(requiredScopes('billing.refund')).toEqual([]);
    expect(requiredScopes('billing.refund', ['billing.write'])).toEqual(['billing.write']);
    expect(requiredScopes('chat.start', ['finance.read', 'arc.agent.caller'])).toEqual([
      'arc.chat.controller',
      'arc.agent.caller',
      'finance.read',
    ]);
  });

  it('arc.stream.controller is accepted for arc.chat.controller only', () => {
    expect(grants(['arc.stream.controller'], 'arc.chat.controller')).toBe(true);
    expect(grants(['arc.chat.controller'], 'arc.stream.controller')).toBe(false);
    expect(grants(['arc.stream.controller'], 'arc.task.controller')).toBe(false);
    expect(missingScopes(['arc.chat.controller', 'arc.agent.caller'], ['arc.stream.controller'])).toEqual(['arc.agent.caller']);
    expect(missingScopes(['a'], ['a', 'b'])).toEqual([]);
  });

  it('scopesFromClaims: first present of scope, scp, permissions; strings split on whitespace; non-strings dropped', () => {
    expect(scopesFromClaims({ scope: '  a\tb  a ' })).toEqual(['a', 'b']);
    expect(scopesFromClaims({ scope: ['a', 7, '', 'b'], scp: ['c'] })).toEqual(['a', 'b']);
    expect(scopesFromClaims({ scope: 42, scp: ['c'] })).toEqual([]);
    expect(scopesFromClaims({ permissions: 'x y' })).toEqual(['x', 'y']);
  });

  it('agent.on refuses malformed declared scopes at registration', () => {
    const agent = new ArcAgent('agent-a');
    expect(() => agent.on('x.one', () => 1, { scopes: 'billing.write' as never })).toThrow(
      'Handler for agent-a/x.one: scopes must be an array of scope names',
    );
    expect(() => agent.on('x.two', () => 1, { scopes: ['has space'] })).toThrow('Handler for agent-a/x.two: invalid scope "has space"');
    expect(() => agent.on('x.three', () => 1, { scopes: [''] })).toThrow('invalid scope ""');
    expect(() => agent.on('x.four', () => 1, { scopes: ['billing:write', 'https://api.example.com/refund'] })).not.toThrow();
  });
});
