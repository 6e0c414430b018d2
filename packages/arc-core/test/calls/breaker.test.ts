/**
 * The circuit breaker per remote target (calls/circuit-breakers.ts, opossum): what opens it and
 * what does not, fail-fast with -41003 without sending, half-open letting one call through, one
 * breaker per target, in-process calls never wrapped, streams wrapped at their start, logs,
 * shutdown; and over HTTP between two servers.
 */
import { AgentCallService, type AgentCallConfig, type CallOrigin } from '../../src/calls/agent-call-service';
import type { AgentChatStream } from '../../src/calls/agent-stream';
import type { BreakerState } from '../../src/calls/circuit-breakers';
import { AgentCallError } from '../../src/calls/errors';
import type { AgentCallRequest, AgentCallTransport, LocalAgents } from '../../src/calls/transport';
import { ArcErrorCode } from '../../src/errors/codes';
import { createArcServer, type ArcServer } from '../../src/express';
import { ArcAgent } from '../../src/router/agent';
import { listenPlain, postJson } from '../support/http';
import { recordingLogger } from '../support/recording-logger';
import { deferred, envelope, rejection, type Deferred } from '../support/util';

type Behaviour = (request: AgentCallRequest) => Promise<unknown>;

/** A remote transport whose answer per target the test sets; it records what was sent. */
class ScriptedTransport implements AgentCallTransport {
  readonly sent: string[] = [];
  readonly behaviour = new Map<string, Behaviour>();

  canReach(): boolean {
    return true;
  }

  call(request: AgentCallRequest): Promise<unknown> {
    this.sent.push(`${request.target} ${request.method}`);
    return this.behaviour.get(request.target)?.(request) ?? Promise.resolve('ok');
  }

  stream(request: AgentCallRequest): Promise<AgentChatStream> {
    return this.call(request) as Promise<AgentChatStream>;
  }
}

const fail =
  (code: number): Behaviour =>
  (r) =>
    Promise.reject(new AgentCallError(code, `failed with ${code}`, r.target, r.method));

function origin(logger = recordingLogger()): CallOrigin {
  return {
    agentId: 'front',
    traceId: 'trace-breaker',
    w3cTraceId: '0af7651916cd43dd8448eb211c80319c',
    traceFlags: '01',
    chain: undefined,
    auth: undefined,
    deadline: performance.now() + 60_000,
    logger: () => logger,
  };
}

const services: AgentCallService[] = [];
afterEach(() => {
  for (const service of services.splice(0)) service.close();
});

function setup(breaker: AgentCallConfig['breaker'] = { failureThreshold: 3, resetTimeoutMs: 100 }, local?: LocalAgents) {
  const transport = new ScriptedTransport();
  const logger = recordingLogger();
  const states: string[] = [];
  const waiters = new Map<string, Deferred>();
  const service = new AgentCallService(
    { transport, ...(breaker !== undefined ? { breaker } : {}) },
    local ?? { has: () => false, handle: () => Promise.reject(new Error('no local agents')) },
    60_000,
    logger,
  );
  service.observe({
    onCallEnd: () => undefined,
    onBreakerState: (target: string, state: BreakerState) => {
      states.push(`${target} ${state}`);
      waiters.get(`${target} ${state}`)?.resolve();
    },
  });
  /** Resolves when `target` next reaches `state`. */
  const reaches = (target: string, state: BreakerState): Promise<void> => {
    const d = deferred();
    waiters.set(`${target} ${state}`, d);
    return d.promise;
  };
  const call = (target: string, options: { signal?: AbortSignal } = {}) => service.call(origin(), target, 'chat.start', {}, options);
  services.push(service);
  return { transport, logger, states, service, reaches, call };
}

async function callError(p: Promise<unknown>): Promise<AgentCallError> {
  const err = await rejection(p);
  expect(err).toBeInstanceOf(AgentCallError);
  return err as AgentCallError;
}

