/**
 * The scope matrix of ARC-PROTOCOL.md §10 / DECISIONS.md 9, every row (standard methods, their
 * aliases, a custom method with declared scopes and one without) against every kind of caller:
 * no token, bad signature, expired, wrong issuer, wrong audience, each required scope missing,
 * all scopes, the legacy arc.stream.controller. Through router.handle with the auth hooks, as a
 * transport would call it: status, code, message, details and the WWW-Authenticate challenge.
 */
import type { ArcRouter, ArcReply } from '../../src/router/router';
import { envelope, userMessage, type Json } from '../support/util';
import { AUDIENCE, ISSUER, OTHER_SECRET, T0, authRouter, bearer, mint } from './tokens';

const CHAT = ['arc.chat.controller', 'arc.agent.caller'];
const TASK = ['arc.task.controller', 'arc.agent.caller'];
const NOTIFY = ['arc.task.notify', 'arc.agent.receiver'];
const REFUND = ['billing.write', 'arc.agent.caller'];

interface Row {
  method: string;
  canonical: string;
  required: string[];
  /** Params; `chatId` stands for a chat opened before the call. */
  params: (chatId: string) => Record<string, unknown>;
  /** The legacy arc.stream.controller stands in for arc.chat.controller. */
  legacy?: boolean;
}

const msg = userMessage('hi');
const ROWS: Row[] = [
  { method: 'chat.start', canonical: 'chat.start', required: CHAT, params: () => ({ initialMessage: msg }), legacy: true },
  { method: 'chat.message', canonical: 'chat.message', required: CHAT, params: (chatId) => ({ chatId, message: msg }), legacy: true },
  { method: 'chat.end', canonical: 'chat.end', required: CHAT, params: (chatId) => ({ chatId }), legacy: true },
  { method: 'stream.start', canonical: 'chat.start', required: CHAT, params: () => ({ initialMessage: msg }), legacy: true },
  { method: 'stream.message', canonical: 'chat.message', required: CHAT, params: (streamId) => ({ streamId, message: msg }), legacy: true },
  { method: 'stream.end', canonical: 'chat.end', required: CHAT, params: (streamId) => ({ streamId }), legacy: true },
  { method: 'task.create', canonical: 'task.create', required: TASK, params: () => ({ initialMessage: msg }) },
  { method: 'task.send', canonical: 'task.send', required: TASK, params: () => ({ taskId: 'task-1', message: msg }) },
  { method: 'task.info', canonical: 'task.info', required: TASK, params: () => ({ taskId: 'task-1' }) },
  { method: 'task.get', canonical: 'task.info', required: TASK, params: () => ({ taskId: 'task-1' }) },
  { method: 'task.cancel', canonical: 'task.cancel', required: TASK, params: () => ({ taskId: 'task-1' }) },
  {
    method: 'task.subscribe',
    canonical: 'task.subscribe',
    required: TASK,
    params: () => ({ taskId: 'task-1', callbackUrl: 'https://hooks.example.com/arc' }),
  },
  {
    method: 'task.notification',
    canonical: 'task.notification',
    required: NOTIFY,
    params: () => ({ taskId: 'task-1', event: 'TASK_COMPLETED', timestamp: '2030-01-01T00:00:00Z', data: { status: 'COMPLETED' } }),
  },
  { method: 'billing.refund', canonical: 'billing.refund', required: REFUND, params: () => ({ invoice: 'INV-1' }) },
  { method: 'echo.ping', canonical: 'echo.ping', required: [], params: () => ({}) },
];

const challenge401 = (description: string) => `Bearer realm="arc", error="invalid_token", error_description="${description}"`;

interface Answer {
  status: number;
  body: Json;
  headers: Record<string, string> | undefined;
}

async function answer(p: Promise<ArcReply>): Promise<Answer> {
  const r = await p;
  if (r.kind !== 'json') throw new Error('expected JSON');
  return { status: r.status, body: r.body as Json, headers: r.headers };
}

