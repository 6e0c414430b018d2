/**
 * nginx/render.cjs without running nginx: the compose description comes from
 * services/manifest.json, the per-address limits are options (the request rate also
 * GATEWAY_REQ_LIMIT on the command line, issue 10), nginx's own error statuses all
 * have an error page, and the location that intercepts replicas' errors catches none of their
 * own 400, 404, 429 or 500 envelopes (issue 8, holes 6 and 8; the manifest groundwork).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, manifest } from '@arc/devkit';
import {
  RenderError,
  SITE_DEFAULTS,
  WORKER,
  composeDescription,
  imageMain,
  parseReqLimit,
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

  it('routes GET /agent-info/<agent id> of every agent of every service to its service’s GET /agent-info', () => {
    const compose = composeDescription();
    const { locations } = split(renderSite(compose));
    const agentInfo = locations.filter((l) => l.head.startsWith('= /agent-info/'));
    const expected = manifest.services.flatMap((s) => s.agents.map((agent) => ({ agent, service: s.id })));
    expect(expected.map((e) => e.agent)).toEqual(expect.arrayContaining(['finance-agent', 'hr-agent', 'support-agent', 'supervisor']));
    expect(agentInfo.map((l) => l.head)).toEqual(expected.map((e) => `= /agent-info/${e.agent}`));
    for (const { agent, service } of expected) {
      const body = agentInfo.find((l) => l.head === `= /agent-info/${agent}`)!.body;
      // That service's upstream, its own /agent-info path; the agent named for nginx's 502/504 envelopes.
      expect(body).toMatch(new RegExp(`^\\s*proxy_pass http://arc_${service}/agent-info;$`, 'm'));
      expect(body).toMatch(new RegExp(`^\\s*set \\$arc_agent ${agent};$`, 'm'));
      // GET (and HEAD) only: anything else is nginx's own 405 -32600 with Allow.
      expect(body).toContain('if ($request_method !~ "^(GET|HEAD)$") {');
      expect(body).toMatch(/^\s*add_header Allow "GET, HEAD" always;$/m);
      const refusal = JSON.parse(/return 405 '(\{.*\})';$/m.exec(body)![1]!);
      expect(refusal).toMatchObject({ arc: '1.0', id: null, responseAgent: 'nginx', result: null, error: { code: -32600 } });
      // Authorization passes through: nothing here sets or clears a request header (and a
      // proxy_set_header here would drop the server's, X-Request-Id included).
      expect(body).not.toMatch(/proxy_set_header|proxy_pass_request_headers|proxy_intercept_errors/);
    }
    // Any other agent id: 404 -41001, as for /arc/<unknown>.
    const unknown = locations.find((l) => l.head === '~ "^/agent-info/(?<arc_agent>[A-Za-z0-9._-]{1,64})$"')!;
    expect(unknown.body).toMatch(/return 404 '.*"code":-41001,/);
    // A description's own agents only: a service without agent ids gets no such location.
    const bare = split(renderSite({ listen: '127.0.0.1:8080', services: { finance: { servers: ['127.0.0.1:40001'] } } })).locations;
    expect(bare.filter((l) => l.head.startsWith('= /agent-info/'))).toEqual([]);
  });

  it('answers GET /agent-info itself: every agent with its endpoint /arc/<service> and its /agent-info/<agent id>', () => {
    const { locations } = split(renderSite(composeDescription()));
    const list = locations.find((l) => l.head === '= /agent-info')!;
    const body = JSON.parse(/^\s*return 200 '(\{.*\})';$/m.exec(list.body)![1]!);
    const expected = Object.fromEntries(
      manifest.services.flatMap((s) =>
        s.agents.map((agent) => [agent, { status: 'active', service: s.id, endpoint: `/arc/${s.id}`, agentInfo: `/agent-info/${agent}` }]),
      ),
    );
    expect(body).toMatchObject({
      server: 'nginx',
      status: 'active',
      registeredAgents: expected,
      totalAgents: Object.keys(expected).length,
    });
    // GET (and HEAD) only, as /agent-info/<agent id>.
    expect(list.body).toContain('if ($request_method !~ "^(GET|HEAD)$") {');
    expect(JSON.parse(/return 405 '(\{.*\})';$/m.exec(list.body)![1]!)).toMatchObject({ error: { code: -32600 } });
  });

  it('serves the web inspector of the service the description names (the supervisor in compose), and none without one', () => {
    const compose = composeDescription();
    expect(compose.inspector).toBe('supervisor');
    const { locations } = split(renderSite(compose));
    for (const head of ['= /inspector', '/inspector/']) {
      const block = locations.find((l) => l.head === head)!;
      // The path as it came (no URI on proxy_pass), the service's own answers (no interception).
      expect(block.body).toMatch(/^\s*proxy_pass http:\/\/arc_supervisor;$/m);
      expect(block.body).not.toMatch(/proxy_intercept_errors|proxy_set_header/);
    }
    expect(split(renderSite(desc)).locations.some((l) => l.head.includes('/inspector'))).toBe(false);
    expect(() => renderSite({ ...desc, inspector: 'supervisor' })).toThrow(
      new RenderError('inspector "supervisor" is not a service of the description (finance)'),
    );
  });

  it('takes an agent id equal to its service name as one route (the supervisor service’s agent `supervisor`)', () => {
    const site = renderSite({
      listen: '127.0.0.1:8080',
      services: { ...desc.services, supervisor: { servers: ['127.0.0.1:40009'], agents: ['supervisor'] } },
    });
    expect(site.match(/^\s*supervisor arc_supervisor;$/gm)).toHaveLength(1);
    expect(site).toContain('location = /agent-info/supervisor {');
    // Across services, a route given twice is still refused.
    expect(() =>
      renderSite({
        listen: '127.0.0.1:8080',
        services: { ...desc.services, other: { servers: ['127.0.0.1:40009'], agents: ['finance'] } },
      }),
    ).toThrow(/route \/arc\/finance is given twice/);
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

  it('renders the per-address request rate: the default, reqLimitPerIp, or none with false', () => {
    const reqLimitLocation = (site: string) => split(site).locations.find((l) => l.head === '@arc_req_limit')!.body;
    const details = (site: string) => JSON.parse(/'(\{.*\})';$/m.exec(reqLimitLocation(site))![1]!).error.details;

    // On by default: 1000 a second per client address, 2000 more at once.
    expect(SITE_DEFAULTS.reqLimitPerIp).toEqual({ rate: '1000r/s', burst: 2000 });
    const site = renderSite(desc);
    const { server } = split(site);
    expect(site).toMatch(/^limit_req_zone \$binary_remote_addr zone=arc_req_per_ip:10m rate=1000r\/s;$/m);
    expect(server).toMatch(/^\s*limit_req zone=arc_req_per_ip burst=2000 nodelay;$/m);
    expect(server).toMatch(/^\s*limit_req_status 461;$/m);
    expect(reqLimitLocation(site)).toMatch(/^\s*add_header Retry-After 1 always;$/m);
    expect(reqLimitLocation(site)).toMatch(/^\s*return 429 '/m);
    // The services' -44007 details (limit per windowMs, retryAfterMs), with nginx's burst and scope.
    expect(details(site)).toEqual({ limit: 1000, windowMs: 1000, burst: 2000, retryAfterMs: 1000, scope: 'requestsPerAddress' });

    const low = renderSite({ ...desc, reqLimitPerIp: { rate: '6r/m', burst: 3 } });
    expect(low).toMatch(/^limit_req_zone .* rate=6r\/m;$/m);
    expect(low).toMatch(/^\s*limit_req zone=arc_req_per_ip burst=3 nodelay;$/m);
    // Retry-After: the time the rate takes to let one more request in (10 s at 6 a minute).
    expect(reqLimitLocation(low)).toMatch(/^\s*add_header Retry-After 10 always;$/m);
    expect(details(low)).toEqual({ limit: 6, windowMs: 60_000, burst: 3, retryAfterMs: 10_000, scope: 'requestsPerAddress' });
    expect(renderSite({ ...desc, reqLimitPerIp: { rate: '1r/s' } })).toMatch(/^\s*limit_req zone=arc_req_per_ip nodelay;$/m);

    // Off (the benchmark profile): no zone, no limit_req.
    const off = renderSite({ ...desc, reqLimitPerIp: false });
    expect(off).not.toMatch(/^\s*limit_req/m);
    expect(renderSite({ ...desc, reqLimitPerIp: undefined })).toBe(site);
    for (const bad of [
      true,
      null,
      '1000r/s',
      { rate: '1000' },
      { rate: '0r/s' },
      { rate: '5r/h' },
      { rate: '5r/s', burst: -1 },
      { rate: '5r/s', x: 1 },
    ]) {
      expect(() => renderSite({ ...desc, reqLimitPerIp: bad as never })).toThrow(RenderError);
    }
  });

  it('takes the per-address request rate from GATEWAY_REQ_LIMIT on the command line', () => {
    expect(parseReqLimit('off')).toBe(false);
    expect(parseReqLimit('5000r/s burst=10000')).toEqual({ rate: '5000r/s', burst: 10000 });
    expect(parseReqLimit(' 30r/m ')).toEqual({ rate: '30r/m' });
    for (const bad of ['', 'on', '5000', '5000r/s burst', '5000r/s burst=-1', '0r/s', '5r/h'])
      expect(() => parseReqLimit(bad)).toThrow(RenderError);

    const render = (value?: string) =>
      execFileSync(process.execPath, [join(ROOT, 'nginx', 'render.cjs'), '--compose'], {
        env: { ...process.env, GATEWAY_REQ_LIMIT: value ?? '' },
        encoding: 'utf8',
      });
    expect(render()).toBe(renderSite(composeDescription()));
    expect(render('off')).toBe(renderSite({ ...composeDescription(), reqLimitPerIp: false }));
    expect(render('50r/s burst=100')).toMatch(/^\s*limit_req zone=arc_req_per_ip burst=100 nodelay;$/m);
    expect(() =>
      execFileSync(process.execPath, [join(ROOT, 'nginx', 'render.cjs'), '--compose'], {
        env: { ...process.env, GATEWAY_REQ_LIMIT: 'lots' },
        stdio: 'pipe',
      }),
    ).toThrow(/GATEWAY_REQ_LIMIT must be/);
  });

  it('maps every status nginx answers by itself to an error page at the server level', () => {
    const { server } = split(renderSite(desc));
    // 400 malformed request, 404 internal paths, 405 TRACE, 413 body, 414 URI, 460/461 the per-address
    // limits, 494 header too large, 500, 501 Transfer-Encoding, 502/504 replicas, 505 version.
    expect(errorPages(server).sort()).toEqual([400, 404, 405, 413, 414, 460, 461, 494, 500, 501, 502, 504, 505]);
    expect(server).toMatch(/^\s*limit_conn_status 460;$/m);
  });

  it('intercepts from replicas only 413, 503 and nginx’s own statuses, never their 400, 404, 429 or 500', () => {
    const { locations } = split(renderSite(desc));
    const intercepting = locations.filter((l) => /^\s*proxy_intercept_errors on;/m.test(l.body));
    expect(intercepting.map((l) => l.head)).toEqual(['~ "^/arc/(?<arc_agent>[A-Za-z0-9._-]{1,64})/?$"']);
    // 413 re-worded, 460/461 are nginx's own, 502/504 nginx's own, 503 retried: never a replica's 400/404/429/500.
    for (const l of intercepting) expect(errorPages(l.body)).toEqual([413, 460, 461, 502, 503, 504]);
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