describe('circuit breaker per remote target', () => {
  it('failureThreshold failures in a row open it; then calls fail fast with -41003, nothing sent', async () => {
    const { transport, logger, call, service } = setup();
    transport.behaviour.set('hr', fail(ArcErrorCode.AgentUnreachable));
    for (let i = 0; i < 3; i++) expect((await callError(call('hr'))).message).toBe('failed with -41003');
    expect(service.breakerState('hr')).toBe('open');
    const refused = await callError(call('hr'));
    expect(transport.sent).toHaveLength(3);
    expect(refused.code).toBe(ArcErrorCode.AgentUnreachable);
    expect(refused.retryable).toBe(true);
    expect(refused.message).toMatch(/^Circuit open for agent hr .*not called; tried again in [01] s \(\d{4}-\d\d-\d\dT/);
    expect(refused.details).toMatchObject({ agentId: 'hr', circuit: 'open' });
    expect(refused.retryAfter).toBe(1);
    const opened = logger.lines.filter((l) => l.message === 'agent call circuit open');
    expect(opened).toEqual([
      { level: 'warn', message: 'agent call circuit open', meta: expect.objectContaining({ target: 'hr', resetTimeoutMs: 100 }) },
    ]);
  });

  it.each([
    ['-41006 timeout', ArcErrorCode.AgentTimeout],
    ['-41002 not available', ArcErrorCode.AgentNotAvailable],
    ['-41011 at capacity', ArcErrorCode.AgentCapacityExceeded],
    ['-44007 rate limited (retryable)', ArcErrorCode.RateLimitExceeded],
  ])('%s counts as a failure', async (_name, code) => {
    const { transport, call, service } = setup();
    transport.behaviour.set('hr', fail(code));
    for (let i = 0; i < 3; i++) await callError(call('hr'));
    expect(service.breakerState('hr')).toBe('open');
  });

  it('errors the target answered on purpose never open it', async () => {
    const { transport, call, service } = setup();
    const codes = [
      ArcErrorCode.InvalidParams,
      ArcErrorCode.ChatNotFound,
      ArcErrorCode.InsufficientScope,
      ArcErrorCode.MethodNotFound,
      -42004,
    ];
    for (let i = 0; i < 20; i++) {
      transport.behaviour.set('hr', fail(codes[i % codes.length]!));
      expect((await callError(call('hr'))).code).toBe(codes[i % codes.length]);
    }
    expect(service.breakerState('hr')).toBe('closed');
    expect(transport.sent).toHaveLength(20);
  });

  it('opens only when at least failureThreshold calls were made and more than half failed', async () => {
    const { transport, call, service } = setup();
    for (let i = 0; i < 3; i++) await call('hr');
    transport.behaviour.set('hr', fail(ArcErrorCode.AgentUnreachable));
    await callError(call('hr')); // 1 of 4
    await callError(call('hr')); // 2 of 5
    await callError(call('hr')); // 3 of 6: half, not more
    expect(service.breakerState('hr')).toBe('closed');
    await callError(call('hr')); // 4 of 7
    expect(service.breakerState('hr')).toBe('open');
  });

  it('half-open lets one call through (others are refused meanwhile); its success closes the breaker', async () => {
    const { transport, logger, call, service, reaches, states } = setup();
    transport.behaviour.set('hr', fail(ArcErrorCode.AgentUnreachable));
    const halfOpen = reaches('hr', 'half-open');
    for (let i = 0; i < 3; i++) await callError(call('hr'));
    await halfOpen;
    const answer = deferred<unknown>();
    transport.behaviour.set('hr', () => answer.promise);
    const trial = call('hr');
    const other = await callError(call('hr'));
    expect(other.message).toMatch(/Circuit half-open for agent hr: a trial call is in flight/);
    expect(other.retryable).toBe(true);
    answer.resolve('recovered');
    await expect(trial).resolves.toBe('recovered');
    expect(service.breakerState('hr')).toBe('closed');
    expect(states).toEqual(['hr closed', 'hr open', 'hr half-open', 'hr closed']);
    expect(logger.lines.map((l) => `${l.level} ${l.message}`)).toEqual(
      expect.arrayContaining([
        'warn agent call circuit open',
        'info agent call circuit half-open: trying one call',
        'info agent call circuit closed',
      ]),
    );
    expect(transport.sent).toHaveLength(4); // 3 failures + the trial
  });

  it('a failed trial call opens it again for another resetTimeoutMs', async () => {
    const { transport, call, reaches, states } = setup();
    transport.behaviour.set('hr', fail(ArcErrorCode.AgentTimeout));
    const halfOpen = reaches('hr', 'half-open');
    for (let i = 0; i < 3; i++) await callError(call('hr'));
    await halfOpen;
    const reopened = reaches('hr', 'open');
    expect((await callError(call('hr'))).code).toBe(ArcErrorCode.AgentTimeout);
    await reopened;
    expect((await callError(call('hr'))).message).toMatch(/^Circuit open/);
    expect(states).toEqual(['hr closed', 'hr open', 'hr half-open', 'hr open']);
  });

  it('one breaker per target: another target is still called', async () => {
    const { transport, call, service } = setup();
    transport.behaviour.set('hr', fail(ArcErrorCode.AgentUnreachable));
    for (let i = 0; i < 3; i++) await callError(call('hr'));
    await expect(call('finance')).resolves.toBe('ok');
    expect(service.breakerState('hr')).toBe('open');
    expect(service.breakerState('finance')).toBe('closed');
  });

  it('calls the caller aborted do not count', async () => {
    const { transport, call, service } = setup();
    transport.behaviour.set('hr', (r) => Promise.reject(AgentCallError.from(r.signal!.reason, r.target, r.method, 1000)));
    for (let i = 0; i < 5; i++) {
      const controller = new AbortController();
      controller.abort();
      await callError(call('hr', { signal: controller.signal }));
    }
    expect(service.breakerState('hr')).toBe('closed');
    expect(transport.sent).toHaveLength(5);
  });

  it('the start of a stream goes through the breaker: failures count, an open breaker refuses streams', async () => {
    const { transport, service } = setup();
    transport.behaviour.set('hr', fail(ArcErrorCode.AgentUnreachable));
    const stream = () => service.stream(origin(), 'hr', 'chat.start', { stream: true });
    for (let i = 0; i < 3; i++) await callError(stream());
    const refused = await callError(stream());
    expect(refused.message).toMatch(/^Circuit open/);
    expect(transport.sent).toEqual(['hr chat.start', 'hr chat.start', 'hr chat.start']);
  });

  it('in-process calls never go through a breaker', async () => {
    let handled = 0;
    const local: LocalAgents = {
      has: (id) => id === 'local-hr',
      handle: (body) => {
        handled++;
        const error = { code: ArcErrorCode.AgentUnreachable, message: 'down', details: {} };
        return Promise.resolve({
          kind: 'json',
          status: 200,
          body: { arc: '1.0', id: (body as { id: string }).id, result: null, error } as never,
        });
      },
    };
    const { call, service } = setup(undefined, local);
    for (let i = 0; i < 10; i++) await callError(call('local-hr'));
    expect(handled).toBe(10);
    expect(service.breakerState('local-hr')).toBeUndefined();
  });

  it('enabled: false: no breaker, every call is sent', async () => {
    const { transport, call, service } = setup({ enabled: false });
    transport.behaviour.set('hr', fail(ArcErrorCode.AgentUnreachable));
    for (let i = 0; i < 10; i++) await callError(call('hr'));
    expect(transport.sent).toHaveLength(10);
    expect(service.breakerState('hr')).toBeUndefined();
  });

  it('refuses bad options', () => {
    const local: LocalAgents = { has: () => false, handle: () => Promise.reject(new Error('none')) };
    const transport = new ScriptedTransport();
    expect(() => new AgentCallService({ transport, breaker: { failureThreshold: 0 } }, local, 1000)).toThrow(/failureThreshold/);
    expect(() => new AgentCallService({ transport, breaker: { resetTimeoutMs: 0 } }, local, 1000)).toThrow(/resetTimeoutMs/);
  });

  it('no breaker timer keeps the process alive; close() shuts them down and later calls are refused unsent', async () => {
    // Timers that keep the event loop alive (unref'd ones are not listed).
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const { transport, call, service } = setup({ failureThreshold: 1, resetTimeoutMs: 60_000 });
    transport.behaviour.set('hr', fail(ArcErrorCode.AgentUnreachable));
    await callError(call('hr'));
    expect(service.breakerState('hr')).toBe('open');
    // The window clock and the open breaker's reset timer run, unref'd.
    expect(timers()).toBe(before);
    service.close();
    expect(service.breakerState('hr')).toBeUndefined();
    const after = await callError(call('finance'));
    expect(after.code).toBe(ArcErrorCode.AgentUnreachable);
    expect(after.message).toMatch(/Agent calls are closed/);
    expect(transport.sent).toEqual(['hr chat.start']);
  });
});

describe('circuit breaker between two servers', () => {
  let upstream: Awaited<ReturnType<typeof listenPlain>>;
  let server: ArcServer;
  let url: string;
  let hits = 0;
  const logger = recordingLogger();

  beforeAll(async () => {
    // A target behind a proxy that answers 502 (as nginx does when the upstream is down).
    upstream = await listenPlain((_req, res) => {
      hits++;
      res.writeHead(502, { 'Content-Type': 'text/html' }).end('<html>Bad Gateway</html>');
    });
    server = createArcServer({
      serverId: 'breaker-a',
      logger,
      agentCalls: { routes: { 'hr-agent': `${upstream.url}/arc` }, breaker: { failureThreshold: 3, resetTimeoutMs: 60_000 } },
    });
    server.addAgent(
      new ArcAgent('front').on('run', async (p, ctx) => {
        try {
          if ((p as { stream?: boolean }).stream) await ctx.agents.chat.startStream('hr-agent', 'hi');
          else await ctx.agents.chat.start('hr-agent', 'hi');
          return { ok: true };
        } catch (err) {
          const e = err as AgentCallError;
          return { code: e.code, message: e.message, retryable: e.retryable };
        }
      }),
    );
    ({ url } = await server.listen(0, '127.0.0.1'));
  });

  afterAll(async () => {
    await server.close({ graceMs: 1000 });
    await upstream.close();
  });

  const run = async (params: Record<string, unknown> = {}) =>
    (await postJson(url, envelope('run', params, { targetAgent: 'front' }))).json().result as {
      code: number;
      message: string;
      retryable: boolean;
    };

  it('502s open it after the threshold; then calls and streams fail fast without reaching the target', async () => {
    for (let i = 0; i < 3; i++) expect((await run()).message).toMatch(/HTTP 502/);
    expect(hits).toBe(3);
    const refused = await run();
    expect(refused).toMatchObject({ code: -41003, retryable: true });
    expect(refused.message).toMatch(/^Circuit open for agent hr-agent/);
    expect((await run({ stream: true })).message).toMatch(/^Circuit open for agent hr-agent/);
    expect(hits).toBe(3);
    expect(server.router.calls.breakerState('hr-agent')).toBe('open');
    expect(logger.lines.filter((l) => l.message === 'agent call circuit open').map((l) => l.meta?.target)).toEqual(['hr-agent']);
  });
});
