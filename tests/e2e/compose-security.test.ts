/**
 * The docker-compose deployment with auth and rate limits turned on from one env file
 * (`docker compose --env-file docker/security.env up`): `npm run test:containers`
 * (scripts/test-containers.sh) restarts the stack with a copy of docker/security.env whose
 * RATE_LIMIT_CALLER is 20/30s, and runs this file with ARC_COMPOSE_URL and ARC_COMPOSE_ENV_FILE
 * set; without them the suite is skipped, saying so.
 *
 * Through nginx: no token → 401 -44001; a token signed with the env file's secret → served by
 * every agent, the supervisor included (its own calls to finance carry a token it signs with the
 * same secret); one caller's burst over the finance replicas → exactly the limit served in all
 * (the replicas count together in Redis), the rest 429 -44007 with Retry-After.
 */
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { parseRateLimit } from '@arc/core';
import { ArcClient } from '@arc/core/client';
import { manifest, suiteNeeding, type Need } from '@arc/devkit';
import { servedBy } from './support/distributed-checks';
import { arcRequest, post, userText } from './support/processes';

const baseUrl = process.env.ARC_COMPOSE_URL?.replace(/\/+$/, '');
const envFile = process.env.ARC_COMPOSE_ENV_FILE;
const setting = (name: string, value: string | undefined): Need => ({
  name,
  problem: () => (value ? null : `${name} is not set (run it with \`npm run test:containers\`)`),
});
const suite = suiteNeeding([setting('ARC_COMPOSE_URL', baseUrl), setting('ARC_COMPOSE_ENV_FILE', envFile)], { requiredInCi: false });

suite('docker compose deployment with docker/security.env', () => {
  const url = baseUrl!;
  // Read when the suite runs (a skipped suite's body is still collected).
  let env: Record<string, string | undefined> = {};
  let secret = '';
  let limit = { points: 0, windowMs: 0 };
  beforeAll(() => {
    env = parseEnv(readFileSync(envFile!, 'utf8')) as Record<string, string | undefined>;
    secret = env.AUTH_JWT_SECRET ?? '';
    limit = parseRateLimit(env.RATE_LIMIT_CALLER ?? '', 'RATE_LIMIT_CALLER');
  });
  const financeReplicas = manifest.service('finance').replicas.compose;

  async function token(sub: string, scope: string): Promise<string> {
    const claims: Record<string, unknown> = { sub, scope };
    if (env.AUTH_ISSUER) claims.iss = env.AUTH_ISSUER.split(',')[0]!.trim();
    if (env.AUTH_AUDIENCE) claims.aud = env.AUTH_AUDIENCE.split(',')[0]!.trim();
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(secret));
  }

  it('the env file turns auth on and sets a caller limit', () => {
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect(limit.points).toBeGreaterThan(0);
  });

  it('refuses a call without a token through nginx (401 -44001, WWW-Authenticate), /health stays open', async () => {
    const a = await post(`${url}/arc/finance`, arcRequest('chat.start', 'finance-agent', { initialMessage: userText('invoice') }));
    expect(a.status).toBe(401);
    expect(a.json.error.code).toBe(-44001);
    expect(a.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });

  it('serves every agent to a client with a token', async () => {
    const t = await token(`compose-${randomUUID()}`, 'arc.chat.controller arc.agent.caller');
    for (const [route, agent] of [
      ['finance', 'finance-agent'],
      ['hr', 'hr-agent'],
      ['support', 'support-agent'],
    ] as const) {
      const client = new ArcClient(`${url}/arc/${route}`, { requestAgent: 'compose-security', token: t });
      const res = await client.chat.start(agent, 'hello');
      expect(res.result.chat.status).toBe('ACTIVE');
    }
  });

  it('the supervisor calls finance through nginx with a token it signs itself (AUTH_JWT_SECRET), and reads its /agent-info', async () => {
    const t = await token(`compose-${randomUUID()}`, 'arc.chat.controller arc.agent.caller');
    const client = new ArcClient(`${url}/arc/supervisor`, { requestAgent: 'compose-security', token: t });
    const res = await client.chat.start('supervisor', 'I have a question about an invoice');
    expect(res.result.chat.message?.parts[0]).toMatchObject({
      content: 'I can help with invoice inquiries. Please provide invoice number.',
    });
    const next = await client.chat.message('supervisor', res.result.chat.chatId, 'INV-12345');
    expect(next.result.chat.message?.parts[0]).toMatchObject({ content: 'Processing your request: INV-12345' });
  });

  it("enforces one caller's limit across the finance replicas together (counters in Redis)", async () => {
    // A fresh subject: its counter starts with this burst, whose window (30 s) outlasts it.
    const t = await token(`burst-${randomUUID()}`, 'arc.chat.controller arc.agent.caller');
    const headers = { 'Content-Type': 'application/arc+json', Authorization: `Bearer ${t}` };
    const sent = 3 * limit.points;
    const answers = await Promise.all(
      Array.from({ length: sent }, () =>
        post(`${url}/arc/finance`, arcRequest('chat.start', 'finance-agent', { initialMessage: userText('invoice') }), headers),
      ),
    );
    const ok = answers.filter((a) => a.status === 200);
    const limited = answers.filter((a) => a.status === 429);
    const replicas = new Set(answers.map((a) => servedBy(a.headers)));
    console.log(`${sent} requests from one caller: ${ok.length} served, ${limited.length} refused (429), by ${replicas.size} replicas`);
    expect(ok).toHaveLength(limit.points);
    expect(limited).toHaveLength(sent - limit.points);
    expect(replicas.size).toBe(financeReplicas);
    for (const a of limited) {
      expect(a.json.error.code).toBe(-44007);
      expect(a.json.error.details).toMatchObject({ limit: limit.points, windowMs: limit.windowMs });
      expect(Number(a.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
  });
});
