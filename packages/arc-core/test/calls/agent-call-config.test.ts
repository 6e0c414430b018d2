/**
 * AGENT_ROUTES, ARC_GATEWAY_URL, AGENT_CALL_TIMEOUT_MS, AGENT_CALL_MAX_HOPS, AGENT_CALL_BREAKER,
 * AGENT_CALL_BREAKER_RESET_MS: parsed, checked at start, into the router's agentCalls.
 */
import { agentCallsFromConfig, parseAgentRoutes } from '../../src/calls/agent-call-config';
import { ConfigError, loadConfig } from '../../src/config/config';
import { serverOptions } from '../../src/express';
import { silentLogger } from '../../src/logging/logger';
import { MemoryChatStore } from '../../src/state/memory-chat-store';

const DEFAULTS = { PORT: 8000, SERVER_ID: 's' };

describe('agent call settings', () => {
  it('AGENT_ROUTES reads id=url pairs, spaces and a trailing comma allowed', () => {
    expect(parseAgentRoutes(' finance-agent=http://finance:8001/arc , hr-agent=https://hr.example/arc,')).toEqual({
      'finance-agent': 'http://finance:8001/arc',
      'hr-agent': 'https://hr.example/arc',
    });
  });

  it.each([
    ['finance-agent', /no agent id/],
    ['=http://x/arc', /no agent id/],
    ['finance-agent=ftp://x/arc', /finance-agent is not an http\(s\) URL/],
    ['finance-agent=http://user:pw@x/arc', /finance-agent is not an http\(s\) URL/],
    ['a=http://x/arc,a=http://y/arc', /a has two routes/],
  ])('refuses AGENT_ROUTES=%s at start, naming the variable', (value, message) => {
    expect(() => loadConfig({ AGENT_ROUTES: value }, DEFAULTS)).toThrow(ConfigError);
    expect(() => loadConfig({ AGENT_ROUTES: value }, DEFAULTS)).toThrow(message);
    expect(() => loadConfig({ AGENT_ROUTES: value }, DEFAULTS)).toThrow(/AGENT_ROUTES/);
  });

  it('refuses an ARC_GATEWAY_URL that is not http(s), and out-of-range timeouts and hops', () => {
    expect(() => loadConfig({ ARC_GATEWAY_URL: 'nginx:80' }, DEFAULTS)).toThrow(/ARC_GATEWAY_URL="nginx:80" must be an http\(s\) URL/);
    expect(() => loadConfig({ AGENT_CALL_TIMEOUT_MS: '10' }, DEFAULTS)).toThrow(/AGENT_CALL_TIMEOUT_MS/);
    expect(() => loadConfig({ AGENT_CALL_MAX_HOPS: '0' }, DEFAULTS)).toThrow(/AGENT_CALL_MAX_HOPS/);
    expect(() => loadConfig({ AGENT_CALL_BREAKER: 'true' }, DEFAULTS)).toThrow(/AGENT_CALL_BREAKER="true"/);
    expect(() => loadConfig({ AGENT_CALL_BREAKER_RESET_MS: '5' }, DEFAULTS)).toThrow(/AGENT_CALL_BREAKER_RESET_MS="5"/);
  });

  it('becomes the router option: defaults, routes and gateway', () => {
    expect(agentCallsFromConfig(loadConfig({}, DEFAULTS))).toEqual({
      timeoutMs: 10000,
      maxHops: 8,
      breaker: { enabled: true, resetTimeoutMs: 10000 },
    });
    const config = loadConfig(
      {
        AGENT_ROUTES: 'hr-agent=http://hr:8002/arc',
        ARC_GATEWAY_URL: 'http://nginx',
        AGENT_CALL_TIMEOUT_MS: '2500',
        AGENT_CALL_MAX_HOPS: '4',
        AGENT_CALL_BREAKER: 'off',
        AGENT_CALL_BREAKER_RESET_MS: '2000',
      },
      DEFAULTS,
    );
    const options = serverOptions({ config, logger: silentLogger, chatStore: new MemoryChatStore() });
    expect(options.agentCalls).toEqual({
      timeoutMs: 2500,
      maxHops: 4,
      breaker: { enabled: false, resetTimeoutMs: 2000 },
      routes: { 'hr-agent': 'http://hr:8002/arc' },
      gatewayUrl: 'http://nginx',
    });
  });
});
