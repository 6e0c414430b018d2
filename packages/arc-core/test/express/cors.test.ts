/**
 * CORS in the Express adapter (src/express/cors.ts): off by default (not one CORS header);
 * with CORS_ORIGINS, preflights of /arc, /agent-info and /health answered 204 for an allowed
 * origin and 403 -44006 for another; JSON and SSE replies to an allowed origin carry
 * Access-Control-Allow-Origin, Vary and Expose-Headers; credentials only when asked for; the
 * configuration checked at start.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { loadConfig } from '../../src/config/config';
import { allowedOrigins } from '../../src/express/cors';
import { serverOptions } from '../../src/express/run-service';
import { ArcServer, type ArcServerOptions } from '../../src/express/server';
import { silentLogger } from '../../src/logging/logger';
import { ArcAgent } from '../../src/router/agent';
import { MemoryChatStore } from '../../src/state/memory-chat-store';
import { httpRequest, type RawResponse } from '../support/http';
import { envelope, userMessage } from '../support/util';

const APP = 'https://app.example.com';
const OTHER = 'https://evil.example.net';

async function withServer(options: Partial<ArcServerOptions>, run: (url: string) => Promise<void>): Promise<void> {
  const server = new ArcServer({ serverId: 'cors-test', sseHeartbeatMs: 0, ...options });
  server.addAgent(new ArcAgent('agent-a').on('chat.start', () => 'hello'));
  const { url } = await server.listen(0, '127.0.0.1');
  try {
    await run(url);
  } finally {
    await server.close({ graceMs: 500 });
  }
}

const preflight = (url: string, path: string, origin: string, requestHeaders = 'content-type,authorization'): Promise<RawResponse> =>
  httpRequest(url, {
    method: 'OPTIONS',
    path,
    headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': requestHeaders },
  });

const post = (url: string, origin: string | undefined, stream = false): Promise<RawResponse> =>
  httpRequest(url, {
    body: JSON.stringify(envelope('chat.start', { initialMessage: userMessage('hi'), ...(stream ? { stream: true } : {}) })),
    headers: { 'Content-Type': 'application/arc+json', ...(origin === undefined ? {} : { Origin: origin }) },
  });

const corsHeaders = (headers: IncomingHttpHeaders): Record<string, unknown> =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith('access-control-') || name === 'vary'));

describe('CORS off (the default)', () => {
  it('sends no CORS header, and a preflight is not answered as one', async () => {
    await withServer({}, async (url) => {
      const json = await post(url, APP);
      expect(json.status).toBe(200);
      expect(corsHeaders(json.headers)).toEqual({});
      const stream = await post(url, APP, true);
      expect(stream.headers['content-type']).toBe('text/event-stream');
      expect(corsHeaders(stream.headers)).toEqual({});
      const pre = await preflight(url, '/arc', APP);
      expect(pre.status).toBe(405);
      expect(corsHeaders(pre.headers)).toEqual({});
      const info = await httpRequest(url, { method: 'GET', path: '/agent-info', headers: { Origin: APP } });
      expect(corsHeaders(info.headers)).toEqual({});
    });
  });

  it('empty corsOrigins is off too', async () => {
    await withServer({ corsOrigins: ' , ' }, async (url) => {
      expect(corsHeaders((await post(url, APP)).headers)).toEqual({});
    });
  });
});

describe('CORS with a list of origins', () => {
  const options = { corsOrigins: `${APP}, http://localhost:5173` };

  it.each(['/arc', '/agent-info', '/health', '/health/live'])(
    'preflight of %s from an allowed origin → 204 with the CORS answer',
    async (path) => {
      await withServer(options, async (url) => {
        const res = await preflight(url, path, APP);
        expect(res.status).toBe(204);
        expect(res.text).toBe('');
        expect(corsHeaders(res.headers)).toEqual({
          'access-control-allow-origin': APP,
          'access-control-allow-methods': 'POST, GET, OPTIONS',
          'access-control-allow-headers': 'Content-Type, Authorization, traceparent, tracestate, X-Request-Id',
          'access-control-max-age': '600',
          vary: 'Origin',
        });
      });
    },
  );

  it('preflight from an origin not listed → 403 -44006, no CORS header', async () => {
    await withServer(options, async (url) => {
      const res = await preflight(url, '/arc', OTHER);
      expect(res.status).toBe(403);
      expect(res.headers['content-type']).toBe('application/json');
      expect(corsHeaders(res.headers)).toEqual({ vary: 'Origin' });
      expect(res.json()).toMatchObject({
        arc: '1.0',
        result: null,
        error: {
          code: -44006,
          message: 'Permission denied: this origin may not call this server from a browser',
          details: { origin: OTHER },
        },
      });
    });
  });

  it('POST /arc JSON reply to an allowed origin carries Allow-Origin, Vary and Expose-Headers; no credentials by default', async () => {
    await withServer(options, async (url) => {
      const res = await post(url, 'http://localhost:5173');
      expect(res.status).toBe(200);
      expect(res.json()).toMatchObject({ result: { type: 'chat' }, error: null });
      expect(corsHeaders(res.headers)).toEqual({
        'access-control-allow-origin': 'http://localhost:5173',
        'access-control-expose-headers': 'Retry-After, X-Request-Id, WWW-Authenticate',
        vary: 'Origin',
      });
    });
  });

  it('POST /arc SSE reply to an allowed origin carries them too', async () => {
    await withServer(options, async (url) => {
      const res = await post(url, APP, true);
      expect(res.headers['content-type']).toBe('text/event-stream');
      expect(res.text).toContain('event: done');
      expect(corsHeaders(res.headers)).toEqual({
        'access-control-allow-origin': APP,
        'access-control-expose-headers': 'Retry-After, X-Request-Id, WWW-Authenticate',
        vary: 'Origin',
      });
    });
  });

  it('error replies (an ARC error, a 404 route) to an allowed origin carry them, so the browser can read the error', async () => {
    await withServer(options, async (url) => {
      const missing = await httpRequest(url, {
        body: JSON.stringify(envelope('chat.start', { initialMessage: userMessage('hi') }, { targetAgent: 'ghost' })),
        headers: { 'Content-Type': 'application/arc+json', Origin: APP },
      });
      expect(missing.status).toBe(404);
      expect(missing.headers['access-control-allow-origin']).toBe(APP);
      const route = await httpRequest(url, { method: 'GET', path: '/nowhere', headers: { Origin: APP } });
      expect(route.status).toBe(404);
      expect(route.headers['access-control-allow-origin']).toBe(APP);
    });
  });

  it('a request from an origin not listed, or with no Origin, is served without CORS headers but with Vary', async () => {
    await withServer(options, async (url) => {
      for (const origin of [OTHER, undefined]) {
        const res = await post(url, origin);
        expect(res.status).toBe(200);
        expect(corsHeaders(res.headers)).toEqual({ vary: 'Origin' });
      }
    });
  });

  it('origins are matched as browsers send them: case and default port normalised in the list', async () => {
    await withServer({ corsOrigins: ['HTTPS://App.Example.com:443/'] }, async (url) => {
      expect((await post(url, APP)).headers['access-control-allow-origin']).toBe(APP);
      expect((await post(url, 'https://app.example.com:8443')).headers['access-control-allow-origin']).toBeUndefined();
    });
  });

  it('credentials when asked for: Allow-Credentials with the exact origin', async () => {
    await withServer({ ...options, corsCredentials: true }, async (url) => {
      const pre = await preflight(url, '/arc', APP);
      expect(pre.headers['access-control-allow-origin']).toBe(APP);
      expect(pre.headers['access-control-allow-credentials']).toBe('true');
      const res = await post(url, APP);
      expect(res.headers['access-control-allow-credentials']).toBe('true');
      expect(corsHeaders((await post(url, OTHER)).headers)).toEqual({ vary: 'Origin' });
    });
  });
});

describe('CORS with *', () => {
  it('any origin gets Allow-Origin: *', async () => {
    await withServer({ corsOrigins: '*' }, async (url) => {
      const pre = await preflight(url, '/arc', OTHER);
      expect(pre.status).toBe(204);
      expect(pre.headers['access-control-allow-origin']).toBe('*');
      expect(pre.headers['access-control-allow-credentials']).toBeUndefined();
      expect((await post(url, OTHER, true)).headers['access-control-allow-origin']).toBe('*');
    });
  });

  it('* with credentials, or * with other origins, or a path is refused at construction', () => {
    expect(() => new ArcServer({ serverId: 's', corsOrigins: '*', corsCredentials: true })).toThrow(/not \*/);
    expect(() => allowedOrigins(`*, ${APP}`)).toThrow(/cannot be combined/);
    expect(() => allowedOrigins(`${APP}/app`)).toThrow(/without a path/);
    expect(() => allowedOrigins('null')).toThrow(/is not an origin/);
  });
});

