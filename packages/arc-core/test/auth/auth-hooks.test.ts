/**
 * The auth hooks (auth/auth-hooks.ts) beyond the scope matrix: the Authorization header's form,
 * binding requestAgent to the token, what handlers see, what is logged (never the token), the
 * caller a transport vouches for (signed webhooks), and the guard for routes outside the pipeline.
 */
import { SIGNED_WEBHOOK_CALLER } from '../../src/auth/caller';
import { bearerToken, installAuth } from '../../src/auth/auth-hooks';
import { AuthError } from '../../src/auth/auth-errors';
import { ArcAgent, type HandlerContext } from '../../src/router/agent';
import { ArcRouter } from '../../src/router/router';
import { recordingLogger } from '../support/recording-logger';
import { envelope, jsonReply, userMessage } from '../support/util';
import { SECRET, authRouter, bearer, fakeClock, mint } from './tokens';

const CHAT_SCOPES = 'arc.chat.controller arc.agent.caller';
const start = (extra: Record<string, unknown> = {}) => envelope('chat.start', { initialMessage: userMessage('hi') }, extra);

const routers: ArcRouter[] = [];
function setup(...args: Parameters<typeof authRouter>) {
  const made = authRouter(...args);
  routers.push(made.router);
  return made;
}
afterAll(async () => {
  for (const r of routers) await r.chatStore.dispose();
});

describe('the Authorization header', () => {
  it.each([
    ['a lowercase scheme (case-sensitive)', 'bearer abc.def.ghi'],
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['no token', 'Bearer '],
    ['two fields after the scheme', 'Bearer abc def'],
    ['the scheme alone', 'Bearer'],
  ])('%s → -44001 / 401 invalid_request', async (_name, authorization) => {
    const { router } = setup();
    const r = await router.handle(start(), { headers: { authorization } });
    expect(r.kind === 'json' && { status: r.status, error: r.body.error, headers: r.headers }).toEqual({
      status: 401,
      error: {
        code: -44001,
        message: "The Authorization header must be 'Bearer <token>' (scheme name case-sensitive)",
        details: { reason: 'malformed_header' },
      },
      headers: {
        'WWW-Authenticate':
          'Bearer realm="arc", error="invalid_request", error_description="The Authorization header must be \'Bearer <token>\' (scheme name case-sensitive)"',
      },
    });
  });

  it('bearerToken takes the token after "Bearer "', () => {
    expect(bearerToken('Bearer a.b.c')).toBe('a.b.c');
    expect(() => bearerToken(['Bearer a', 'Bearer b'])).toThrow(AuthError);
    expect(() => bearerToken(`Bearer ${'x'.repeat(17 * 1024)}`)).toThrow("The Authorization header must be 'Bearer <token>'");
  });

  it('is checked before the envelope: an unauthenticated caller learns nothing of agents (401, not 404)', async () => {
    const { router } = setup();
    const r = await jsonReply(router.handle(start({ targetAgent: 'no-such-agent' })));
    expect(r.status).toBe(401);
    const garbage = await jsonReply(router.handle({ hello: 'world' }));
    expect(garbage.status).toBe(401);
  });

  it('a streaming call without a token gets a JSON 401 before any stream', async () => {
    const { router } = setup();
    const r = await router.handle(envelope('chat.start', { initialMessage: userMessage('hi'), stream: true }));
    expect(r.kind).toBe('json');
    expect(r.status).toBe(401);
  });

  it('a streaming call with a token is streamed, and its handler sees the caller', async () => {
    const router = new ArcRouter({ serverId: 's' });
    routers.push(router);
    const seen: HandlerContext['auth'][] = [];
    router.addAgent(
      new ArcAgent('agent-a').on('chat.start', async function* (_p, ctx) {
        seen.push(ctx.auth);
        yield 'a';
      }),
    );
    installAuth(router, { secret: SECRET, now: fakeClock().now });
    const r = await router.handle(envelope('chat.start', { initialMessage: userMessage('hi'), stream: true }), {
      headers: bearer(await mint({ scope: CHAT_SCOPES, sub: 'streamer' })),
    });
    expect(r.kind).toBe('stream');
    if (r.kind === 'stream') for await (const _e of r.events) void _e;
    expect(seen.map((a) => a?.subject)).toEqual(['streamer']);
  });
});

