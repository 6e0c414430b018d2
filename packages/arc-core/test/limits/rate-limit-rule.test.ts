/** The `<points>/<duration>` form of RATE_LIMIT_CALLER, RATE_LIMIT_AGENT and an agent's rateLimit. */
import { checkAgentRateLimit } from '../../src/limits/agent-rate-limit';
import { parseRateLimit, rateLimitProblem } from '../../src/limits/rate-limit-rule';
import { ArcAgent } from '../../src/router/agent';

describe('parseRateLimit', () => {
  it.each([
    ['100/1s', 100, 1000, '100/1s'],
    ['20/s', 20, 1000, '20/1s'],
    ['6000/1m', 6000, 60_000, '6000/1m'],
    ['50/10s', 50, 10_000, '50/10s'],
    ['1/24h', 1, 86_400_000, '1/24h'],
    [' 7/2m ', 7, 120_000, '7/2m'],
  ])('reads %j', (text, points, windowMs, normal) => {
    expect(parseRateLimit(text)).toEqual({ points, windowMs, text: normal });
  });

  it.each([
    '',
    '100',
    '100/',
    '/1s',
    '100/1',
    '0/1s',
    '100/0s',
    '01/1s',
    '100/1ms',
    '100/1d',
    '1.5/1s',
    '-5/1s',
    '100/25h',
    '100/1441m',
    '1e3/1s',
  ])('refuses %j, naming the variable and the expected form', (text) => {
    expect(rateLimitProblem(text)).not.toBeNull();
    expect(() => parseRateLimit(text, 'RATE_LIMIT_CALLER')).toThrow(
      new RegExp(
        `^RATE_LIMIT_CALLER=${JSON.stringify(text).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} .*<points>/<duration>, e\\.g\\. 100/1s`,
      ),
    );
  });

  it('refuses what is not a string', () => {
    expect(rateLimitProblem(100)).toMatch(/is not a rate limit/);
  });
});

describe("an agent's own rateLimit", () => {
  it('is checked when the agent is created, naming the agent', () => {
    expect(new ArcAgent('a', { rateLimit: '10/1s' }).rateLimit).toBe('10/1s');
    expect(new ArcAgent('b', { rateLimit: { caller: '1/1s', agent: false } }).rateLimit).toEqual({ caller: '1/1s', agent: false });
    expect(() => new ArcAgent('c', { rateLimit: 'ten per second' })).toThrow(/^agent c rateLimit="ten per second" is not a rate limit/);
    expect(() => new ArcAgent('d', { rateLimit: { caller: '10' } })).toThrow(/^agent d rateLimit\.caller="10" is not a rate limit/);
    expect(() => checkAgentRateLimit('e', { callers: '1/1s' } as never)).toThrow(/unknown key "callers"/);
    expect(() => checkAgentRateLimit('f', 5 as never)).toThrow(/must be a string like '10\/1s'/);
  });
});
