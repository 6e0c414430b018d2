/**
 * POST /arc on plain Node request/response objects: read the body (size-limited), hand it to the
 * transport-free router, write its reply. Express routes to it, and ArcServer also calls it
 * directly for POST /arc so the hot path skips Express's routing and body parsing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CALL_CHAIN_HEADER, parseCallChain } from '../calls/call-chain';
import { ArcError } from '../errors/arc-error';
import { ArcErrorCode } from '../errors/codes';
import { UNREADABLE, errorEnvelope } from '../protocol/envelope';
import type { ArcRouter, RequestMeta } from '../router/router';
import { readBody } from './body-reader';
import { refuseBody } from './refuse-body';
import { writeReply } from './reply-writer';

export interface ArcRequestHandlerOptions {
  router: ArcRouter;
  bodyLimitBytes: number;
  /** True while the server drains: replies then carry `Connection: close`. */
  isDraining: () => boolean;
  /** SSE heartbeat interval in ms (0: none). */
  sseHeartbeatMs?: number;
}

export function createArcRequestHandler(options: ArcRequestHandlerOptions) {
  const { router, bodyLimitBytes } = options;
  return async function handleArcRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // While draining, serve what still arrives on an open connection, then close that connection.
    if (options.isDraining()) res.setHeader('Connection', 'close');
    let body: Buffer;
    try {
      body = await readBody(req, bodyLimitBytes);
    } catch (err) {
      const arc = err instanceof ArcError ? err : new ArcError(ArcErrorCode.ParseError, 'Parse error: the request body could not be read');
      // Answered before the body was read whole: the client reads the answer, the rest is discarded.
      if (!res.headersSent && !res.destroyed)
        refuseBody(req, res, arc.code === ArcErrorCode.MessageTooLarge ? 413 : 400, errorEnvelope(UNREADABLE, arc, router.serverId));
      return;
    }
    const meta = new NodeRequestMeta(req, res);
    const reply = await router.handleBody(body, meta);
    if (res.destroyed) {
      // The caller left while the request was handled: a stream it will never read must still
      // end, or its concurrency slot would stay taken.
      if (reply.kind === 'stream') reply.cancel();
      return;
    }
    const streaming = writeReply(res, reply, { sseHeartbeatMs: options.sseHeartbeatMs });
    if (streaming) await streaming;
  };
}

/**
 * What the router may ask of the HTTP request besides its body. A class, so that the per-request
 * object carries no closures or accessors of its own: the hot path allocates one small object.
 */
class NodeRequestMeta implements RequestMeta {
  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {}

  get headers(): IncomingMessage['headers'] {
    return this.req.headers;
  }

  /** Agent calls: the chain of the `X-Arc-Call-Chain` header, parsed only when a handler calls another agent. */
  get callChain(): string[] | undefined {
    return parseCallChain(this.req.headers[CALL_CHAIN_HEADER]);
  }

  /** Reading the peer address costs a call into libuv: only when someone asks. */
  get remoteAddress(): string | undefined {
    return this.req.socket.remoteAddress;
  }

  /** Wired only if a handler looks at its abort signal. */
  onDisconnect(abort: () => void): void {
    const res = this.res;
    res.once('close', () => {
      if (!res.writableFinished) abort();
    });
  }
}
