/**
 * The web inspector's files at /inspector/ (express/inspector.ts): content types, caching, the
 * Content-Security-Policy, HEAD and conditional GETs, the redirect, 404 and 405 envelopes, no
 * directory listing or path escape; off by default; open with auth on while /arc stays closed.
 * Needs @arc/inspector built (turbo builds it before arc-core).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { distDir, inspectorFiles } from '@arc/inspector';
import { createArcServer, type ArcServer } from '../../src/express';
import { INSPECTOR_CSP } from '../../src/express/inspector';
import { ArcAgent } from '../../src/router/agent';
import { httpRequest } from '../support/http';

const get = (url: string, path: string, headers: Record<string, string> = {}, method = 'GET') =>
  httpRequest(url, { method, path, headers });

async function started(options: Partial<Parameters<typeof createArcServer>[0]>): Promise<{ server: ArcServer; url: string }> {
  const server = createArcServer({ serverId: 'inspector-test', ...options }).addAgent(new ArcAgent('echo').on('chat.start', () => 'hi'));
  const { url } = await server.listen(0, '127.0.0.1');
  return { server, url };
}

describe('GET /inspector/ with the inspector on', () => {
  let server: ArcServer;
  let url: string;
  const files = inspectorFiles();
  const script = files.find((f) => f.endsWith('.js'))!;
  const style = files.find((f) => f.endsWith('.css'))!;

  beforeAll(async () => ({ server, url } = await started({ inspector: true })));
  afterAll(() => server.close({ graceMs: 0 }));

  it('redirects /inspector to inspector/ (relative: a proxy prefix stays), the query kept', async () => {
    const res = await get(url, '/inspector');
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe('inspector/');
    expect((await get(url, '/inspector?x=1')).headers.location).toBe('inspector/?x=1');
  });

  it('serves index.html: HTML, revalidated on every load, with a same-origin-only CSP', async () => {
    const res = await get(url, '/inspector/');
    expect(res.status).toBe(200);
    expect(res.text).toBe(readFileSync(join(distDir, 'index.html'), 'utf8'));
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['content-security-policy']).toBe(INSPECTOR_CSP);
    expect(INSPECTOR_CSP).toContain("default-src 'none'");
    expect(INSPECTOR_CSP).toContain("connect-src 'self'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect((await get(url, '/inspector/index.html')).text).toBe(res.text);
  });

  it('serves the hashed script and stylesheet with their types, cached for a year', async () => {
    const js = await get(url, `/inspector/${script}`);
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.text).toBe(readFileSync(join(distDir, script), 'utf8'));
    const css = await get(url, `/inspector/${style}`);
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(Number(css.headers['content-length'])).toBe(readFileSync(join(distDir, style)).length);
  });

  it('answers HEAD with the headers and no body, and a matching If-None-Match with 304', async () => {
    const head = await get(url, '/inspector/', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
    const etag = String(head.headers.etag);
    const again = await get(url, '/inspector/', { 'If-None-Match': etag });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
  });

  it.each([
    '/inspector/nope.js',
    '/inspector/dist/',
    '/inspector/../package.json',
    '/inspector/%2e%2e/package.json',
    '/inspector//index.html',
    '/inspectorindex.html',
    `/inspector/${script}/x`,
  ])('%s is 404 with the ARC envelope, never a file or a listing', async (path) => {
    const res = await get(url, path);
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.json()).toMatchObject({ error: { code: -32600 } });
  });

  it('refuses other methods with 405 -32600 and Allow', async () => {
    for (const path of ['/inspector', '/inspector/', `/inspector/${script}`]) {
      const res = await get(url, path, { 'Content-Type': 'application/json' }, 'POST');
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe('GET, HEAD');
      expect(res.json()).toMatchObject({ error: { code: -32600, details: { allow: ['GET', 'HEAD'] } } });
    }
  });
});

describe('the inspector off, and with auth', () => {
  it('is off by default: /inspector/ is the 404 envelope', async () => {
    const { server, url } = await started({});
    try {
      for (const path of ['/inspector', '/inspector/']) {
        const res = await get(url, path);
        expect(res.status).toBe(404);
        expect(res.json()).toMatchObject({ error: { code: -32600, message: `No route for GET ${path}; ARC requests go to POST /arc` } });
      }
    } finally {
      await server.close({ graceMs: 0 });
    }
  });

  it('needs no token for its files while POST /arc needs one', async () => {
    const { server, url } = await started({ inspector: true, auth: { secret: randomBytes(32).toString('hex') } });
    try {
      expect((await get(url, '/inspector/')).status).toBe(200);
      const arc = await httpRequest(url, { path: '/arc', headers: { 'Content-Type': 'application/json' }, body: '{}' });
      expect(arc.status).toBe(401);
    } finally {
      await server.close({ graceMs: 0 });
    }
  });
});
