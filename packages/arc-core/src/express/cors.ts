/**
 * CORS for browser callers (CORS_ORIGINS, CORS_CREDENTIALS; docs/security.md). Off by default:
 * then ArcServer holds no handler and every request pays one undefined check, and no CORS
 * header is ever sent.
 *
 * When on, before routing:
 *  - every response gets `Vary: Origin` (what it carries depends on the Origin, so a cache must
 *    not hand one origin's answer to another);
 *  - a request from an allowed origin gets `Access-Control-Allow-Origin` (its origin, or `*`
 *    when any origin is allowed and credentials are off) and `Access-Control-Expose-Headers`
 *    (Retry-After, X-Request-Id, WWW-Authenticate, so a browser client can read them); the
 *    response is then whatever the route answers, JSON or SSE;
 *  - a preflight (OPTIONS with Origin and Access-Control-Request-Method) of /arc, /agent-info
 *    or /health from an allowed origin is answered here, 204 with the allowed methods and
 *    headers and a max age;
 *  - an origin not allowed gets no CORS header, and its preflight a 403 envelope -44006: the
 *    browser blocks the call either way, but a 403 says why in the browser's network panel and
 *    to curl, where a bare 204 would read as success.
 * CORS is the browser's rule, not access control: a non-browser caller sends what it likes, so
 * authentication (AUTH_*) is what protects the server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ArcError } from '../errors/arc-error';
import { ArcErrorCode } from '../errors/codes';
import { UNREADABLE, errorEnvelope } from '../protocol/envelope';
import { clip } from '../protocol/limits';
import { writeJson } from './reply-writer';

export interface CorsOptions {
  /**
   * Origins allowed to call from a browser: exact origins (`https://app.example.com`), as a
   * list or one comma-separated string, or `*` for any. Unset or empty: CORS off.
   */
  corsOrigins?: string | readonly string[];
  /** Send `Access-Control-Allow-Credentials: true` (browser cookies, TLS client certificates); needs a list of origins, not `*`. */
  corsCredentials?: boolean;
}

export const CORS_ALLOW_METHODS = 'POST, GET, OPTIONS';
export const CORS_ALLOW_HEADERS = 'Content-Type, Authorization, traceparent, tracestate, X-Request-Id';
export const CORS_EXPOSE_HEADERS = 'Retry-After, X-Request-Id, WWW-Authenticate';
/** How long a browser may reuse a preflight answer (Chrome caps it at 2 h). */
export const CORS_MAX_AGE_SECONDS = 600;

const PREFLIGHT_PATHS = new Set(['/arc', '/arc/', '/agent-info', '/health', '/health/live']);

/** Adds the CORS headers to `res`; returns true when it answered the request itself (a preflight). */
export type CorsHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/** The handler for these options, or undefined when CORS is off. Throws TypeError on a bad origin. */
export function createCorsHandler(options: CorsOptions, serverId: string): CorsHandler | undefined {
  const origins = allowedOrigins(options.corsOrigins);
  if (origins === undefined) return undefined;
  const any = origins === '*';
  const credentials = options.corsCredentials === true;
  // Browsers reject `*` with credentials; answering every origin with credentials would let any site use them.
  if (any && credentials) throw new TypeError('CORS credentials need a list of allowed origins, not *');
  const preflightHeaders = {
    'Access-Control-Allow-Methods': CORS_ALLOW_METHODS,
    'Access-Control-Allow-Headers': CORS_ALLOW_HEADERS,
    'Access-Control-Max-Age': String(CORS_MAX_AGE_SECONDS),
  };

  return (req, res) => {
    res.setHeader('Vary', 'Origin');
    const origin = req.headers.origin;
    if (origin === undefined) return false;
    const preflight =
      req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined && PREFLIGHT_PATHS.has(pathOf(req.url));
    if (!any && !origins.has(origin)) {
      if (!preflight) return false;
      req.resume();
      const error = new ArcError(ArcErrorCode.PermissionDenied, 'Permission denied: this origin may not call this server from a browser', {
        origin: clip(origin, 128),
      });
      writeJson(res, 403, errorEnvelope(UNREADABLE, error, serverId));
      return true;
    }
    res.setHeader('Access-Control-Allow-Origin', any ? '*' : origin);
    if (credentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
    if (!preflight) {
      res.setHeader('Access-Control-Expose-Headers', CORS_EXPOSE_HEADERS);
      return false;
    }
    req.resume();
    res.writeHead(204, preflightHeaders);
    res.end();
    return true;
  };
}

/** The allowed origins as browsers write them (lower case, no default port, no trailing slash), `*`, or undefined when none. */
export function allowedOrigins(value: CorsOptions['corsOrigins']): ReadonlySet<string> | '*' | undefined {
  const list = (typeof value === 'string' ? value.split(',') : (value ?? [])).map((o) => o.trim()).filter((o) => o !== '');
  if (list.length === 0) return undefined;
  if (list.includes('*')) {
    if (list.length > 1) throw new TypeError('CORS origins: * cannot be combined with other origins');
    return '*';
  }
  return new Set(list.map(normalizeOrigin));
}

function normalizeOrigin(origin: string): string {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new TypeError(`CORS origin ${JSON.stringify(clip(origin, 128))} is not an origin (scheme://host[:port])`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '' || url.username !== '')
    throw new TypeError(`CORS origin ${JSON.stringify(clip(origin, 128))} must be scheme://host[:port], without a path`);
  // http(s) origins as a browser serializes them; other schemes (an extension's) as written, in lower case.
  return url.origin !== 'null' ? url.origin : origin.toLowerCase();
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
