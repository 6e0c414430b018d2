/**
 * The OpenTelemetry SDK behind tracing, built only when an OTLP endpoint is configured: a
 * BasicTracerProvider (no global registration: each server has its own) with a
 * BatchSpanProcessor and the OTLP/HTTP exporter (JSON to `<endpoint>/v1/traces`). The SDK
 * packages are loaded by a `require` inside createTracing, so a service without an endpoint never
 * loads them. `shutdown()` exports what is still buffered; ArcServer#close calls it last.
 *
 * The exporter still reads the rest of its environment itself: OTEL_EXPORTER_OTLP_HEADERS (and
 * _TRACES_HEADERS) for credentials, OTEL_EXPORTER_OTLP_TIMEOUT; the processor OTEL_BSP_*; the
 * provider OTEL_TRACES_SAMPLER(_ARG) and the span limits.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Tracer } from '@opentelemetry/api';
import type { Logger } from '../logging/logger';
import { ARC_TRACER_NAME } from './span-attributes';

/** What tracing needs of the configuration (tracing-config.ts reads it from the environment). */
export interface TracingConfig {
  /** Names the service when OTEL_SERVICE_NAME does not. */
  readonly SERVER_ID: string;
  /** OTLP/HTTP base URL; spans go to `<url>/v1/traces`. Unset (and no traces endpoint): tracing off. */
  readonly OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  /** The traces URL itself, used as is; wins over OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string | undefined;
  /** `service.name` of the spans (default: SERVER_ID). */
  readonly OTEL_SERVICE_NAME?: string | undefined;
}

/** A tracer exporting over OTLP/HTTP, and the way to flush and stop it. */
export interface Tracing {
  readonly tracer: Tracer;
  /** Exports the spans still buffered, then stops exporting. */
  shutdown(): Promise<void>;
}

/** Where spans go: the traces endpoint as is, else `<endpoint>/v1/traces`; undefined: tracing off. */
export function tracesUrl(config: TracingConfig): string | undefined {
  if (config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined) return config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = config.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (base === undefined) return undefined;
  return `${base.endsWith('/') ? base : `${base}/`}v1/traces`;
}

/**
 * The SDK's tracer for this configuration, or undefined (nothing loaded) when no endpoint is set.
 * With a logger, the SDK's own warnings and errors (an export that failed) are logged through it.
 */
export function createTracing(config: TracingConfig, logger?: Logger): Tracing | undefined {
  const url = tracesUrl(config);
  if (url === undefined) return undefined;
  // Requires, not imports: the SDK loads only here (this package compiles to CommonJS).
  /* eslint-disable @typescript-eslint/no-require-imports */
  const api = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
  const { BasicTracerProvider, BatchSpanProcessor } =
    require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  const { OTLPTraceExporter } =
    require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  const { defaultResource, resourceFromAttributes } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  /* eslint-enable @typescript-eslint/no-require-imports */
  if (logger !== undefined) {
    const warn = (message: string, ...args: unknown[]): void =>
      logger.warn(`opentelemetry: ${message}`, { detail: args.map(String).join(' ') });
    const quiet = (): void => undefined;
    api.diag.setLogger(
      { error: warn, warn, info: quiet, debug: quiet, verbose: quiet },
      { logLevel: api.DiagLogLevel.WARN, suppressOverrideMessage: true },
    );
  }
  const provider = new BasicTracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ 'service.name': config.OTEL_SERVICE_NAME ?? config.SERVER_ID })),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }))],
  });
  return { tracer: provider.getTracer(ARC_TRACER_NAME, coreVersion()), shutdown: () => provider.shutdown() };
}

function coreVersion(): string {
  return (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
}
