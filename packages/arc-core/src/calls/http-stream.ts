/**
 * A streamed agent call over HTTP (HttpAgentTransport.stream): POST the envelope with node:http
 * (pooled by Node's global agent, like the axios calls), and read the answer:
 *
 *   200 text/event-stream  → an AgentChatStream; frames read by util/sse-response.ts (`event:` /
 *                            `data:` with or without a space, LF or CRLF framing; comments skipped)
 *   a JSON envelope        → its error as AgentCallError (any status), or its result as a one-chunk
 *                            stream (§8 allows a JSON result to a streamed call)
 *   anything else          → -41003 (unreachable, with the HTTP status); no answer in time → -41006
 *
 * Nothing is retried: a stream is sent once.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { ArcErrorCode } from '../errors/codes';
import {
  EventChatStream,
  resultStream,
  type AgentChatStream,
  type StreamCall,
  type StreamEvent,
  type StreamEventSource,
} from './agent-stream';
import { parseSseData } from '../protocol/sse';
import { SseEventTooLargeError, SseResponseReader, type SseFrame } from '../util/sse-response';
import { AgentCallError } from './errors';

/** Largest JSON answer read (the ArcClient takes any size; an error envelope is small). */
const MAX_JSON_BYTES = 16 * 1024 * 1024;
/** Largest SSE event (or unterminated line) buffered; a larger one fails the stream with -45004. */
export const MAX_SSE_EVENT_CHARS = 16 * 1024 * 1024;

export interface HttpStreamRequest extends StreamCall {
  url: string;
  /** The request id (the JSON answer must echo it). */
  id: string | number;
  /** The envelope, serialised. */
  body: string;
  headers: Readonly<Record<string, string>>;
}

/** Opens the stream; resolves once the target accepted it. */
export function openHttpStream(request: HttpStreamRequest): Promise<AgentChatStream> {
  const { target, method, timeoutMs, signal } = request;
  return new Promise<AgentChatStream>((resolve, reject) => {
    const payload = Buffer.from(request.body, 'utf8');
    const url = new URL(request.url);
    const client = url.protocol === 'https:' ? https : http;
    let settled = false;
    let timer: NodeJS.Timeout | undefined = undefined;
    const onAbort = (): void => fail(AgentCallError.from(signal!.reason, target, method, timeoutMs));
    const done = (): void => {
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (err: AgentCallError): void => {
      if (settled) return;
      done();
      req.destroy();
      reject(err);
    };
    if (signal?.aborted) {
      reject(AgentCallError.from(signal.reason, target, method, timeoutMs));
      return;
    }
    const req = client.request(url, { method: 'POST', headers: { ...request.headers, 'Content-Length': payload.length } }, (res) => {
      if (settled) {
        res.destroy();
        return;
      }
      const type = String(res.headers['content-type'] ?? '').toLowerCase();
      if (res.statusCode === 200 && type.startsWith('text/event-stream')) {
        done();
        resolve(new EventChatStream(new SseSource(req, res, request), request));
        return;
      }
      readBody(res, MAX_JSON_BYTES).then(
        (text) => {
          if (settled) return;
          try {
            const stream = jsonAnswer(res, text, request);
            done();
            resolve(stream);
          } catch (err) {
            fail(AgentCallError.from(err, target, method, timeoutMs));
          }
        },
        (err: unknown) => fail(unreachable(request, `its answer broke off (${errorText(err)})`, res.statusCode, err)),
      );
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      // A refused connection certainly did nothing: worth trying again later.
      fail(unreachable(request, errorText(err), undefined, err, err.code === 'ECONNREFUSED'));
    });
    timer = setTimeout(() => fail(AgentCallError.timeout(target, method, timeoutMs)), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    req.end(payload);
  });
}

/** The answer of a streamed call that is not an event stream: an ARC envelope, or -41003. */
function jsonAnswer(res: IncomingMessage, text: string, request: HttpStreamRequest): AgentChatStream {
  const { target, method } = request;
  const status = res.statusCode ?? 0;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw unreachable(request, `HTTP ${status} with a body that is neither an event stream nor JSON`, status);
  }
  const envelope =
    typeof parsed === 'object' && parsed !== null && (parsed as { arc?: unknown }).arc === '1.0'
      ? (parsed as Record<string, unknown>)
      : undefined;
  if (envelope === undefined || !('result' in envelope || 'error' in envelope)) {
    throw unreachable(request, `HTTP ${status} with a body that is not an ARC envelope`, status);
  }
  const error = envelope.error as { code?: unknown; message?: unknown; details?: unknown } | null | undefined;
  if (error !== null && error !== undefined) {
    const code = Number.isInteger(error.code) ? (error.code as number) : ArcErrorCode.InternalError;
    const message = typeof error.message === 'string' ? error.message : `Agent ${target} answered an error`;
    const retryAfter = /^\d+$/.test(String(res.headers['retry-after'] ?? '')) ? Number(res.headers['retry-after']) : undefined;
    throw AgentCallError.fromArc({ code, message, details: error.details }, target, method, retryAfter);
  }
  if (status < 200 || status >= 300) throw unreachable(request, `HTTP ${status} without an error object`, status);
  if (envelope.id !== request.id) throw unreachable(request, `a reply id ${JSON.stringify(envelope.id)} that is not the request's`, status);
  return resultStream(envelope.result, request);
}

function unreachable(request: HttpStreamRequest, what: string, httpStatus?: number, cause?: unknown, retryable = false): AgentCallError {
  const { target, method } = request;
  return new AgentCallError(ArcErrorCode.AgentUnreachable, `Agent ${target} is unreachable: ${what}`, target, method, {
    details: { agentId: target, ...(httpStatus !== undefined ? { httpStatus } : {}) },
    retryable,
    cause,
  });
}

function errorText(err: unknown): string {
  if (err instanceof Error)
    return (err as NodeJS.ErrnoException).code ? `${(err as NodeJS.ErrnoException).code}: ${err.message}` : err.message;
  return String(err);
}

function readBody(res: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        res.destroy(new Error(`answer larger than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('aborted')));
  });
}

/** The events of a text/event-stream response (util/sse-response.ts), their data parsed. */
class SseSource implements StreamEventSource {
  private readonly reader: SseResponseReader;

  constructor(
    req: http.ClientRequest,
    res: IncomingMessage,
    private readonly call: StreamCall,
  ) {
    this.reader = new SseResponseReader(req, res, MAX_SSE_EVENT_CHARS);
  }

  async next(): Promise<IteratorResult<StreamEvent, unknown>> {
    let frame: SseFrame | undefined;
    try {
      frame = await this.reader.next();
    } catch (err) {
      if (!(err instanceof SseEventTooLargeError)) throw err;
      const { target, method } = this.call;
      throw new AgentCallError(
        ArcErrorCode.MessageTooLarge,
        `Stream error: agent ${target} sent an event larger than ${MAX_SSE_EVENT_CHARS} characters`,
        target,
        method,
        { details: { agentId: target }, retryable: false },
      );
    }
    return frame === undefined
      ? { done: true, value: undefined }
      : { done: false, value: { event: frame.event, data: parseSseData(frame.data) } };
  }

  close(complete: boolean): void {
    void this.reader.close(complete);
  }
}
