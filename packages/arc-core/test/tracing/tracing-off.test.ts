/**
 * Tracing off costs nothing: a service whose configuration has no OTLP endpoint never loads an
 * OpenTelemetry SDK package (each is mocked here to throw if anything requires it) and installs no
 * hook, so requests run the untraced pipeline.
 */
import { loadConfig } from '../../src/config/config';
import { createArcServer, serverOptions, type ArcServer } from '../../src/express';
import { silentLogger } from '../../src/logging/logger';
import { ArcAgent } from '../../src/router/agent';
import { MemoryChatStore } from '../../src/state/memory-chat-store';
import { TRACING_SETTINGS } from '../../src/tracing/tracing-config';
import { postJson } from '../support/http';
import { envelope, userMessage } from '../support/util';

const loaded: string[] = [];
jest.mock('@opentelemetry/sdk-trace-base', () => {
  loaded.push('sdk-trace-base');
  throw new Error('@opentelemetry/sdk-trace-base was loaded with tracing off');
});
jest.mock('@opentelemetry/exporter-trace-otlp-http', () => {
  loaded.push('exporter-trace-otlp-http');
  throw new Error('@opentelemetry/exporter-trace-otlp-http was loaded with tracing off');
});
jest.mock('@opentelemetry/resources', () => {
  loaded.push('resources');
  throw new Error('@opentelemetry/resources was loaded with tracing off');
});
jest.mock('@opentelemetry/core', () => {
  loaded.push('core');
  throw new Error('@opentelemetry/core was loaded with tracing off');
});

let server: ArcServer | undefined;
afterEach(async () => {
  await server?.close({ graceMs: 0 });
  server = undefined;
});

describe('tracing off', () => {
  it('a service built from a configuration without OTEL_EXPORTER_OTLP_ENDPOINT loads no SDK and installs no hook', async () => {
    const config = loadConfig({ METRICS_ENABLED: 'false' }, { PORT: 0, SERVER_ID: 'untraced' }, TRACING_SETTINGS);
    const options = serverOptions({ config, logger: silentLogger, chatStore: new MemoryChatStore() });
    expect(options.tracing).toBeUndefined();
    server = createArcServer(options).addAgent(new ArcAgent('finance-agent').on('chat.start', () => 'Welcome'));
    expect(server.router.hooks).toMatchObject({ onRequest: null, preHandler: null, onSend: null, onError: null, onResponse: null });

    const { url } = await server.listen(0, '127.0.0.1');
    const res = await postJson(url, envelope('chat.start', { initialMessage: userMessage('hi') }, { targetAgent: 'finance-agent' }), {
      'Content-Type': 'application/json',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    });
    expect(res.json().result.chat.message.parts[0].content).toBe('Welcome');
    await server.close({ graceMs: 0 });
    server = undefined;
    expect(loaded).toEqual([]);
  });

  it('the mocks do catch a load (so the test above can fail)', () => {
    expect(() => jest.requireMock('@opentelemetry/sdk-trace-base')).toThrow('was loaded with tracing off');
    expect(loaded).toEqual(['sdk-trace-base']);
  });
});
