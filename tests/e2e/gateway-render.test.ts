/**
 * nginx/render.cjs without running nginx: the compose description comes from
 * services/manifest.json, the per-address limit is an option, nginx's own error statuses all
 * have an error page, and the location that intercepts replicas' errors catches none of their
 * own 400, 404, 429 or 500 envelopes (issue 8, holes 6 and 8; the manifest groundwork).
 */
import { manifest } from '@arc/devkit';
import {
  RenderError,
  SITE_DEFAULTS,
  WORKER,
  composeDescription,
  imageMain,
  renderMain,
  renderSite,
  type GatewayDescription,
} from '../../nginx/render.cjs';

const desc: GatewayDescription = {
  listen: '127.0.0.1:8080',
  services: { finance: { servers: ['127.0.0.1:40001', '127.0.0.1:40002'], agents: ['finance-agent'] } },
};

/** The blocks `location ... { ... }` of a rendering (none nested in this template), and what is outside them. */
function split(site: string): { server: string; locations: Array<{ head: string; body: string }> } {
  const locations: Array<{ head: string; body: string }> = [];
  let server = '';
  const re = /^[ \t]*location[ \t]+(.*?)[ \t]*\{[ \t]*$/gm;
  let last = 0;
  for (let m = re.exec(site); m; m = re.exec(site)) {
    let depth = 1;
    let i = re.lastIndex;
    for (; depth > 0; i++) depth += site[i] === '{' ? 1 : site[i] === '}' ? -1 : 0;
    server += site.slice(last, m.index);
    locations.push({ head: m[1]!.trim(), body: site.slice(re.lastIndex, i - 1) });
    last = re.lastIndex = i;
  }
  return { server: server + site.slice(last), locations };
}
const errorPages = (text: string): number[] => [...text.matchAll(/^\s*error_page\s+(\d+)/gm)].map((m) => Number(m[1]));

describe('nginx/render.cjs', () => {
  it('builds the compose description from services/manifest.json', () => {
    const compose = composeDescription();
    expect(compose).toMatchObject({ listen: '80', serverId: 'nginx', accessLog: '/var/log/nginx/access.log' });
    expect(Object.keys(compose.services)).toEqual(manifest.ids);
    for (const s of manifest.services) {
      expect(compose.services[s.id]).toEqual({ servers: [`${s.id}:${s.port}`], agents: [...s.agents] });
    }
    expect(renderSite(compose)).toContain('server finance:8001 max_fails=');
  });

  it('renders the per-address limit: the default, or connLimitPerIp', () => {
    expect(SITE_DEFAULTS.connLimitPerIp).toBe(256);
    expect(renderSite(desc)).toMatch(/^\s*limit_conn arc_conn_per_ip 256;$/m);
    const site = renderSite({ ...desc, connLimitPerIp: 4 });
    expect(site).toMatch(/^\s*limit_conn arc_conn_per_ip 4;$/m);
    expect(site).toContain('"details":{"limit":4,');
    for (const bad of [0, -1, 1.5, 65536, '4']) {
      expect(() => renderSite({ ...desc, connLimitPerIp: bad as number })).toThrow(RenderError);
    }
  });

  it('maps every status nginx answers by itself to an error page at the server level', () => {
    const { server } = split(renderSite(desc));
    // 400 malformed request, 404 internal paths, 405 TRACE, 413 body, 414 URI, 460 the per-address
    // limit, 494 header too large, 500, 501 Transfer-Encoding, 502/504 replicas, 505 version.
    expect(errorPages(server).sort()).toEqual([400, 404, 405, 413, 414, 460, 494, 500, 501, 502, 504, 505]);
    expect(server).toMatch(/^\s*limit_conn_status 460;$/m);
  });

  it('intercepts from replicas only 413, 503 and nginx’s own statuses, never their 400, 404, 429 or 500', () => {
    const { locations } = split(renderSite(desc));
    const intercepting = locations.filter((l) => /^\s*proxy_intercept_errors on;/m.test(l.body));
    expect(intercepting.map((l) => l.head)).toEqual(['~ "^/arc/(?<arc_agent>[A-Za-z0-9._-]{1,64})/?$"']);
    // 413 re-worded, 460 is nginx's own, 502/504 nginx's own, 503 retried: never a replica's 400/404/429/500.
    for (const l of intercepting) expect(errorPages(l.body)).toEqual([413, 460, 502, 503, 504]);
  });

  it('sets the worker limits in the standalone main context and in the nginx image’s', () => {
    const main = renderMain({ prefix: '/tmp/gw' });
    expect(main).toMatch(new RegExp(`^\\s*worker_connections ${WORKER.connections};$`, 'm'));
    expect(main).toMatch(new RegExp(`^worker_rlimit_nofile ${WORKER.rlimitNofile};$`, 'm'));
    expect(WORKER.rlimitNofile).toBeGreaterThan(2 * WORKER.connections);

    // The main context of the nginx:1.27 image, as it ships.
    const image = [
      'user  nginx;',
      'worker_processes  auto;',
      '',
      'error_log  /var/log/nginx/error.log notice;',
      'pid        /var/run/nginx.pid;',
      '',
      '',
      'events {',
      '    worker_connections  1024;',
      '}',
      '',
      'http {',
      '    include /etc/nginx/conf.d/*.conf;',
      '}',
      '',
    ].join('\n');
    const patched = imageMain(image);
    expect(patched).toContain(`worker_rlimit_nofile ${WORKER.rlimitNofile};\n\nevents {`);
    expect(patched).toContain(`    worker_connections  ${WORKER.connections};`);
    expect(patched).not.toContain('1024');
    expect(patched.replace(/^worker_rlimit_nofile .*\n\n/m, '').replace(String(WORKER.connections), '1024')).toBe(image);
    expect(() => imageMain('http {}\n')).toThrow(RenderError);
    expect(() => imageMain(patched)).toThrow(RenderError);
  });
});
