/**
 * The web inspector (@arc/inspector, docs/inspector.md) at GET /inspector/: its built files,
 * read once when the server is made and answered from memory - no disk access, no path taken
 * from the request, no directory listing. /inspector redirects to /inspector/ (relative, so a
 * proxy prefix is kept); a name that is not one of the files falls through to the 404 envelope;
 * methods other than GET and HEAD get 405 -32600. index.html is revalidated on every load, the
 * content-hashed assets are cached for a year. Every answer carries a Content-Security-Policy
 * that allows this origin only: the page loads nothing and calls nothing anywhere else.
 * Served without auth (the files hold no secret); the page sends the user's token with its
 * ARC calls, which auth protects as any other.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { distDir, inspectorFiles } from '@arc/inspector';
import { ArcError } from '../errors/arc-error';
import { ArcErrorCode } from '../errors/codes';
import { UNREADABLE, errorEnvelope } from '../protocol/envelope';
import { writeJson } from './reply-writer';

export const INSPECTOR_PATH = '/inspector';

export const INSPECTOR_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

interface StaticFile {
  body: Buffer;
  etag: string;
  headers: Record<string, string | number>;
}

/** Answers a request for /inspector or below; calls `next` for a path that names no file. */
export type InspectorHandler = (req: IncomingMessage & { path: string }, res: ServerResponse, next: () => void) => void;

/** Why the inspector cannot be served (not built), or null. */
export { inspectorProblem } from '@arc/inspector';

/** The handler, with the built files loaded; throws, saying to run `npm run build`, when they are missing. */
export function createInspectorHandler(serverId: string): InspectorHandler {
  const files = new Map<string, StaticFile>();
  for (const name of inspectorFiles()) {
    const body = readFileSync(join(distDir, name));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    files.set(name, {
      body,
      etag,
      headers: {
        'Content-Type': TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream',
        'Content-Length': body.length,
        'Cache-Control': name === 'index.html' ? 'no-cache' : 'public, max-age=31536000, immutable',
        ETag: etag,
        'Content-Security-Policy': INSPECTOR_CSP,
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
      },
    });
  }

  return (req, res, next) => {
    const path = req.path;
    const redirect = path === INSPECTOR_PATH;
    if (!redirect && !path.startsWith(`${INSPECTOR_PATH}/`)) return next();
    const file = redirect ? undefined : files.get(path === `${INSPECTOR_PATH}/` ? 'index.html' : path.slice(INSPECTOR_PATH.length + 1));
    if (!redirect && file === undefined) return next();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const err = new ArcError(ArcErrorCode.InvalidRequest, `HTTP method not allowed on ${INSPECTOR_PATH}; use GET`, {
        allow: ['GET', 'HEAD'],
      });
      writeJson(res, 405, errorEnvelope(UNREADABLE, err, serverId), { Allow: 'GET, HEAD' });
      return;
    }
    if (file === undefined) {
      // Relative, so that /prefix/inspector behind a proxy goes to /prefix/inspector/.
      const query = req.url?.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
      res.writeHead(301, { Location: `inspector/${query}`, 'Content-Length': 0 });
      res.end();
      return;
    }
    if (req.headers['if-none-match'] === file.etag) {
      res.writeHead(304, { ETag: file.etag, 'Cache-Control': String(file.headers['Cache-Control']) });
      res.end();
      return;
    }
    res.writeHead(200, file.headers);
    res.end(file.body);
  };
}
