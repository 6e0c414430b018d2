/**
 * Every request the inspector makes goes through here and is recorded as an Exchange: the
 * request as sent (headers, the exact body), the response (status, headers, body), and the SSE
 * frames as they arrive. The log pane shows them; "Copy as curl" rebuilds the request from them.
 */
import { curlCommand } from './curl';
import { arcStreamEvent, readSse, type SseFrame } from './sse';

export type ExchangeState = 'pending' | 'streaming' | 'done' | 'failed' | 'aborted';

export interface Exchange {
  seq: number;
  /** What the log shows: an ARC method, or the GET it was. */
  title: string;
  /** A task.info poll: shown folded in the log. */
  quiet: boolean;
  method: 'GET' | 'POST';
  url: string;
  /** As sent, without Authorization (kept apart: `hasToken`). */
  requestHeaders: Record<string, string>;
  hasToken: boolean;
  requestBody?: string;
  stream: boolean;
  state: ExchangeState;
  status?: number;
  statusText?: string;
  responseHeaders: Array<[string, string]>;
  responseBody?: string;
  frames: SseFrame[];
  /** An ARC error from the envelope or an `error` frame, or a network failure. */
  error?: { code?: number; message: string };
  ms?: number;
}

/** The log: the exchanges, newest last, at most MAX_EXCHANGES; subscribers hear of every change. */
export const MAX_EXCHANGES = 200;
let seq = 0;
let requestIds = 0;
let exchanges: Exchange[] = [];
/** The token each exchange was sent with, for "Copy as curl" only (never shown, never logged). */
const tokens = new Map<number, string>();
const listeners = new Set<(list: readonly Exchange[]) => void>();

function changed(): void {
  if (exchanges.length > MAX_EXCHANGES) {
    for (const old of exchanges.slice(0, exchanges.length - MAX_EXCHANGES)) tokens.delete(old.seq);
    exchanges = exchanges.slice(-MAX_EXCHANGES);
  }
  for (const listener of listeners) listener(exchanges);
}

export function subscribe(listener: (list: readonly Exchange[]) => void): () => void {
  listeners.add(listener);
  listener(exchanges);
  return () => listeners.delete(listener);
}

export function clearLog(): void {
  exchanges = [];
  tokens.clear();
  changed();
}

/** Replaces the exchange `ex` in the log by an updated copy (so the view sees a new object). */
function update(ex: Exchange, patch: Partial<Exchange>): Exchange {
  const next = { ...ex, ...patch };
  exchanges = exchanges.map((e) => (e.seq === ex.seq ? next : e));
  changed();
  return next;
}

export interface Connection {
  /** Absolute URL of the ARC endpoint. */
  endpoint: string;
  token: string;
  requestAgent: string;
}

export interface ArcCall {
  method: string;
  targetAgent: string;
  params: unknown;
  /** Read the answer as an SSE stream when the server sends one (params.stream === true). */
  onFrame?: (frame: SseFrame) => void;
  signal?: AbortSignal;
  quiet?: boolean;
}

export interface Outcome {
  exchange: Exchange;
  /** The JSON envelope, for a non-streamed answer. */
  envelope?: Record<string, unknown>;
}

const authHeader = (token: string): Record<string, string> => (token === '' ? {} : { Authorization: `Bearer ${token}` });

/** POSTs an ARC request envelope and records the exchange; resolves once the answer (or the stream) has ended. */
export async function callArc(conn: Connection, call: ArcCall): Promise<Outcome> {
  const id = `inspector-${++requestIds}`;
  const envelope = {
    arc: '1.0',
    id,
    method: call.method,
    requestAgent: conn.requestAgent,
    targetAgent: call.targetAgent,
    params: call.params,
  };
  const body = JSON.stringify(envelope);
  const stream = typeof call.params === 'object' && call.params !== null && (call.params as { stream?: unknown }).stream === true;
  return run(
    {
      title: `${call.method} → ${call.targetAgent}`,
      quiet: call.quiet === true,
      method: 'POST',
      url: conn.endpoint,
      requestHeaders: { 'Content-Type': 'application/arc+json' },
      hasToken: conn.token !== '',
      requestBody: body,
      stream,
    },
    conn.token,
    call,
  );
}

