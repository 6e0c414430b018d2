/** A tracer whose spans are kept in memory (SimpleSpanProcessor: each span exported when it ends). */
import type { Tracer } from '@opentelemetry/api';
import type { ArcServer } from '../../src/express';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type Sampler,
} from '@opentelemetry/sdk-trace-base';

export interface MemoryTracing {
  provider: BasicTracerProvider;
  tracer: Tracer;
  exporter: InMemorySpanExporter;
  /** The ended spans so far. */
  spans(): ReadableSpan[];
  /** The one ended span with this name (fails the test when there are none or several). */
  span(name: string): ReadableSpan;
}

export function memoryTracing(sampler?: Sampler): MemoryTracing {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)], ...(sampler ? { sampler } : {}) });
  const tracer = provider.getTracer('test');
  const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
  return {
    provider,
    tracer,
    exporter,
    spans,
    span(name) {
      const found = spans().filter((s) => s.name === name);
      if (found.length !== 1)
        throw new Error(
          `expected one span ${name}, got [${spans()
            .map((s) => s.name)
            .join(', ')}]`,
        );
      return found[0]!;
    },
  };
}

/** A W3C traceparent as a caller would send it. */
export const INCOMING = {
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
  get header(): string {
    return `00-${this.traceId}-${this.spanId}-01`;
  },
};

export function parseTraceparentHeader(header: string): { traceId: string; spanId: string; flags: string } {
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(header);
  if (m === null) throw new Error(`not a traceparent: ${header}`);
  return { traceId: m[1]!, spanId: m[2]!, flags: m[3]! };
}

/**
 * `listening(server)`: the server listening on a free loopback port, its URL; every server so
 * started is closed after each test unless the test closed it itself and said so with
 * `listening.forget(server)` (call at the top level of a test file).
 */
export function closedAfterEach(): ((server: ArcServer) => Promise<string>) & { forget(server: ArcServer): void } {
  const servers = new Set<ArcServer>();
  afterEach(async () => {
    for (const s of servers) await s.close({ graceMs: 0 });
    servers.clear();
  });
  const listening = async (server: ArcServer): Promise<string> => {
    servers.add(server);
    return (await server.listen(0, '127.0.0.1')).url;
  };
  return Object.assign(listening, { forget: (server: ArcServer) => void servers.delete(server) });
}
