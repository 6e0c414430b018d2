/**
 * Observability of the distributed services, end to end: the supervisor, finance, HR and support
 * as processes behind the real nginx gateway, exporting their spans over OTLP/HTTP (JSON) to a
 * collector of this test's own (node:http on 127.0.0.1:0), and their Prometheus metrics scraped
 * from each replica directly.
 *
 *   traces   a chat.start sent to the supervisor with a W3C traceparent gives one trace across
 *            two services: the supervisor's SERVER span (child of the caller's span), its CLIENT
 *            span for the call to finance-agent (through nginx), and finance's SERVER span, child
 *            of that client span; an ARC error answer marks the server span (arc.error_code, ERROR);
 *            without a traceparent the supervisor's span is a root, the same two spans under it
 *   metrics  arc_requests_total, arc_agent_calls_total, arc_agent_call_duration_seconds and
 *            arc_circuit_breaker_state count exactly the requests and calls this test made
 *
 * The replicas share one environment (startCluster), so OTEL_SERVICE_NAME is left unset and each
 * resource's service.name is its SERVER_ID (`<serverId>-<index>`, e.g. supervisor-server-1).
 * Spans arrive in batches (OTEL_BSP_SCHEDULE_DELAY=200): the test polls the collector until what
 * it expects is there, with a deadline. Needs nginx: without it the suite fails in CI and is
 * skipped, saying so, elsewhere.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { suiteNeeding } from '@arc/devkit';
import { startCluster, type Cluster } from '../../scripts/lib/cluster.cjs';
import { arcRequest, userText } from './support/processes';

const suite = suiteNeeding(['nginx']);

/** How long spans may take to reach the collector (they are batched every 200 ms). */
const SPAN_DEADLINE_MS = 10_000;

// OTLP/JSON span kinds and status codes.
const SPAN_KIND_SERVER = 2;
const SPAN_KIND_CLIENT = 3;
const STATUS_CODE_ERROR = 2;

/** service.name of the replicas' spans: their SERVER_ID, as startCluster sets it (`<manifest serverId>-<index>`). */
const SUPERVISOR_SERVICE = 'supervisor-server-1';
const FINANCE_SERVICE = 'finance-server-1';

type Json = any;

/** One span as the collector received it, with its resource's service.name. */
interface Span {
  service: string | undefined;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: number;
  status: { code?: number; message?: string } | undefined;
  /** The attributes, by key: string, number (intValue, which OTLP JSON may write as a string) or boolean. */
  attributes: Record<string, string | number | boolean | undefined>;
}

interface Collector {
  url: string;
  /** Every POST to /v1/traces, in arrival order. */
  posts: { path: string; contentType: string | undefined; body: string }[];
  /** Requests to any other path or with another method (there should be none). */
  stray: string[];
  spans(): Span[];
  close(): Promise<void>;
}

/** A fake OTLP/HTTP collector: keeps every POST body to /v1/traces, answers {} with 200. */
async function startCollector(): Promise<Collector> {
  const posts: Collector['posts'] = [];
  const stray: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        posts.push({ path: req.url, contentType: req.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') });
      } else {
        stray.push(`${req.method} ${req.url}`);
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    posts,
    stray,
    spans: () => posts.flatMap((p) => spansOf(p.body)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The value of an OTLP/JSON AnyValue (the scalar kinds). */
function valueOf(v: Json): string | number | boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('boolValue' in v) return Boolean(v.boolValue);
  return undefined;
}

function attributesOf(list: Json[] | undefined): Span['attributes'] {
  return Object.fromEntries((list ?? []).map((a: Json) => [a.key, valueOf(a.value)]));
}

/** Every span of one OTLP/JSON export request (resourceSpans → scopeSpans → spans). */
function spansOf(body: string): Span[] {
  const request = JSON.parse(body) as Json;
  const out: Span[] = [];
  for (const rs of request.resourceSpans ?? []) {
    const service = attributesOf(rs.resource?.attributes)['service.name'];
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          service: typeof service === 'string' ? service : undefined,
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId === '' ? undefined : s.parentSpanId,
          name: s.name,
          kind: s.kind,
          status: s.status,
          attributes: attributesOf(s.attributes),
        });
      }
    }
  }
  return out;
}