describe.each(ROWS)('$method', (row) => {
  let router: ArcRouter;
  let seen: ReturnType<typeof authRouter>['seen'];
  const fullToken = () => mint({ scope: [...new Set([...CHAT, ...TASK, ...NOTIFY, ...REFUND])].join(' ') });

  beforeEach(() => {
    ({ router, seen } = authRouter());
  });
  afterEach(() => router.chatStore.dispose());

  /** A chat opened by a fully scoped caller, for the rows that continue one. */
  async function openChat(): Promise<string> {
    const r = await answer(router.handle(envelope('chat.start', { initialMessage: msg }), { headers: bearer(await fullToken()) }));
    expect(r.status).toBe(200);
    return r.body.result.chat.chatId as string;
  }

  async function call(headers: Record<string, string> | undefined): Promise<Answer> {
    const chatId = row.canonical === 'chat.message' || row.canonical === 'chat.end' ? await openChat() : 'chat-none';
    seen.length = 0;
    return answer(router.handle(envelope(row.method, row.params(chatId)), headers === undefined ? {} : { headers }));
  }

  function expect401(r: Answer, reason: string, message: string, header: string): void {
    expect(r.status).toBe(401);
    expect(r.body.result).toBeNull();
    expect(r.body.error).toEqual({ code: -44001, message, details: { reason } });
    expect(r.headers).toEqual({ 'WWW-Authenticate': header });
    expect(seen).toEqual([]);
  }

  it('no token → -44001 / 401 with a bare Bearer challenge', async () => {
    expect401(await call(undefined), 'missing_token', 'Authentication required: send an Authorization: Bearer token', 'Bearer realm="arc"');
  });

  it('bad signature → -44001 / 401 invalid_token', async () => {
    const token = await mint({ scope: row.required.join(' ') }, OTHER_SECRET);
    const r = await call(bearer(token));
    expect401(r, 'invalid_signature', 'The token signature is invalid', challenge401('The token signature is invalid'));
    expect(JSON.stringify(r.body)).not.toContain(token.split('.')[2]);
  });

  it('expired → -44001 / 401 (never -44004), invalid_token', async () => {
    const token = await mint({ scope: row.required.join(' '), now: T0 - 3600, expIn: 60 });
    expect401(await call(bearer(token)), 'token_expired', 'The token has expired', challenge401('The token has expired'));
  });

  it('wrong issuer → -44001 / 401', async () => {
    const message = `The token issuer is not accepted (expected ${ISSUER})`;
    expect401(
      await call(bearer(await mint({ scope: row.required.join(' '), iss: 'https://evil.test' }))),
      'wrong_issuer',
      message,
      challenge401(message),
    );
  });

  it('wrong audience → -44001 / 401', async () => {
    const message = `The token audience is not accepted (expected ${AUDIENCE})`;
    expect401(
      await call(bearer(await mint({ scope: row.required.join(' '), aud: 'someone-else' }))),
      'wrong_audience',
      message,
      challenge401(message),
    );
  });

  if (row.required.length > 0) {
    it.each(row.required)('missing %s → -44003 / 403 with required_scopes and provided_scopes', async (dropped) => {
      const provided = row.required.filter((s) => s !== dropped);
      const r = await call(bearer(await mint({ scope: provided.join(' ') })));
      const message = `Method ${row.canonical} needs the scopes ${row.required.join(', ')}; the token lacks ${dropped}`;
      expect(r.status).toBe(403);
      expect(r.body.error).toEqual({
        code: -44003,
        message,
        details: { required_scopes: row.required, provided_scopes: provided, method: row.canonical },
      });
      expect(r.headers).toEqual({
        'WWW-Authenticate': `Bearer realm="arc", error="insufficient_scope", error_description="${message}", scope="${row.required.join(' ')}"`,
      });
      expect(seen).toEqual([]);
    });
  } else {
    it('a valid token with no scope at all is enough (no declared scopes)', async () => {
      const r = await call(bearer(await mint({})));
      expect(r.status).toBe(200);
      expect(r.body.error).toBeNull();
      expect(seen).toEqual([{ subject: 'caller-1', scopes: [], claims: expect.objectContaining({ sub: 'caller-1' }) }]);
    });
  }

  it('all its scopes → served; the handler sees the caller as context.auth', async () => {
    const r = await call(bearer(await mint({ sub: 'svc-7', scope: row.required.join(' ') })));
    expect(r.status).toBe(200);
    expect(r.body.error).toBeNull();
    expect(r.headers).toBeUndefined();
    // chat.end and stream.end run the agent's chat.end handler (clean-up) before closing.
    expect(seen).toEqual([
      { subject: 'svc-7', scopes: row.required, claims: expect.objectContaining({ sub: 'svc-7', iss: ISSUER, aud: AUDIENCE }) },
    ]);
  });

  if (row.legacy) {
    it('legacy arc.stream.controller in place of arc.chat.controller → served', async () => {
      const r = await call(bearer(await mint({ scope: 'arc.stream.controller arc.agent.caller' })));
      expect(r.status).toBe(200);
      expect(r.body.error).toBeNull();
      expect(seen).toHaveLength(1);
    });
  } else if (row.required.length > 0) {
    it('arc.stream.controller stands in for nothing but arc.chat.controller → -44003', async () => {
      const r = await call(bearer(await mint({ scope: ['arc.stream.controller', ...row.required.slice(1)] })));
      expect(r.status).toBe(403);
      expect(r.body.error.details.required_scopes).toEqual(row.required);
    });
  }
});

describe('one token, several methods', () => {
  it('a caller allowed one method is still checked for the next (the remembered decision is per scope list)', async () => {
    const { router } = authRouter();
    const headers = bearer(await mint({ scope: CHAT.join(' ') }));
    const start = () => answer(router.handle(envelope('chat.start', { initialMessage: msg }), { headers }));
    const task = () => answer(router.handle(envelope('task.create', { initialMessage: msg }), { headers }));
    expect((await start()).status).toBe(200);
    expect((await start()).status).toBe(200);
    const refused = await task();
    expect(refused.status).toBe(403);
    expect(refused.body.error.details.required_scopes).toEqual(TASK);
    expect((await start()).status).toBe(200);
    expect((await task()).status).toBe(403);
    await router.chatStore.dispose();
  });
});
