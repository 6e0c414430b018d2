/**
 * One HTTP exchange of ArcClient on axios: POST the envelope, read the reply, and resolve with a
 * success envelope or throw the typed error (ArcResponseError for an ARC error at any status,
 * ArcTimeoutError, ArcTransportError when there was no ARC answer). Retries are the caller's.
 * Every attempt is shown to the client's `onExchange` observer.
 */
import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import type { ArcErrorResponse, ArcRequest, ArcSuccessResponse, RequestId } from '../protocol/types';
import { ArcResponseError, ArcTimeoutError, ArcTransportError } from './errors';

/** One HTTP attempt of an ArcClient call, as its `onExchange` observer sees it. */
export interface ArcExchange {
  url: string;
  /** The envelope sent. */
  request: ArcRequest<object>;
  /** HTTP status; undefined when there was no answer (refused, timed out, aborted). */
  status?: number;
  /** Response headers, names lower-cased (several values joined with `, `). */
  headers?: Record<string, string>;
  /** The answer parsed as JSON, or its raw text when it is not JSON; undefined for an event stream. */
  body?: unknown;
  /** True when the answer is a text/event-stream (its frames then come as the stream events' `raw`). */
  stream?: boolean;
  /** Why this attempt got no answer (or an answer that broke off). */
  error?: Error;
}

export type ExchangeObserver = (exchange: ArcExchange) => void;

/** What an HttpExchange needs besides the URL. */
export interface HttpExchangeOptions {
  /** The client's own headers (Authorization, custom ones). */
  headers: Record<string, string>;
  agents: { http: HttpAgent; https: HttpsAgent };
  onExchange?: ExchangeObserver;
}

export interface ExchangeOptions {
  /** Time this exchange may take. */
  timeoutMs: number;
  /** The call's timeout, as ArcTimeoutError reports it. */
  callTimeoutMs: number;
  signal?: AbortSignal;
  /** Headers of this exchange only (a fresh bearer token). */
  headers?: Record<string, string>;
}

function isEnvelope(body: unknown): body is ArcSuccessResponse | ArcErrorResponse {
  return typeof body === 'object' && body !== null && (body as { arc?: unknown }).arc === '1.0' && ('result' in body || 'error' in body);
}

/** Header values as one string each. */
export function headerRecord(headers: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || value === null) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

/** The body as JSON, or its text when it is not JSON. */
export function parseBody(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/** Calls the observer; what it throws is not the call's business. */
export function observe(observer: ExchangeObserver | undefined, exchange: ArcExchange): void {
  if (observer === undefined) return;
  try {
    observer(exchange);
  } catch {
    /* an observer's failure never changes the call */
  }
}

/**
 * The JSON answer of an exchange as the call's outcome: the success envelope, or the typed error
 * (ArcResponseError for an error envelope at any status; ArcTransportError for anything that is
 * not an ARC answer to request `id`).
 */
export function envelopeAnswer<R>(url: string, id: RequestId, status: number, text: string, retryAfter?: string): ArcSuccessResponse<R> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ArcTransportError(`ARC request to ${url} got HTTP ${status} with a body that is not JSON`, url, status);
  }
  if (!isEnvelope(parsed)) {
    throw new ArcTransportError(`ARC request to ${url} got HTTP ${status} with a body that is not an ARC envelope`, url, status);
  }
  if (parsed.error) throw new ArcResponseError(parsed as ArcErrorResponse, status, retryAfter);
  if (status < 200 || status >= 300) {
    throw new ArcTransportError(`ARC request to ${url} got HTTP ${status} without an error object`, url, status);
  }
  if (parsed.id !== id) {
    throw new ArcTransportError(`ARC reply id ${JSON.stringify(parsed.id)} does not match request id ${JSON.stringify(id)}`, url, status);
  }
  return parsed as ArcSuccessResponse<R>;
}

export class HttpExchange {
  private readonly http: AxiosInstance;
  private readonly onExchange: ExchangeObserver | undefined;

  constructor(
    readonly url: string,
    options: HttpExchangeOptions,
  ) {
    this.onExchange = options.onExchange;
    this.http = axios.create({
      headers: {
        'Content-Type': 'application/arc+json',
        Accept: 'application/arc+json, application/json',
        'User-Agent': 'arc-ts-client',
        ...options.headers,
      },
      httpAgent: options.agents.http,
      httpsAgent: options.agents.https,
      // Every status is inspected here: error envelopes come with 4xx/5xx too.
      validateStatus: () => true,
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      maxRedirects: 5,
      maxBodyLength: Infinity,
      maxContentLength: Infinity,
    });
  }

  /** Sends `text` (the serialised `envelope`) once. */
  async post<R>(envelope: ArcRequest<object>, text: string, options: ExchangeOptions): Promise<ArcSuccessResponse<R>> {
    const { signal } = options;
    let res: AxiosResponse<string>;
    try {
      res = await this.http.post<string>(this.url, text, { timeout: options.timeoutMs, signal, headers: options.headers });
    } catch (err) {
      const failure = this.failure(err, signal, options.callTimeoutMs);
      observe(this.onExchange, { url: this.url, request: envelope, error: asError(failure) });
      throw failure;
    }
    observe(this.onExchange, {
      url: this.url,
      request: envelope,
      status: res.status,
      headers: headerRecord(res.headers as Record<string, unknown>),
      body: parseBody(res.data),
    });
    return envelopeAnswer<R>(this.url, envelope.id, res.status, res.data, res.headers['retry-after'] as string | undefined);
  }

  private failure(err: unknown, signal: AbortSignal | undefined, callTimeoutMs: number): unknown {
    if (signal?.aborted) return signal.reason;
    if (axios.isAxiosError(err) && (err.code === 'ECONNABORTED' || err.code === 'ETIMEDOUT'))
      return new ArcTimeoutError(this.url, callTimeoutMs);
    const reason = axios.isAxiosError(err) ? `${err.code ?? 'ERROR'}: ${err.message}` : String(err);
    return new ArcTransportError(`ARC request to ${this.url} failed: ${reason}`, this.url, undefined, { cause: err });
  }
}
