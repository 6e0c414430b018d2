export { ArcServer, createArcServer, type ArcServerOptions, type ListenAddress } from './server';
export { writeReply, writeJson } from './reply-writer';
export { writeSse, SSE_HEADERS } from './sse-writer';
export { runService, serverOptions, type RunServiceOptions, type ServiceDeps } from './run-service';
