/**
 * The Node HTTP server under ArcServer, with the connection limits of issue 8: timeouts for slow
 * and silent connections (connection-limits.ts), ARC envelopes for what Node refuses itself
 * (http-errors.ts), and `Expect: 100-continue` answered by the body limit.
 */
import { createServer, maxHeaderSize, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../logging/logger';
import { UNREADABLE, errorEnvelope } from '../protocol/envelope';
import { declaredTooLarge, tooLarge } from './body-reader';
import { httpServerOptions, type HttpTimeouts } from './connection-limits';
import { createClientErrorListener, refuseExpectation } from './http-errors';
import { writeJson } from './reply-writer';

export interface HttpServerOptions {
  serverId: string;
  bodyLimitBytes: number;
  timeouts: HttpTimeouts;
  logger: Logger;
}

export function createHttpServer(options: HttpServerOptions, onRequest: RequestListener): Server {
  // Host is checked by the request listener: Node's own check (requireHostHeader) answers a bare 400.
  const server = createServer({ ...httpServerOptions(options.timeouts), requireHostHeader: false }, onRequest);
  server.on(
    'clientError',
    createClientErrorListener({
      serverId: options.serverId,
      timeouts: options.timeouts,
      maxHeaderSize, // the process-wide limit (--max-http-header-size); the server sets none of its own
      logger: options.logger,
    }),
  );
  // A body declared larger than the limit is refused before the client sends it: no 100 Continue,
  // and nothing to discard (the client waits for our word before sending), so closed at once.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (declaredTooLarge(req, options.bodyLimitBytes)) {
      writeJson(res, 413, errorEnvelope(UNREADABLE, tooLarge(options.bodyLimitBytes), options.serverId), { Connection: 'close' });
      return;
    }
    res.writeContinue();
    onRequest(req, res);
  });
  server.on('checkExpectation', refuseExpectation(options.serverId));
  return server;
}
