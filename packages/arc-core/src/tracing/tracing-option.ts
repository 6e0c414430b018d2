/**
 * ArcServer's `tracing` option: a tracer (with the shutdown of what made it, as createTracing
 * returns), or an OpenTelemetry TracerProvider of the application's own.
 */
import type { Tracer, TracerProvider } from '@opentelemetry/api';
import type { Logger } from '../logging/logger';
import { ARC_TRACER_NAME } from './span-attributes';

export type TracingOption = { readonly tracer: Tracer; shutdown?(): Promise<void> } | TracerProvider;

export function tracerOf(option: TracingOption, version: string): Tracer {
  return 'tracer' in option ? option.tracer : option.getTracer(ARC_TRACER_NAME, version);
}

/**
 * On server close: a tracer's own `shutdown` runs (the server owns it); an application's provider
 * is flushed, not shut down (it may serve others). Spans that cannot be exported (collector down)
 * are logged as lost, never a failed close.
 */
export async function closeTracing(option: TracingOption, logger: Logger): Promise<void> {
  try {
    if ('tracer' in option) await option.shutdown?.();
    else await (option as TracerProvider & { forceFlush?(): Promise<void> }).forceFlush?.();
  } catch (err) {
    logger.warn('tracing: spans not exported at close', { err: err instanceof Error ? err.message : String(err) });
  }
}