describe('CORS_ORIGINS and CORS_CREDENTIALS in the configuration', () => {
  const defaults = { PORT: 8001, SERVER_ID: 'finance-server' };

  it('unset: neither is in the configuration', () => {
    const cfg = loadConfig({}, defaults);
    expect(cfg.CORS_ORIGINS).toBeUndefined();
    expect(cfg.CORS_CREDENTIALS).toBeUndefined();
  });

  it('accepts *, one origin, or a list (ports, IPv6, a trailing slash)', () => {
    for (const value of ['*', APP, `${APP}, http://localhost:5173,http://[::1]:3000`, 'https://app.example.com/']) {
      expect(loadConfig({ CORS_ORIGINS: value }, defaults).CORS_ORIGINS).toBe(value);
    }
    expect(loadConfig({ CORS_ORIGINS: APP, CORS_CREDENTIALS: 'true' }, defaults).CORS_CREDENTIALS).toBe(true);
  });

  it.each([`${APP}/app`, 'app.example.com', `*, ${APP}`, 'http://localhost:70000', `${APP};http://x`])(
    'refuses CORS_ORIGINS=%s naming it',
    (value) => {
      expect(() => loadConfig({ CORS_ORIGINS: value }, defaults)).toThrow(
        `CORS_ORIGINS=${JSON.stringify(value)} must be * or comma-separated origins like https://app.example.com:8443 (no path)`,
      );
    },
  );

  it('refuses credentials with *, and a CORS_CREDENTIALS that is not a boolean', () => {
    expect(() => loadConfig({ CORS_ORIGINS: '*', CORS_CREDENTIALS: 'true' }, defaults)).toThrow(
      'CORS_CREDENTIALS=true needs CORS_ORIGINS to list the allowed origins, not *',
    );
    expect(() => loadConfig({ CORS_CREDENTIALS: 'yes' }, defaults)).toThrow(/CORS_CREDENTIALS="yes" must be boolean/);
  });

  it('reach the server through serverOptions (what every service passes)', async () => {
    const config = loadConfig({ CORS_ORIGINS: APP, CORS_CREDENTIALS: 'true' }, defaults);
    const opts = serverOptions({ config, logger: silentLogger, chatStore: new MemoryChatStore() });
    expect(opts).toMatchObject({ corsOrigins: APP, corsCredentials: true });
    await withServer({ corsOrigins: opts.corsOrigins, corsCredentials: opts.corsCredentials }, async (url) => {
      const res = await preflight(url, '/arc', APP);
      expect(res.status).toBe(204);
      expect(res.headers['access-control-allow-credentials']).toBe('true');
    });
  });
});
