/** The OTEL_* variables (tracing/tracing-config.ts): validated at start, and where spans go. */
import { ConfigError, loadConfig } from '../../src/config/config';
import { tracesUrl } from '../../src/tracing/otel-setup';
import { TRACING_SETTINGS, tracingConfig, tracingFromConfig } from '../../src/tracing/tracing-config';

const DEFAULTS = { PORT: 8000, SERVER_ID: 'finance-server' };
const load = (env: Record<string, string>) => loadConfig(env, DEFAULTS, TRACING_SETTINGS);

describe('tracing configuration', () => {
  it('accepts http(s) collector URLs and a service name', () => {
    const config = load({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector.example.com/v1/traces',
      OTEL_SERVICE_NAME: 'finance',
    });
    expect(tracingConfig(config)).toEqual({
      SERVER_ID: 'finance-server',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector.example.com/v1/traces',
      OTEL_SERVICE_NAME: 'finance',
    });
  });

  it.each([
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'otel-collector:4318'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'grpc://otel-collector:4317'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'http://user:secret@collector:4318'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'http://collector:4318/?x=1'],
    ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'collector/v1/traces'],
    ['OTEL_SERVICE_NAME', ' finance'],
  ])('refuses %s=%j at start, naming the variable', (name, value) => {
    expect(() => load({ [name]: value })).toThrow(ConfigError);
    expect(() => load({ [name]: value })).toThrow(`${name}=`);
  });

  it('unset, or set empty: tracing off', () => {
    expect(tracingFromConfig(load({}))).toBeUndefined();
    expect(tracingFromConfig(load({ OTEL_EXPORTER_OTLP_ENDPOINT: '' }))).toBeUndefined();
    // A configuration loaded without the tracing settings (a service test's loadConfig) is off too.
    expect(tracingFromConfig(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }, DEFAULTS))).toBeUndefined();
  });

  it('spans go to <endpoint>/v1/traces, or to the traces endpoint as is', () => {
    const s = 'svc';
    expect(tracesUrl({ SERVER_ID: s })).toBeUndefined();
    expect(tracesUrl({ SERVER_ID: s, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toBe('http://c:4318/v1/traces');
    expect(tracesUrl({ SERVER_ID: s, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' })).toBe('http://c:4318/v1/traces');
    expect(tracesUrl({ SERVER_ID: s, OTEL_EXPORTER_OTLP_ENDPOINT: 'https://gw/otlp' })).toBe('https://gw/otlp/v1/traces');
    expect(
      tracesUrl({ SERVER_ID: s, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t/x' }),
    ).toBe('http://t/x');
  });
});
