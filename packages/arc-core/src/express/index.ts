export { ArcServer, createArcServer, type ArcServerOptions, type ListenAddress, type ServerAuthOptions } from './server';
export { CORS_ALLOW_HEADERS, CORS_ALLOW_METHODS, CORS_EXPOSE_HEADERS, type CorsOptions } from './cors';
export { writeReply, writeJson } from './reply-writer';
export { writeSse, SSE_HEADERS } from './sse-writer';
export { runService, serverOptions, type RunServiceOptions, type ServiceDeps } from './run-service';
export type { MetricsOptions } from '../metrics/registry';
