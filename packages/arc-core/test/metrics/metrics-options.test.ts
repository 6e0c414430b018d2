/**
 * /metrics as runService sets it up from the environment (serverOptions): METRICS_ENABLED
 * (default true; false → ARC 404), and with auth on AUTH_PROTECT_METRICS (default true: 401
 * without a token, 200 with one), the same guard as /agent-info.
 */
import { ConfigError, loadConfig } from '../../src/config/config';
import { createArcServer, serverOptions, type ArcServer } from '../../src/express';
import { silentLogger } from '../../src/logging/logger';
import { ArcAgent } from '../../src/router/agent';
import { MemoryChatStore } from '../../src/state/memory-chat-store';
import { AUDIENCE, ISSUER, SECRET, mint } from '../auth/tokens';
import { httpRequest, type RawResponse } from '../support/http';

async function serveFromEnv(env: Record<string, string>): Promise<{ server: ArcServer; url: string }> {
  const config = loadConfig(env, { PORT: 0, SERVER_ID: 'metrics-env' });
  const server = createArcServer(serverOptions({ config, logger: silentLogger, chatStore: new MemoryChatStore() }));
  server.addAgent(new ArcAgent('finance-agent').on('chat.start', () => 'Hi'));
  const { url } = await server.listen(0, '127.0.0.1');
  return { server, url };
}

const getMetrics = (url: string, headers: Record<string, string> = {}): Promise<RawResponse> =>
  httpRequest(url, { method: 'GET', path: '/metrics', headers });

const AUTH_ENV = { AUTH_JWT_SECRET: SECRET, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE };

describe('METRICS_ENABLED and AUTH_PROTECT_METRICS', () => {
  it('defaults: metrics on, protected when auth is on', () => {
    const config = loadConfig({}, { PORT: 0, SERVER_ID: 's' });
    expect(config.METRICS_ENABLED).toBe(true);
    expect(config.AUTH_PROTECT_METRICS).toBe(true);
    const options = serverOptions({ config, logger: silentLogger, chatStore: new MemoryChatStore() });
    expect(options.metrics).toBe(true);
  });

  it('refuses a METRICS_ENABLED or AUTH_PROTECT_METRICS that is not a boolean', () => {
    expect(() => loadConfig({ METRICS_ENABLED: 'maybe' }, { PORT: 0, SERVER_ID: 's' })).toThrow(ConfigError);
    expect(() => loadConfig({ METRICS_ENABLED: 'maybe' }, { PORT: 0, SERVER_ID: 's' })).toThrow(/METRICS_ENABLED="maybe"/);
    expect(() => loadConfig({ AUTH_PROTECT_METRICS: 'yes please' }, { PORT: 0, SERVER_ID: 's' })).toThrow(/AUTH_PROTECT_METRICS/);
  });

  it('serves /metrics by default, without a token when auth is off', async () => {
    const { server, url } = await serveFromEnv({});
    try {
      const res = await getMetrics(url);
      expect(res.status).toBe(200);
      expect(res.text).toContain('# TYPE arc_requests_total counter');
    } finally {
      await server.close({ graceMs: 1000 });
    }
  });

  it('METRICS_ENABLED=false: GET /metrics is an ARC 404', async () => {
    const { server, url } = await serveFromEnv({ METRICS_ENABLED: 'false' });
    try {
      const res = await getMetrics(url);
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.json()).toMatchObject({ error: { code: -32600 } });
      expect(server.metrics).toBeUndefined();
    } finally {
      await server.close({ graceMs: 1000 });
    }
  });

  it('with auth on: 401 + WWW-Authenticate without a token or with a bad one, 200 with a valid one', async () => {
    const { server, url } = await serveFromEnv(AUTH_ENV);
    try {
      const refused = await getMetrics(url);
      expect(refused.status).toBe(401);
      expect(refused.headers['www-authenticate']).toMatch(/^Bearer realm="arc"/);
      expect(refused.json()).toMatchObject({ error: { code: -44001 } });
      expect((await getMetrics(url, { Authorization: 'Bearer not.a.jwt' })).status).toBe(401);
      const token = await mint({ sub: 'prometheus', now: Math.floor(Date.now() / 1000) });
      const ok = await getMetrics(url, { Authorization: `Bearer ${token}` });
      expect(ok.status).toBe(200);
      expect(ok.text).toContain('# TYPE arc_requests_in_flight gauge');
    } finally {
      await server.close({ graceMs: 1000 });
    }
  });

  it('with auth on and AUTH_PROTECT_METRICS=false: open, while /agent-info stays protected', async () => {
    const { server, url } = await serveFromEnv({ ...AUTH_ENV, AUTH_PROTECT_METRICS: 'false' });
    try {
      expect((await getMetrics(url)).status).toBe(200);
      expect((await httpRequest(url, { method: 'GET', path: '/agent-info' })).status).toBe(401);
    } finally {
      await server.close({ graceMs: 1000 });
    }
  });
});