/** Polls `find` until it returns something or the deadline passes (then throws, saying what was seen). */
async function eventually<T>(find: () => T | undefined, what: string, seen: () => string, ms = SPAN_DEADLINE_MS): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`${what}: not there within ${ms} ms; seen: ${seen()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** One sample of the Prometheus text format: metric name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;

/** Parses Prometheus text exposition format (0.0.4): comments skipped, label values unescaped. */
function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE_LINE.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const start = LABEL.lastIndex;
      const l = LABEL.exec(body);
      if (!l) throw new Error(`bad labels at ${start} in: ${line}`);
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    if (Number.isNaN(value) && m[3] !== 'NaN') throw new Error(`bad sample value in: ${line}`);
    samples.push({ name: m[1]!, labels, value });
  }
  return samples;
}

/** The value of the series `name` with exactly these labels; undefined when there is none. */
function valueAt(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels);
  const found = samples.filter(
    (s) => s.name === name && Object.keys(s.labels).length === want.length && want.every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${found.length} series`);
  return found[0]?.value;
}

async function scrape(replicaUrl: string): Promise<Sample[]> {
  const res = await fetch(`${replicaUrl}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return parsePrometheus(await res.text());
}

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

suite('observability: OTLP traces across supervisor → nginx → finance, and Prometheus metrics per replica', () => {
  let collector: Collector;
  let cluster: Cluster;
  /** OTEL_* variables of this process, kept out of the replicas' environment (restored afterwards). */
  const outerOtel: Record<string, string | undefined> = {};
  /** What the test sent to the supervisor, for the metrics' expected counts. */
  let chatStarts = 0;
  let unknownChatMessages = 0;

  beforeAll(async () => {
    // The replicas inherit this process's environment: an OTEL_SERVICE_NAME or
    // OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (or a sampler) from outside would change what they export.
    for (const key of Object.keys(process.env).filter((k) => k.startsWith('OTEL_'))) {
      outerOtel[key] = process.env[key];
      delete process.env[key];
    }
    collector = await startCollector();
    cluster = await startCluster({
      replicas: { supervisor: 1, finance: 1, hr: 1, support: 1 },
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_BSP_SCHEDULE_DELAY: '200' },
    });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
    await collector?.close();
    Object.assign(process.env, outerOtel);
  }, 60_000);

  /** A request to the supervisor through the gateway, with `traceparent` when given. */
  const toSupervisor = async (method: string, params: Record<string, unknown>, extra: { traceId?: string; traceparent?: string } = {}) => {
    const res = await fetch(`${cluster.url}/arc/supervisor`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/arc+json', ...(extra.traceparent ? { traceparent: extra.traceparent } : {}) },
      body: JSON.stringify(arcRequest(method, 'supervisor', params, extra.traceId ? { traceId: extra.traceId } : {})),
    });
    return { status: res.status, json: (await res.json()) as Json };
  };

  const chatStart = async (extra: { traceId?: string; traceparent?: string } = {}) => {
    const res = await toSupervisor('chat.start', { initialMessage: userText('I have a question about an invoice') }, extra);
    chatStarts++;
    expect(res.status).toBe(200);
    expect(res.json.error).toBeNull();
    expect(res.json.result.chat.message.parts[0].content).toBe('I can help with invoice inquiries. Please provide invoice number.');
    return res;
  };

  const describeSpans = (traceId?: string) =>
    JSON.stringify(
      collector
        .spans()
        .filter((s) => traceId === undefined || s.traceId === traceId)
        .map((s) => `${s.service} ${s.kind} ${s.name} ${s.traceId}/${s.spanId}<-${s.parentSpanId}`),
    );

  it("a chat.start with a traceparent: the supervisor's server and client spans and finance's server span, one trace", async () => {
    const w3cTraceId = hex(16);
    const callerSpanId = hex(8);
    const arcTraceId = `trace-obs-${hex(6)}`;
    const start = await chatStart({ traceId: arcTraceId, traceparent: `00-${w3cTraceId}-${callerSpanId}-01` });
    expect(start.json.traceId).toBe(arcTraceId);

    const inTrace = () => collector.spans().filter((s) => s.traceId === w3cTraceId);
    const [server, client, financeSpan] = await eventually(
      () => {
        const spans = inTrace();
        const s = spans.find((x) => x.name === 'supervisor/chat.start' && x.kind === SPAN_KIND_SERVER);
        const c = s && spans.find((x) => x.kind === SPAN_KIND_CLIENT && x.parentSpanId === s.spanId);
        const f = c && spans.find((x) => x.kind === SPAN_KIND_SERVER && x.parentSpanId === c.spanId);
        return s && c && f ? ([s, c, f] as const) : undefined;
      },
      'the three spans of the chat.start',
      () => describeSpans(w3cTraceId),
    );

    // The supervisor's request: a child of the caller's span.
    expect(server).toMatchObject({
      service: SUPERVISOR_SERVICE,
      traceId: w3cTraceId,
      parentSpanId: callerSpanId,
      name: 'supervisor/chat.start',
      kind: SPAN_KIND_SERVER,
    });
    expect(server.attributes).toMatchObject({
      'rpc.system': 'arc',
      'rpc.service': 'supervisor',
      'rpc.method': 'chat.start',
      'arc.target_agent': 'supervisor',
      'arc.request_agent': 'e2e-client',
      'arc.trace_id': arcTraceId,
      'arc.transport': 'json',
    });
    expect(server.attributes['arc.error_code']).toBeUndefined();
    expect(server.status?.code).not.toBe(STATUS_CODE_ERROR);

    // Its call to finance-agent (over HTTP, through nginx): a client span, child of the server span.
    expect(client).toMatchObject({
      service: SUPERVISOR_SERVICE,
      traceId: w3cTraceId,
      name: 'finance-agent/chat.start',
      kind: SPAN_KIND_CLIENT,
    });
    expect(client.attributes).toMatchObject({
      'rpc.system': 'arc',
      'rpc.service': 'finance-agent',
      'rpc.method': 'chat.start',
      'arc.request_agent': 'supervisor',
      'arc.target_agent': 'finance-agent',
      'arc.trace_id': arcTraceId,
    });
    expect(client.status?.code).not.toBe(STATUS_CODE_ERROR);

    // Finance's request: a child of the supervisor's client span, in another service.
    expect(financeSpan).toMatchObject({
      service: FINANCE_SERVICE,
      traceId: w3cTraceId,
      name: 'finance-agent/chat.start',
      kind: SPAN_KIND_SERVER,
    });
    expect(financeSpan.attributes).toMatchObject({
      'rpc.system': 'arc',
      'rpc.service': 'finance-agent',
      'rpc.method': 'chat.start',
      'arc.request_agent': 'supervisor',
      'arc.target_agent': 'finance-agent',
      'arc.trace_id': arcTraceId,
      'arc.transport': 'json',
    });
    expect(financeSpan.status?.code).not.toBe(STATUS_CODE_ERROR);

    expect(new Set([server.spanId, client.spanId, financeSpan.spanId]).size).toBe(3);
    expect(new Set([server.service, financeSpan.service]).size).toBe(2);
    // Nothing else in this trace (the supervisor's /agent-info reads are not ARC calls).
    expect(inTrace()).toHaveLength(3);
    // OTLP JSON to <endpoint>/v1/traces, nothing anywhere else.
    expect(collector.posts.every((p) => p.contentType === 'application/json')).toBe(true);
    expect(collector.stray).toEqual([]);
  });

  it('an unknown supervisor chat: -43001, and the server span says so (arc.error_code, status ERROR)', async () => {
    const w3cTraceId = hex(16);
    const callerSpanId = hex(8);
    const arcTraceId = `trace-obs-err-${hex(6)}`;
    const res = await toSupervisor(
      'chat.message',
      { chatId: 'chat-never-started', message: userText('invoice INV-1') },
      { traceId: arcTraceId, traceparent: `00-${w3cTraceId}-${callerSpanId}-01` },
    );
    unknownChatMessages++;
    expect(res.json.error).toMatchObject({ code: -43001 });
    expect(res.json.traceId).toBe(arcTraceId);

    const span = await eventually(
      () => collector.spans().find((s) => s.traceId === w3cTraceId && s.kind === SPAN_KIND_SERVER),
      "the supervisor's chat.message span",
      () => describeSpans(w3cTraceId),
    );
    expect(span).toMatchObject({
      service: SUPERVISOR_SERVICE,
      parentSpanId: callerSpanId,
      name: 'supervisor/chat.message',
      status: { code: STATUS_CODE_ERROR },
    });
    expect(span.attributes).toMatchObject({
      'rpc.system': 'arc',
      'arc.error_code': -43001,
      'error.type': '-43001',
      'arc.trace_id': arcTraceId,
    });
    // No call was made for it: no client span (the check above waited for this trace's export).
    expect(collector.spans().filter((s) => s.traceId === w3cTraceId)).toEqual([span]);
  });

  it('without a traceparent the supervisor span is a root, still with its client and finance spans under it', async () => {
    // One with an ARC traceId of the caller's, one with none (the supervisor makes one up when it calls finance).
    const arcTraceId = `trace-obs-root-${hex(6)}`;
    const given = await chatStart({ traceId: arcTraceId });
    expect(given.json.traceId).toBe(arcTraceId);
    const before = new Set(collector.spans().map((s) => s.spanId));
    const none = await chatStart();
    expect(none.json.traceId ?? null).toBeNull(); // a reply echoes a traceId only when the request had one

    /** A root supervisor/chat.start span matching `pick`, with its client span and finance's server span. */
    const rootTrace = (pick: (root: Span) => boolean) => () => {
      const spans = collector.spans();
      const root = spans.find((s) => s.name === 'supervisor/chat.start' && s.parentSpanId === undefined && pick(s));
      const client = root && spans.find((s) => s.kind === SPAN_KIND_CLIENT && s.parentSpanId === root.spanId);
      const callee = client && spans.find((s) => s.kind === SPAN_KIND_SERVER && s.parentSpanId === client.spanId);
      return root && client && callee ? { root, client, callee, trace: spans.filter((s) => s.traceId === root.traceId) } : undefined;
    };
    const withId = await eventually(
      rootTrace((s) => s.attributes['arc.trace_id'] === arcTraceId),
      `the root trace of ${arcTraceId}`,
      () => describeSpans(),
    );
    const made = await eventually(
      rootTrace((s) => !before.has(s.spanId) && s.attributes['arc.trace_id'] !== arcTraceId),
      'the root trace of the chat.start without a traceId',
      () => describeSpans(),
    );
    for (const { root, client, callee, trace } of [withId, made]) {
      expect(root).toMatchObject({ service: SUPERVISOR_SERVICE, kind: SPAN_KIND_SERVER });
      expect(root.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(client).toMatchObject({ service: SUPERVISOR_SERVICE, name: 'finance-agent/chat.start', traceId: root.traceId });
      expect(callee).toMatchObject({ service: FINANCE_SERVICE, name: 'finance-agent/chat.start', traceId: root.traceId });
      // The ARC traceId the logs carry is on all three spans.
      const arcId = root.attributes['arc.trace_id'];
      expect(arcId).toEqual(expect.any(String));
      expect(client.attributes['arc.trace_id']).toBe(arcId);
      expect(callee.attributes['arc.trace_id']).toBe(arcId);
      expect(trace).toHaveLength(3);
    }
    expect(withId.root.traceId).not.toBe(made.root.traceId);
    // Made up by the supervisor: 32 hex (trace-context.ts newTraceId).
    expect(made.root.attributes['arc.trace_id']).toMatch(/^[0-9a-f]{32}$/);
  });

  it('metrics, scraped from each replica directly, count exactly the requests and calls made', async () => {
    await chatStart();
    // Counted when the reply is built, before it is sent: the scrapes below see every request answered.
    const supervisor = await scrape(cluster.of('supervisor')[0]!.url);
    const count = (samples: Sample[], name: string, labels: Record<string, string>) => valueAt(samples, name, labels) ?? 0;
    expect(count(supervisor, 'arc_requests_total', { agent: 'supervisor', method: 'chat.start', code: 'ok' })).toBe(chatStarts);
    expect(count(supervisor, 'arc_requests_total', { agent: 'supervisor', method: 'chat.message', code: '-43001' })).toBe(
      unknownChatMessages,
    );
    const supervisorRequests = supervisor.filter((s) => s.name === 'arc_requests_total');
    expect(supervisorRequests.reduce((sum, s) => sum + s.value, 0)).toBe(chatStarts + unknownChatMessages);
    expect(count(supervisor, 'arc_agent_calls_total', { target: 'finance-agent', method: 'chat.start', outcome: 'ok' })).toBe(chatStarts);
    // Every call of the supervisor went to finance-agent chat.start, and succeeded.
    const calls = supervisor.filter((s) => s.name === 'arc_agent_calls_total');
    expect(calls.reduce((sum, s) => sum + s.value, 0)).toBe(chatStarts);
    expect(count(supervisor, 'arc_agent_call_duration_seconds_count', { target: 'finance-agent' })).toBe(chatStarts);
    expect(count(supervisor, 'arc_agent_call_duration_seconds_bucket', { target: 'finance-agent', le: '+Inf' })).toBe(chatStarts);
    expect(count(supervisor, 'arc_agent_call_duration_seconds_sum', { target: 'finance-agent' })).toBeGreaterThan(0);
    expect(valueAt(supervisor, 'arc_circuit_breaker_state', { target: 'finance-agent' })).toBe(0);

    const finance = await scrape(cluster.of('finance')[0]!.url);
    expect(count(finance, 'arc_requests_total', { agent: 'finance-agent', method: 'chat.start', code: 'ok' })).toBe(chatStarts);
    expect(finance.filter((s) => s.name === 'arc_requests_total').reduce((sum, s) => sum + s.value, 0)).toBe(chatStarts);
    // Finance called nobody.
    expect(finance.filter((s) => s.name === 'arc_agent_calls_total')).toEqual([]);

    // HR and support were never asked (the supervisor's /agent-info reads are not ARC requests).
    for (const service of ['hr', 'support']) {
      const samples = await scrape(cluster.of(service)[0]!.url);
      expect(samples.filter((s) => s.name === 'arc_requests_total')).toEqual([]);
    }
  });
});