describe('binding requestAgent to the token (AUTH_BIND_REQUEST_AGENT)', () => {
  it('off (default): any requestAgent', async () => {
    const { router } = setup();
    const r = await jsonReply(
      router.handle(start({ requestAgent: 'someone' }), { headers: bearer(await mint({ sub: 'me', scope: CHAT_SCOPES })) }),
    );
    expect(r.status).toBe(200);
  });

  it('on: requestAgent must be the token sub, else -44002 / 403 without a challenge', async () => {
    const { router, seen } = setup({ bindRequestAgent: true });
    const token = await mint({ sub: 'finance-client', scope: CHAT_SCOPES });
    const ok = await jsonReply(router.handle(start({ requestAgent: 'finance-client' }), { headers: bearer(token) }));
    expect(ok.status).toBe(200);
    const r = await router.handle(start({ requestAgent: 'hr-client' }), { headers: bearer(token) });
    expect(r.kind === 'json' && { status: r.status, error: r.body.error, headers: r.headers }).toEqual({
      status: 403,
      error: {
        code: -44002,
        message: 'This token may not send requests as requestAgent "hr-client": its sub claim names another agent',
        details: { reason: 'agent_mismatch', requestAgent: 'hr-client', claim: 'sub' },
      },
      headers: undefined,
    });
    expect(seen).toHaveLength(1);
  });

  it('on, with another claim (AUTH_AGENT_CLAIM)', async () => {
    const { router } = setup({ bindRequestAgent: true, agentClaim: 'agent_id' });
    const token = await mint({ sub: 'user-9', scope: CHAT_SCOPES, extra: { agent_id: 'support-client' } });
    expect((await jsonReply(router.handle(start({ requestAgent: 'support-client' }), { headers: bearer(token) }))).status).toBe(200);
    const r = await jsonReply(router.handle(start({ requestAgent: 'user-9' }), { headers: bearer(token) }));
    expect(r.status).toBe(403);
    expect(r.body.error.details).toEqual({ reason: 'agent_mismatch', requestAgent: 'user-9', claim: 'agent_id' });
  });

  it('scopes are checked before the binding', async () => {
    const { router } = setup({ bindRequestAgent: true });
    const r = await jsonReply(
      router.handle(start({ requestAgent: 'x' }), { headers: bearer(await mint({ sub: 'y', scope: 'arc.agent.caller' })) }),
    );
    expect(r.body.error.code).toBe(-44003);
  });
});

describe('what handlers and logs see', () => {
  it('context.auth is undefined when auth is off', async () => {
    const router = new ArcRouter({ serverId: 'open' });
    routers.push(router);
    const seen: unknown[] = [];
    router.addAgent(new ArcAgent('agent-a').on('chat.start', (_p, ctx) => void seen.push(ctx.auth, ctx.locals.auth)));
    expect((await jsonReply(router.handle(start()))).status).toBe(200);
    expect(seen).toEqual([undefined, undefined]);
  });

  it('a refusal is logged (warn) with its reason and the caller address, never the token', async () => {
    const logger = recordingLogger();
    const { router } = setup({}, logger);
    const expired = await mint({ now: 1_000_000, expIn: 10, scope: CHAT_SCOPES });
    await router.handle(start(), { headers: bearer(expired), remoteAddress: '198.51.100.7' });
    const weak = await mint({ sub: 'weak-caller', scope: 'arc.agent.caller' });
    await router.handle(start(), { headers: bearer(weak), remoteAddress: '198.51.100.8' });
    const refusals = logger.lines.filter((l) => l.message === 'auth refused');
    expect(refusals).toEqual([
      {
        level: 'warn',
        message: 'auth refused',
        meta: {
          reason: 'token_expired',
          code: -44001,
          remoteAddress: '198.51.100.7',
          agent: 'agent-a',
          method: 'chat.start',
          detail: 'ERR_JWT_EXPIRED',
        },
      },
      {
        level: 'warn',
        message: 'auth refused',
        meta: {
          reason: 'insufficient_scope',
          code: -44003,
          remoteAddress: '198.51.100.8',
          agent: 'agent-a',
          method: 'chat.start',
          requestAgent: 'tester',
          subject: 'weak-caller',
        },
      },
    ]);
    const all = JSON.stringify(logger.lines);
    for (const token of [expired, weak]) for (const part of token.split('.')) expect(all).not.toContain(part);
  });

  it('a caller the transport vouches for (signed webhook) needs no token and may send task.notification only', async () => {
    const { router, seen } = setup({ bindRequestAgent: true });
    const notification = envelope(
      'task.notification',
      { taskId: 't', event: 'TASK_COMPLETED', timestamp: '2030-01-01T00:00:00Z', data: { status: 'COMPLETED' } },
      { requestAgent: 'webhook' },
    );
    const ok = await jsonReply(router.handle(notification, { authenticated: SIGNED_WEBHOOK_CALLER }));
    expect(ok.status).toBe(200);
    expect(seen).toEqual([SIGNED_WEBHOOK_CALLER]);
    const chat = await jsonReply(router.handle(start(), { authenticated: SIGNED_WEBHOOK_CALLER }));
    expect(chat.status).toBe(403);
    expect(chat.body.error.details.provided_scopes).toEqual(['arc.task.notify', 'arc.agent.receiver']);
  });
});

describe('the guard, for routes outside the ARC pipeline (GET /agent-info)', () => {
  it('authenticates headers, and gives the challenge of a refusal', async () => {
    const { guard } = setup();
    const caller = await guard.authenticate(bearer(await mint({ sub: 'reader' })));
    expect(caller.subject).toBe('reader');
    const err = await guard.authenticate({}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as AuthError).code).toBe(-44001);
    expect(guard.challenge(err)).toBe('Bearer realm="arc"');
    expect(guard.challenge(new Error('x'))).toBeUndefined();
  });

  it('uses the configured realm', async () => {
    const { guard } = setup({ realm: 'finance' });
    const err = await guard.authenticate({ authorization: 'Bearer x.y.z' }).catch((e: unknown) => e);
    expect(guard.challenge(err)).toBe(
      'Bearer realm="finance", error="invalid_token", error_description="The bearer token is not a well-formed JWT"',
    );
  });
});
