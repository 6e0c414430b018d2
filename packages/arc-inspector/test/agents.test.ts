import { agentInfoUrl, parseAgentList, withDetails } from '../src/agents';
import { POLL_FIRST_MS, POLL_MAX_MS, nextPollDelay } from '../src/poll';
import { checkParams } from '../src/params';

const PAGE = 'http://127.0.0.1:8080/inspector/';

describe('agentInfoUrl', () => {
  it.each([
    ['/arc', 'http://127.0.0.1:8080/agent-info'],
    ['/arc/', 'http://127.0.0.1:8080/agent-info'],
    ['/arc/finance', 'http://127.0.0.1:8080/agent-info'],
    ['/prefix/arc', 'http://127.0.0.1:8080/prefix/agent-info'],
    ['/somewhere/else?x=1', 'http://127.0.0.1:8080/agent-info'],
  ])('%s → %s', (endpoint, url) => {
    expect(agentInfoUrl(endpoint, PAGE)).toBe(url);
  });
});

describe('parseAgentList', () => {
  it("reads the single server's list: methods and descriptions", () => {
    const list = parseAgentList(
      {
        server: 'multi-agent-server',
        registeredAgents: {
          'hr-agent': { supportedMethods: ['chat.start'], status: 'active', description: 'HR' },
          'finance-agent': { supportedMethods: ['chat.start', 'task.create'], status: 'active' },
        },
      },
      'http://127.0.0.1:8000/agent-info',
    );
    expect(list).toEqual([
      { id: 'finance-agent', methods: ['chat.start', 'task.create'], status: 'active' },
      { id: 'hr-agent', description: 'HR', methods: ['chat.start'], status: 'active' },
    ]);
  });

  it("reads the gateway's list: each agent's endpoint and agent-info, made absolute", () => {
    const from = 'http://127.0.0.1:8080/agent-info';
    const [finance] = parseAgentList(
      { registeredAgents: { 'finance-agent': { endpoint: '/arc/finance', agentInfo: '/agent-info/finance-agent', status: 'active' } } },
      from,
    );
    expect(finance).toEqual({
      id: 'finance-agent',
      endpoint: 'http://127.0.0.1:8080/arc/finance',
      agentInfo: 'http://127.0.0.1:8080/agent-info/finance-agent',
      status: 'active',
    });
    const detailed = withDetails(
      finance!,
      { registeredAgents: { 'finance-agent': { supportedMethods: ['chat.start'], description: 'Invoices' } } },
      finance!.agentInfo!,
    );
    expect(detailed).toMatchObject({ description: 'Invoices', methods: ['chat.start'], endpoint: 'http://127.0.0.1:8080/arc/finance' });
    expect(() => withDetails(finance!, { registeredAgents: {} }, 'http://x/agent-info')).toThrow('does not describe finance-agent');
  });

  it('says what is wrong with an answer that is not an agent list', () => {
    expect(() => parseAgentList({ error: { code: -44001 } }, PAGE)).toThrow('no "registeredAgents" object');
    expect(() => parseAgentList([], PAGE)).toThrow('no "registeredAgents" object');
  });
});

describe('nextPollDelay', () => {
  it('starts soon, backs off while nothing changes, and starts again after a change', () => {
    const delays: number[] = [];
    let d = 0;
    for (let i = 0; i < 10; i++) delays.push((d = nextPollDelay(d, i === 0)));
    expect(delays[0]).toBe(POLL_FIRST_MS);
    for (let i = 1; i < delays.length; i++) expect(delays[i]!).toBeGreaterThanOrEqual(delays[i - 1]!);
    expect(delays.at(-1)).toBe(POLL_MAX_MS);
    expect(nextPollDelay(POLL_MAX_MS, true)).toBe(POLL_FIRST_MS);
  });
});

describe('checkParams', () => {
  it('accepts a JSON object and says why anything else is refused', () => {
    expect(checkParams('{"taskId":"t"}')).toEqual({ params: { taskId: 't' } });
    expect(checkParams('')).toEqual({ problem: 'params is empty: write a JSON object, {} at least' });
    expect(checkParams('[1]')).toEqual({ problem: 'params must be a JSON object ({ … })' });
    expect(checkParams('null')).toEqual({ problem: 'params must be a JSON object ({ … })' });
    expect(checkParams('{"a":')).toMatchObject({ problem: expect.stringMatching(/^Not valid JSON: /) });
  });
});
