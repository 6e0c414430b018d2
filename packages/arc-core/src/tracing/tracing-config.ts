/**
 * The OTEL_* variables of tracing, validated at start with arc-core's own (runService adds them
 * to loadConfig's settings):
 *
 *   OTEL_EXPORTER_OTLP_ENDPOINT          OTLP/HTTP collector base URL, e.g. http://otel-collector:4318;
 *                                        spans go to `<url>/v1/traces`. Unset: tracing off, no SDK loaded
 *   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT   the traces URL itself (wins over the base URL; also turns tracing on)
 *   OTEL_SERVICE_NAME                    `service.name` of the spans (default: SERVER_ID)
 *
 * The exporter reads its headers (OTEL_EXPORTER_OTLP_HEADERS: credentials, never logged here)
 * and timeouts from the environment itself.
 */
import type { SettingSchema } from '../config/config';
import type { Logger } from '../logging/logger';
import { createTracing, type Tracing, type TracingConfig } from './otel-setup';

/** An http(s) URL without credentials (they belong in OTEL_EXPORTER_OTLP_HEADERS, not in a setting shown in errors). */
const OTLP_URL = '^https?://[^\\s/?#@]+(/[^\\s?#]*)?$';

export const TRACING_SETTINGS: Readonly<Record<string, SettingSchema>> = Object.freeze({
  OTEL_EXPORTER_OTLP_ENDPOINT: { type: 'string', pattern: OTLP_URL },
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: { type: 'string', pattern: OTLP_URL },
  OTEL_SERVICE_NAME: { type: 'string', pattern: '^[^\\s].{0,254}$' },
});

/** The tracing variables of a validated configuration (absent ones undefined). */
export function tracingConfig(config: { readonly SERVER_ID: string } & Readonly<Record<string, unknown>>): TracingConfig {
  return {
    SERVER_ID: config.SERVER_ID,
    OTEL_EXPORTER_OTLP_ENDPOINT: stringOrUndefined(config.OTEL_EXPORTER_OTLP_ENDPOINT),
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: stringOrUndefined(config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT),
    OTEL_SERVICE_NAME: stringOrUndefined(config.OTEL_SERVICE_NAME),
  };
}

/** The server's `tracing` option from a validated configuration: undefined (and no SDK loaded) without an endpoint. */
export function tracingFromConfig(
  config: { readonly SERVER_ID: string } & Readonly<Record<string, unknown>>,
  logger?: Logger,
): Tracing | undefined {
  return createTracing(tracingConfig(config), logger);
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
