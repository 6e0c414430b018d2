/**
 * Bearer tokens for ArcClient: a token provider is called before every request (and every
 * retry) and returns the token to send; caching is the provider's job. clientCredentials() is
 * the OAuth2 client-credentials grant (RFC 6749 §4.4) as one:
 *
 *   const client = new ArcClient(url, {
 *     tokenProvider: clientCredentials({ tokenUrl, clientId, clientSecret, scope: 'arc.chat.controller arc.agent.caller' }),
 *   });
 *
 * The token is fetched on first use, kept until `expires_in - refreshBeforeSeconds` (at least
 * half its lifetime, so a short-lived token is not fetched on every call), then fetched again;
 * concurrent callers share one fetch. A failed fetch rejects every caller waiting on it with a
 * ClientCredentialsError and is not remembered: the next call tries again.
 */
import { ClientCredentialsError } from './errors';

export type TokenProvider = () => string | Promise<string>;

export interface ClientCredentialsOptions {
  /** The authorization server's token endpoint. */
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** Scopes to ask for (a space-separated string or a list); the server's default when unset. */
  scope?: string | readonly string[];
  /** Sent as `audience` (Auth0, Okta and others use it to pick the API the token is for). */
  audience?: string;
  /** Fetch a new token this many seconds before the current one expires (default 60). */
  refreshBeforeSeconds?: number;
  /**
   * How the client authenticates to the token endpoint: HTTP Basic (`client_secret_basic`, the
   * default, which every server must support) or id and secret in the form body
   * (`client_secret_post`).
   */
  authMethod?: 'client_secret_basic' | 'client_secret_post';
  /** Time the token endpoint has to answer (default 10 s). */
  timeoutMs?: number;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

/** Lifetime assumed when the token endpoint does not say (`expires_in` is only RECOMMENDED). */
const DEFAULT_LIFETIME_SECONDS = 300;
/** Largest token response read; a real one is a few KiB. */
const MAX_RESPONSE_CHARS = 64 * 1024;

interface CachedToken {
  token: string;
  /** Date.now() after which the token is fetched again. */
  refreshAt: number;
}

export function clientCredentials(options: ClientCredentialsOptions): TokenProvider {
  const endpoint = parseTokenUrl(options.tokenUrl);
  // Shown in errors: no query, no userinfo.
  const shownUrl = `${endpoint.origin}${endpoint.pathname}`;
  if (typeof options.clientId !== 'string' || options.clientId === '') throw new TypeError('clientCredentials: clientId is required');
  if (typeof options.clientSecret !== 'string' || options.clientSecret === '')
    throw new TypeError('clientCredentials: clientSecret is required');
  const refreshBefore = options.refreshBeforeSeconds ?? 60;
  if (!Number.isFinite(refreshBefore) || refreshBefore < 0)
    throw new TypeError('clientCredentials: refreshBeforeSeconds must be a number >= 0');
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new TypeError('clientCredentials: timeoutMs must be a number > 0');
  const authMethod = options.authMethod ?? 'client_secret_basic';
  if (authMethod !== 'client_secret_basic' && authMethod !== 'client_secret_post')
    throw new TypeError('clientCredentials: authMethod must be client_secret_basic or client_secret_post');

  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  const scope = typeof options.scope === 'string' ? options.scope : options.scope?.join(' ');
  if (scope) form.set('scope', scope);
  if (options.audience) form.set('audience', options.audience);
  const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' };
  if (authMethod === 'client_secret_post') {
    form.set('client_id', options.clientId);
    form.set('client_secret', options.clientSecret);
  } else {
    // RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and base64-encoded.
    const basic = `${formEncode(options.clientId)}:${formEncode(options.clientSecret)}`;
    headers.Authorization = `Basic ${Buffer.from(basic, 'utf8').toString('base64')}`;
  }
  const request: RequestInit = { method: 'POST', headers, body: form.toString(), redirect: 'error' };
  const doFetch = options.fetch ?? fetch;
  const secret = options.clientSecret;
  const fail = (message: string, status?: number, oauthError?: string, cause?: unknown): ClientCredentialsError =>
    new ClientCredentialsError(
      `OAuth2 token request to ${shownUrl} ${message}`,
      shownUrl,
      status,
      oauthError,
      cause === undefined ? undefined : { cause },
    );
  /** A server-supplied string, printable and bounded, with the secret masked should the server echo it. */
  const clean = (value: unknown): string =>
    String(value)
      .split(secret)
      .join('***')
      .replace(/[^\x20-\x7e]/g, '')
      .slice(0, 200);

  async function fetchToken(): Promise<CachedToken> {
    const sentAt = Date.now();
    let res: Response;
    let text: string;
    try {
      res = await doFetch(endpoint, { ...request, signal: AbortSignal.timeout(timeoutMs) });
      text = await res.text();
    } catch (err) {
      const e = err as { name?: string; message?: string; cause?: { code?: unknown } };
      const reason =
        e.name === 'TimeoutError' ? `got no answer within ${timeoutMs} ms` : `failed: ${String(e.cause?.code ?? e.message ?? err)}`;
      throw fail(reason, undefined, undefined, err);
    }
    let body: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = text.length <= MAX_RESPONSE_CHARS ? JSON.parse(text) : undefined;
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    if (!res.ok) {
      const oauthError = typeof body?.error === 'string' ? clean(body.error) : undefined;
      const description = typeof body?.error_description === 'string' ? ` (${clean(body.error_description)})` : '';
      throw fail(`was refused: HTTP ${res.status}${oauthError ? ` ${oauthError}` : ''}${description}`, res.status, oauthError);
    }
    if (body === undefined) throw fail(`got HTTP ${res.status} with a body that is not a JSON object`, res.status);
    const token = body.access_token;
    if (typeof token !== 'string' || token === '') throw fail('got an answer without access_token', res.status);
    const tokenType = body.token_type;
    if (tokenType !== undefined && String(tokenType).toLowerCase() !== 'bearer')
      throw fail(`got token_type ${clean(tokenType)}, not Bearer`, res.status);
    // Some servers send expires_in as a string.
    const expiresIn = Number(body.expires_in);
    const lifetime = body.expires_in !== undefined && Number.isFinite(expiresIn) && expiresIn >= 0 ? expiresIn : DEFAULT_LIFETIME_SECONDS;
    const keepFor = Math.max(lifetime - refreshBefore, lifetime / 2);
    // Counted from when the request went out: the token may have been issued any time after.
    return { token, refreshAt: sentAt + keepFor * 1000 };
  }

  let cached: CachedToken | undefined;
  let pending: Promise<string> | undefined;
  return () => {
    if (cached !== undefined && Date.now() < cached.refreshAt) return cached.token;
    pending ??= fetchToken()
      .then((fresh) => {
        cached = fresh;
        return fresh.token;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}

function parseTokenUrl(tokenUrl: string): URL {
  let url: URL;
  try {
    url = new URL(tokenUrl);
  } catch {
    throw new TypeError('clientCredentials: tokenUrl is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError('clientCredentials: tokenUrl must be http or https');
  if (url.username !== '' || url.password !== '')
    throw new TypeError('clientCredentials: tokenUrl must not carry credentials; use clientId and clientSecret');
  return url;
}

/** application/x-www-form-urlencoded, as URLSearchParams writes a value. */
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}
