/**
 * How an agent call reaches its target. AgentCalls decides the request (ids, trace, chain,
 * timeout); a transport only carries it and answers with the result or throws AgentCallError.
 * In process (the target is mounted on the same router): InProcessTransport. Otherwise the
 * configured one — HttpAgentTransport (http-transport.ts) or any AgentCallTransport of your own.
 */
import type { AuthContext } from '../auth/caller';
import { ArcErrorCode } from '../errors/codes';
import type { SseEvent } from '../protocol/sse';
import type { ArcReply, RequestMeta, StreamReply } from '../router/request-state';
import { EventChatStream, resultStream, type AgentChatStream, type StreamEvent, type StreamEventSource } from './agent-stream';
import { CALL_CHAIN_HEADER, formatCallChain } from './call-chain';
import { AgentCallError } from './errors';
import { TRACEPARENT_HEADER } from './trace-context';

/** One call, as a transport gets it. */
export interface AgentCallRequest {
  /** Request id (a uuid). */
  id: string;
  target: string;
  method: string;
  params: object;
  /** The calling agent's id. */
  requestAgent: string;
  traceId: string;
  /** The child traceparent to send. */
  traceparent: string;
  /** The chain as the callee sees it (ends with the caller). */
  chain: readonly string[];
  /** Time the call may take, retries included. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** The caller's verified identity (in-process calls pass it on as already authenticated). */
  auth?: AuthContext;
}

export interface AgentCallTransport {
  /** True when this transport knows where `target` is; false makes the call fail with -41001. */
  canReach(target: string): boolean;
  /** The call's result, or an AgentCallError. */
  call(request: AgentCallRequest): Promise<unknown>;
  /**
   * A streamed chat.start / chat.message (`params.stream` is true): resolves once the target
   * accepted it, rejects with AgentCallError for anything that failed before streaming. A
   * transport without it cannot stream (-32603).
   */
  stream?(request: AgentCallRequest): Promise<AgentChatStream>;
}

/** What InProcessTransport needs of the router: which agents it mounts, and its pipeline. */
export interface LocalAgents {
  has(agentId: string): boolean;
  handle(body: unknown, meta: RequestMeta): Promise<ArcReply>;
}

/** The ARC request envelope of a call, whichever transport carries it. */
export function callEnvelope(request: AgentCallRequest): Record<string, unknown> {
  return {
    arc: '1.0',
    id: request.id,
    method: request.method,
    requestAgent: request.requestAgent,
    targetAgent: request.target,
    params: request.params,
    traceId: request.traceId,
  };
}

/** The meta of an in-process request: the call's headers and chain, and an abort for the timeout. */
class CallMeta implements RequestMeta {
  readonly headers: Record<string, string>;
  readonly callChain: readonly string[];
  readonly authenticated: AuthContext | undefined;
  private abortFn: (() => void) | undefined = undefined;

  constructor(request: AgentCallRequest) {
    this.headers = { [TRACEPARENT_HEADER]: request.traceparent, [CALL_CHAIN_HEADER]: formatCallChain(request.chain) };
    this.callChain = request.chain;
    this.authenticated = request.auth;
  }

  onDisconnect(abort: () => void): void {
    this.abortFn = abort;
  }

  abort(): void {
    this.abortFn?.();
  }
}

/** Calls an agent of the same router through router.handle: same validation, hooks, limits and logs; no HTTP. */
export class InProcessTransport implements AgentCallTransport {
  constructor(private readonly local: LocalAgents) {}

  canReach(target: string): boolean {
    return this.local.has(target);
  }

  async call(request: AgentCallRequest): Promise<unknown> {
    const { target, method } = request;
    const reply = await this.send(request);
    if (reply.kind === 'stream') {
      reply.cancel();
      throw new AgentCallError(ArcErrorCode.InternalError, `Agent ${target} answered ${method} with a stream`, target, method, {
        retryable: false,
      });
    }
    const envelope = reply.body;
    if (envelope.error) throw AgentCallError.fromArc(envelope.error, target, method, reply.retryAfter);
    return envelope.result;
  }

  /** A streamed chat call: the target's StreamReply read as chunks (a JSON result: its one message). */
  async stream(request: AgentCallRequest): Promise<AgentChatStream> {
    const { target, method } = request;
    const reply = await this.send(request);
    const call = { target, method, timeoutMs: request.timeoutMs, ...(request.signal !== undefined ? { signal: request.signal } : {}) };
    if (reply.kind === 'stream') return new EventChatStream(new ReplySource(reply), call);
    const envelope = reply.body;
    if (envelope.error) throw AgentCallError.fromArc(envelope.error, target, method, reply.retryAfter);
    return resultStream(envelope.result, call);
  }

  /** Sends the request through the router; its reply, or AgentCallError on timeout or abort before it. */
  private async send(request: AgentCallRequest): Promise<ArcReply> {
    const { target, method, timeoutMs, signal } = request;
    const body = callEnvelope(request);
    const meta = new CallMeta(request);
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const stop = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        meta.abort();
        reject(AgentCallError.timeout(target, method, timeoutMs));
      }, timeoutMs);
      if (signal !== undefined) {
        onAbort = () => {
          meta.abort();
          reject(AgentCallError.from(signal.reason, target, method, timeoutMs));
        };
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }
    });
    const work = this.local.handle(body, meta);
    try {
      return await Promise.race([work, stop]);
    } catch (err) {
      // A reply that still comes must not leave a stream (and its slot) open.
      void work.then((r) => r.kind === 'stream' && r.cancel()).catch(() => undefined);
      throw err;
    } finally {
      clearTimeout(timer);
      if (onAbort !== undefined) signal!.removeEventListener('abort', onAbort);
    }
  }
}

/** The events of an in-process StreamReply; closing cancels it (its slot is freed at once). */
class ReplySource implements StreamEventSource {
  private readonly events: AsyncIterator<SseEvent>;

  constructor(private readonly reply: StreamReply) {
    this.events = reply.events[Symbol.asyncIterator]();
  }

  next(): Promise<IteratorResult<StreamEvent, unknown>> {
    return this.events.next();
  }

  close(complete: boolean): void {
    // Cut off: the slot is freed at once and the handler aborted. Complete: the reply ends
    // itself when its generator returns (reported as a finished stream, not an aborted one).
    if (!complete) this.reply.cancel();
    // A generator left at a `yield` runs its finally; one never started just completes.
    const events = this.events;
    if (events.return !== undefined) {
      try {
        void Promise.resolve(events.return()).catch(() => undefined);
      } catch {
        /* nothing more to release */
      }
    }
  }
}