/** GETs a JSON document (an /agent-info) and records the exchange. */
export async function getJson(url: string, token: string, title: string): Promise<Outcome> {
  return run(
    { title, quiet: false, method: 'GET', url, requestHeaders: { Accept: 'application/json' }, hasToken: token !== '', stream: false },
    token,
    {},
  );
}

type Request = Pick<Exchange, 'title' | 'quiet' | 'method' | 'url' | 'requestHeaders' | 'hasToken' | 'requestBody' | 'stream'>;

async function run(request: Request, token: string, call: Pick<ArcCall, 'onFrame' | 'signal'>): Promise<Outcome> {
  let ex: Exchange = { ...request, seq: ++seq, state: 'pending', responseHeaders: [], frames: [] };
  if (token !== '') tokens.set(ex.seq, token);
  exchanges = [...exchanges, ex];
  changed();
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  try {
    const res = await fetch(request.url, {
      method: request.method,
      headers: { ...request.requestHeaders, ...authHeader(token) },
      body: request.requestBody,
      signal: call.signal,
      cache: 'no-store',
    });
    ex = update(ex, { status: res.status, statusText: res.statusText, responseHeaders: [...res.headers.entries()] });
    if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream') && res.body !== null) {
      ex = update(ex, { state: 'streaming' });
      await readSse(
        res.body,
        (frame) => {
          const error = frameError(frame);
          ex = update(ex, { frames: [...ex.frames, frame], ...(error ? { error } : {}) });
          call.onFrame?.(frame);
        },
        call.signal,
      );
      ex = update(ex, { state: call.signal?.aborted ? 'aborted' : ex.error ? 'failed' : 'done', ms: elapsed() });
      return { exchange: ex };
    }
    const text = await res.text();
    let envelope: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) envelope = parsed as Record<string, unknown>;
    } catch {
      envelope = undefined;
    }
    const error = envelopeError(envelope) ?? (res.ok ? undefined : { message: `HTTP ${res.status} ${res.statusText}`.trim() });
    ex = update(ex, { responseBody: text, state: error ? 'failed' : 'done', ms: elapsed(), ...(error ? { error } : {}) });
    return { exchange: ex, envelope };
  } catch (err) {
    const aborted = call.signal?.aborted === true;
    const message = aborted ? 'Stopped' : `Network error: ${err instanceof Error ? err.message : String(err)}`;
    ex = update(ex, { state: aborted ? 'aborted' : 'failed', error: { message }, ms: elapsed() });
    return { exchange: ex };
  }
}

function envelopeError(envelope: Record<string, unknown> | undefined): Exchange['error'] {
  const error = envelope?.error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return { code: typeof code === 'number' ? code : undefined, message: typeof message === 'string' ? message : JSON.stringify(error) };
}

function frameError(frame: SseFrame): Exchange['error'] {
  const event = arcStreamEvent(frame);
  return event.kind === 'error' ? { code: event.code, message: event.message } : undefined;
}

/** "Error -44001: Authentication failed", or the message alone. */
export function describeError(error: { code?: number; message: string }): string {
  return error.code === undefined ? error.message : `Error ${error.code}: ${error.message}`;
}

/** The exchange's request as a curl command: with its token ('inline', for the clipboard) or $ARC_TOKEN ('variable', for display). */
export function curlFor(ex: Exchange, tokenAs: 'inline' | 'variable'): string {
  return curlCommand(
    { method: ex.method, url: ex.url, headers: ex.requestHeaders, body: ex.requestBody, stream: ex.stream },
    { token: tokens.get(ex.seq), tokenAs },
  );
}
