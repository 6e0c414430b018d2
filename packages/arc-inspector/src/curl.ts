/**
 * "Copy as curl": the exact request an exchange sent, as one POSIX shell command. Pure, so the
 * quoting is unit-tested (test/curl.test.ts).
 */

/** `value` as one shell word: bare when it only holds safe characters, else single-quoted ('it'\''s). */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export interface CurlRequest {
  method: 'GET' | 'POST';
  /** Absolute URL. */
  url: string;
  /** Headers as sent, without Authorization (see `token`). */
  headers: Readonly<Record<string, string>>;
  /** The body exactly as sent (compact JSON). */
  body?: string;
  /** An SSE stream: curl must not buffer (-N). */
  stream?: boolean;
}

export interface CurlOptions {
  /** The bearer token sent with the request; undefined: none. */
  token?: string;
  /**
   * 'inline' puts the token itself in the command (what the clipboard gets); 'variable' writes
   * "$ARC_TOKEN" instead, for display: the token never appears on the page.
   */
  tokenAs?: 'inline' | 'variable';
}

/** The curl command for `request`, one option per line. */
export function curlCommand(request: CurlRequest, options: CurlOptions = {}): string {
  const words: string[] = ['curl -sS'];
  if (request.stream) words[0] += ' -N';
  if (request.method !== 'GET' && request.body === undefined) words.push(`-X ${request.method}`);
  words.push(shellQuote(request.url));
  for (const [name, value] of Object.entries(request.headers)) {
    if (name.toLowerCase() === 'authorization') continue;
    words.push(`-H ${shellQuote(`${name}: ${value}`)}`);
  }
  if (options.token !== undefined && options.token !== '') {
    words.push(
      options.tokenAs === 'variable'
        ? '-H "Authorization: Bearer $ARC_TOKEN"'
        : `-H ${shellQuote(`Authorization: Bearer ${options.token}`)}`,
    );
  }
  if (request.body !== undefined) words.push(`--data-raw ${shellQuote(request.body)}`);
  return words.join(' \\\n  ');
}
