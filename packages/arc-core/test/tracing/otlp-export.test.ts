/**
 * Export over OTLP/HTTP to a collector of our own (node:http on 127.0.0.1:0), from a real service
 * process started as index.ts starts one (runService, fixtures/traced-service.ts): the OTEL_*
 * variables turn tracing on, the SDK (BatchSpanProcessor + OTLPTraceExporter) sends OTLP JSON,
 * and SIGTERM's graceful close flushes it before the process exits, so nothing waits on a timer.
 * A process, not jest's sandbox: the exporter loads node:http with a dynamic import().
 */
import { join } from 'node:path';
import { startProcess } from '@arc/devkit';
import { createTracing } from '../../src/tracing/otel-setup';
import { listenPlain, postJson } from '../support/http';
import { envelope, userMessage, type Json } from '../support/util';
import { INCOMING } from './memory-tracing';

jest.setTimeout(60_000);

interface Received {
  method: string;
  path: string;
  contentType: string | undefined;
  body: string;
}

/** A collector answering every POST with `status`, keeping what it got. */
async function collector(status = 200) {
  const received: Received[] = [];
  const server = await listenPlain((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        path: req.url ?? '',
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end('{}');
    });
  });
  return { ...server, received };
}

/** Every span of an OTLP/JSON export request, with its resource's service.name. */
function spansOf(
  body: string,
): { service: unknown; name: string; traceId: string; parentSpanId: string; kind: number; attributes: Json[] }[] {
  const request = JSON.parse(body) as Json;
  const out = [];
  for (const rs of request.resourceSpans) {
    const service = rs.resource.attributes.find((a: Json) => a.key === 'service.name')?.value.stringValue;
    for (const ss of rs.scopeSpans) for (const span of ss.spans) out.push({ service, ...span });
  }
  return out;
}

/** Starts the traced service with `env`, sends it one chat.start with a traceparent, stops it with SIGTERM. */
async function oneTracedRequest(env: Record<string, string>): Promise<{ output: string; exitCode: number | null }> {
  const service = await startProcess({
    name: 'traced-service',
    command: process.execPath,
    args: [join(__dirname, 'fixtures', 'run-ts.cjs'), join(__dirname, 'fixtures', 'traced-service.ts')],
    env: { PORT: '0', HOST: '127.0.0.1', ...env },
    unsetEnv: ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_SERVICE_NAME', 'OTEL_EXPORTER_OTLP_HEADERS'],
    readyOutput: /"message":"listening"/,
    timeoutMs: 45_000,
  });
  try {
    const port = /"message":"listening".*"port":(\d+)|"port":(\d+).*"message":"listening"/.exec(service.output());
    const res = await postJson(
      `http://127.0.0.1:${port?.[1] ?? port?.[2]}`,
      envelope('chat.start', { initialMessage: userMessage('hi') }, { targetAgent: 'finance-agent', traceId: 'arc-otlp-1' }),
      { 'Content-Type': 'application/json', traceparent: INCOMING.header },
    );
    expect(res.json().error).toBeNull();
  } catch (err) {
    await service.stop('SIGKILL');
    throw err;
  }
  const exit = await service.stop('SIGTERM', 20_000);
  return { output: service.output(), exitCode: exit.code };
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

describe('OTLP/HTTP export from a service process', () => {
  it('OTEL_EXPORTER_OTLP_ENDPOINT + OTEL_SERVICE_NAME: on SIGTERM the span reaches <endpoint>/v1/traces as OTLP JSON', async () => {
    const otlp = await collector();
    closers.push(otlp.close);
    const { exitCode } = await oneTracedRequest({ OTEL_EXPORTER_OTLP_ENDPOINT: `${otlp.url}/otlp`, OTEL_SERVICE_NAME: 'finance' });
    expect(exitCode).toBe(0);

    expect(otlp.received).toHaveLength(1);
    const [post] = otlp.received;
    expect(post).toMatchObject({ method: 'POST', path: '/otlp/v1/traces', contentType: 'application/json' });
    expect(post!.body).toContain('finance-agent/chat.start');
    expect(post!.body).toContain(INCOMING.traceId);
    const spans = spansOf(post!.body);
    expect(spans).toHaveLength(1);
    expect(spans[0]).toMatchObject({
      service: 'finance',
      name: 'finance-agent/chat.start',
      traceId: INCOMING.traceId,
      parentSpanId: INCOMING.spanId,
      kind: 2, // SPAN_KIND_SERVER
    });
    expect(spans[0]!.attributes).toContainEqual({ key: 'arc.trace_id', value: { stringValue: 'arc-otlp-1' } });
    expect(spans[0]!.attributes).toContainEqual({ key: 'rpc.system', value: { stringValue: 'arc' } });
  });

  it('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as is, service.name defaults to SERVER_ID, a refused export is logged, the stop still clean', async () => {
    const otlp = await collector(400);
    closers.push(otlp.close);
    const { exitCode, output } = await oneTracedRequest({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${otlp.url}/custom/traces` });
    expect(exitCode).toBe(0);
    expect(otlp.received.map((r) => r.path)).toEqual(['/custom/traces']);
    expect(spansOf(otlp.received[0]!.body)[0]!.service).toBe('traced-service');
    // The collector said no: the spans are lost, which the log says; the close itself succeeds.
    const lost = output.split('\n').filter((line) => line.includes('"message":"tracing: spans not exported at close"'));
    expect(lost).toHaveLength(1);
    expect(JSON.parse(lost[0]!)).toMatchObject({ level: 'warn', err: expect.stringMatching(/\S/) });
    expect(output).toContain('"message":"stopped"');
  });
});

describe('createTracing', () => {
  it('builds nothing without an endpoint', () => {
    expect(createTracing({ SERVER_ID: 's' })).toBeUndefined();
  });

  it('with one, gives a recording tracer and a shutdown', async () => {
    const tracing = createTracing({ SERVER_ID: 's', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' })!;
    const span = tracing.tracer.startSpan('x');
    expect(span.isRecording()).toBe(true);
    await tracing.shutdown(); // nothing ended: nothing to send
  });
});
