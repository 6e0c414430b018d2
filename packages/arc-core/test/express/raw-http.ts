/**
 * Raw TCP exchanges for the HTTP-hardening tests: exact bytes out, everything the server sends
 * back until it closes the connection, and how the connection ended. Not a test file.
 */
import net from 'node:net';

export interface RawExchange {
  /** Everything received, as latin1 text (HTTP heads are ASCII). */
  text: string;
  /** Milliseconds from connect to the server closing (or resetting) the connection. */
  closedAfterMs: number;
  /** The socket error that ended the exchange, if any (ECONNRESET, EPIPE). */
  error: string | undefined;
}

export interface RawOptions {
  /** Bytes written right after connecting (nothing when omitted). */
  send?: string | Buffer;
  /** Writes `trickle` bytes one at a time, every `trickleEveryMs` ms, after `send`. */
  trickle?: string;
  trickleEveryMs?: number;
  /** Gives up (and fails) when the server has not closed after this long. */
  giveUpAfterMs?: number;
}

/** Connects, sends, and resolves once the server has closed the connection. */
export function rawExchange(port: number, options: RawOptions = {}): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let error: string | undefined;
    let trickle: NodeJS.Timeout | undefined;
    const giveUp = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server did not close the connection within ${options.giveUpAfterMs ?? 10_000} ms`));
    }, options.giveUpAfterMs ?? 10_000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      error ??= e.code ?? e.message;
    });
    // The server's FIN: stop writing too, so the socket closes.
    socket.on('end', () => socket.end());
    socket.on('close', () => {
      clearTimeout(giveUp);
      clearInterval(trickle);
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closedAfterMs: Date.now() - started, error });
    });
    socket.once('connect', () => {
      if (options.send !== undefined) socket.write(options.send);
      if (options.trickle) {
        let i = 0;
        const bytes = options.trickle;
        trickle = setInterval(() => {
          if (i >= bytes.length || socket.destroyed || socket.writableEnded) return clearInterval(trickle);
          socket.write(bytes[i++]!);
        }, options.trickleEveryMs ?? 100);
      }
    });
  });
}

export interface ParsedResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Splits raw bytes into HTTP responses (Content-Length framed; interim 1xx responses included). */
export function parseResponses(text: string): ParsedResponse[] {
  const out: ParsedResponse[] = [];
  let rest = text;
  while (rest.length > 0) {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd < 0) throw new Error(`not an HTTP response: ${JSON.stringify(rest.slice(0, 200))}`);
    const [statusLine, ...lines] = rest.slice(0, headEnd).split('\r\n');
    const match = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine!);
    if (!match) throw new Error(`bad status line: ${JSON.stringify(statusLine)}`);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    const body = rest.slice(headEnd + 4, headEnd + 4 + length);
    out.push({ status: Number(match[1]), headers, body });
    rest = rest.slice(headEnd + 4 + length);
  }
  return out;
}
