/** Tokens and keys for the auth tests (not a test file: no `.test.ts`). */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { ArcAgent, type HandlerContext } from '../../src/router/agent';
import { installAuth, type AuthGuard, type AuthOptions } from '../../src/auth/auth-hooks';
import { ArcRouter } from '../../src/router/router';
import type { Logger } from '../../src/logging/logger';

export const SECRET = 'test-secret-0123456789abcdef-0123456789';
export const OTHER_SECRET = 'another-secret-0123456789abcdef-012345';
export const ISSUER = 'https://issuer.arc.test';
export const AUDIENCE = 'arc-services';

/** A fixed instant for tokens and the fake clock (2030-01-01). */
export const T0 = Date.UTC(2030, 0, 1) / 1000;

export const ALL_ARC_SCOPES = ['arc.chat.controller', 'arc.task.controller', 'arc.task.notify', 'arc.agent.caller', 'arc.agent.receiver'];

export interface TokenSpec {
  sub?: string;
  scope?: string | string[];
  iss?: string;
  aud?: string | string[];
  /** Seconds after T0 (or `now`) when the token expires; null: no exp claim. */
  expIn?: number | null;
  /** Base instant, epoch seconds (default T0). */
  now?: number;
  extra?: Record<string, unknown>;
  alg?: string;
  kid?: string;
}

/** A token signed with `key` (default: SECRET with HS256). */
export async function mint(spec: TokenSpec = {}, key: KeyObject | Uint8Array | string = SECRET): Promise<string> {
  const now = spec.now ?? T0;
  const claims: Record<string, unknown> = { ...spec.extra };
  if (spec.sub !== undefined) claims.sub = spec.sub;
  else if (!('sub' in claims)) claims.sub = 'caller-1';
  if (spec.scope !== undefined) claims.scope = spec.scope;
  claims.iss = spec.iss ?? ISSUER;
  claims.aud = spec.aud ?? AUDIENCE;
  claims.iat = now;
  if (spec.expIn !== null) claims.exp = now + (spec.expIn ?? 600);
  const header: { alg: string; kid?: string; typ: string } = { alg: spec.alg ?? 'HS256', typ: 'JWT' };
  if (spec.kid !== undefined) header.kid = spec.kid;
  const signingKey = typeof key === 'string' ? new TextEncoder().encode(key) : key;
  return new SignJWT(claims).setProtectedHeader(header).sign(signingKey);
}

/** An unsigned token (`alg: none`). */
export function unsigned(claims: Record<string, unknown>): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
}

export function rsaKeys(): { publicKey: KeyObject; privateKey: KeyObject; publicPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { publicKey, privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export function ecKeys(): { publicKey: KeyObject; privateKey: KeyObject; publicPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { publicKey, privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** A clock the tests move by hand (epoch ms). */
export function fakeClock(startSeconds = T0): { now: () => number; advance(seconds: number): void } {
  let ms = startSeconds * 1000;
  return { now: () => ms, advance: (s) => (ms += s * 1000) };
}

export const bearer = (token: string): { authorization: string } => ({ authorization: `Bearer ${token}` });

/** A router with one agent answering every standard method and two custom ones, with auth installed. */
export function authRouter(
  options: Partial<AuthOptions> = {},
  logger?: Logger,
): { router: ArcRouter; guard: AuthGuard; seen: HandlerContext['auth'][] } {
  const seen: HandlerContext['auth'][] = [];
  const record = (ctx: HandlerContext) => {
    seen.push(ctx.auth);
  };
  const router = new ArcRouter({ serverId: 'auth-server', logger });
  const agent = new ArcAgent('agent-a')
    .on('chat.start', (_p, ctx) => {
      record(ctx);
      return 'hello';
    })
    .on('chat.message', (_p, ctx) => {
      record(ctx);
      return 'reply';
    })
    .on('chat.end', (_p, ctx) => record(ctx))
    .on('task.notification', (_p, ctx) => {
      record(ctx);
      return { success: true as const };
    })
    .on(
      'billing.refund',
      (_p, ctx) => {
        record(ctx);
        return { refunded: true };
      },
      { scopes: ['billing.write', 'arc.agent.caller'] },
    )
    .on('echo.ping', (_p, ctx) => {
      record(ctx);
      return { pong: true };
    });
  for (const m of ['task.create', 'task.send', 'task.info', 'task.cancel', 'task.subscribe'] as const) {
    agent.on(m, ((_p: unknown, ctx: HandlerContext) => {
      record(ctx);
      return { type: 'task', task: { taskId: 'task-1', status: 'SUBMITTED' } };
    }) as never);
  }
  router.addAgent(agent);
  const guard = installAuth(router, { secret: SECRET, issuer: ISSUER, audience: AUDIENCE, now: fakeClock().now, ...options });
  return { router, guard, seen };
}
