/**
 * One HTTP exchange of ArcClient on axios: POST the envelope, read the reply, and resolve with a
 * success envelope or throw the typed error (ArcResponseError for an ARC error at any status,
 * ArcTimeoutError, ArcTransportError when there was no ARC answer). Retries are the caller's.
 */
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import type { ArcErrorResponse, ArcSuccessResponse, RequestId } from '../protocol/types';
import { ArcResponseError, ArcTimeoutError, ArcTransportError } from './errors';

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

export class HttpExchange {
  private readonly http: AxiosInstance;

  constructor(
    readonly url: string,
    headers: Record<string, string>,
  ) {
    this.http = axios.create({
      headers: {
        'Content-Type': 'application/arc+json',
        Accept: 'application/arc+json, application/json',
        'User-Agent': 'arc-ts-client',
        ...headers,
      },
      // Every status is inspected here: error envelopes come with 4xx/5xx too.
      validateStatus: () => true,
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      maxRedirects: 5,
      maxBodyLength: Infinity,
      maxContentLength: Infinity,
    });
  }

  /** Sends `text` (an envelope whose id is `id`) once. */
  async post<R>(text: string, id: RequestId, options: ExchangeOptions): Promise<ArcSuccessResponse<R>> {
    const { signal } = options;
    let res: AxiosResponse<string>;
    try {
      res = await this.http.post<string>(this.url, text, { timeout: options.timeoutMs, signal, headers: options.headers });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (axios.isAxiosError(err) && (err.code === 'ECONNABORTED' || err.code === 'ETIMEDOUT'))
        throw new ArcTimeoutError(this.url, options.callTimeoutMs);
      const reason = axios.isAxiosError(err) ? `${err.code ?? 'ERROR'}: ${err.message}` : String(err);
      throw new ArcTransportError(`ARC request to ${this.url} failed: ${reason}`, this.url, undefined, { cause: err });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.data);
    } catch {
      throw new ArcTransportError(`ARC request to ${this.url} got HTTP ${res.status} with a body that is not JSON`, this.url, res.status);
    }
    if (!isEnvelope(parsed)) {
      throw new ArcTransportError(
        `ARC request to ${this.url} got HTTP ${res.status} with a body that is not an ARC envelope`,
        this.url,
        res.status,
      );
    }
    if (parsed.error) {
      const retryAfter = res.headers['retry-after'] as string | undefined;
      throw new ArcResponseError(parsed as ArcErrorResponse, res.status, retryAfter);
    }
    if (res.status < 200 || res.status >= 300) {
      throw new ArcTransportError(`ARC request to ${this.url} got HTTP ${res.status} without an error object`, this.url, res.status);
    }
    if (parsed.id !== id) {
      throw new ArcTransportError(
        `ARC reply id ${JSON.stringify(parsed.id)} does not match request id ${JSON.stringify(id)}`,
        this.url,
        res.status,
      );
    }
    return parsed as ArcSuccessResponse<R>;
  }
}
