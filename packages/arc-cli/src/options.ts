/**
 * The flags every client command takes, and what they become: an ArcClient (token, requestAgent,
 * timeout, `--verbose` exchanges on stderr), the call options (traceId) and the Output. Also
 * the checks of what users type: URLs, durations, JSON params. Each bad value is a UsageError
 * (exit 2) naming the flag.
 */
import { readFile } from 'node:fs/promises';
import { text as readAll } from 'node:stream/consumers';
import { ArcClient, type ArcClientOptions, type ArcExchange, type CallOptions } from '@arc/core/client';
import type { Command } from 'commander';
import { Output, UsageError, type CliIo } from './output';

export interface OutputFlags {
  json?: boolean;
  verbose?: boolean;
}

export interface ClientFlags extends OutputFlags {
  token?: string;
  requestAgent?: string;
  traceId?: string;
  timeout?: string;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_REQUEST_AGENT = 'arc-cli';

export function withOutputOptions(cmd: Command): Command {
  return cmd
    .option('--json', 'machine-readable output: one JSON document per result (JSON lines for streams)')
    .option('--verbose', 'raw request and response envelopes and SSE frames on stderr');
}

export function withClientOptions(cmd: Command): Command {
  cmd
    .option('--token <token>', 'bearer token (default: $ARC_TOKEN)')
    .option('--request-agent <id>', `our agent id, sent as requestAgent (default: $ARC_REQUEST_AGENT or ${DEFAULT_REQUEST_AGENT})`)
    .option('--trace-id <id>', 'traceId sent with each request')
    .option('--timeout <duration>', 'time for each request: 30s, 1500ms, 2m; a bare number is seconds (default 30s)');
  return withOutputOptions(cmd);
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "1500ms", "30s", "2m", "1h", or a bare number of seconds, in ms; a UsageError otherwise. */
export function parseDuration(text: string, flag: string): number {
  const m = DURATION.exec(text.trim());
  const ms = m ? Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 's']!) : NaN;
  if (!(ms > 0) || ms > 2_147_483_647) {
    throw new UsageError(`${flag} must be a duration such as 30s, 1500ms or 2m (a bare number is seconds), not "${text}"`);
  }
  return ms;
}

/** An http(s) URL, as given; a UsageError otherwise. */
export function parseUrl(text: string, what = 'URL'): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${what} "${text}" is not a URL (e.g. http://localhost:8000/arc)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${what} "${text}" must start with http:// or https://`);
  }
  return url;
}

/**
 * `--params`: a JSON object, `@file` (its contents) or `@-` (stdin); `{}` when absent. A UsageError
 * for anything that is not a JSON object.
 */
export async function parseParams(text: string | undefined, io: CliIo): Promise<Record<string, unknown>> {
  if (text === undefined) return {};
  let source = '--params';
  let json = text;
  if (text.startsWith('@')) {
    const file = text.slice(1);
    source = file === '-' ? '--params @- (stdin)' : `--params file ${file}`;
    try {
      json = file === '-' ? await readAll(io.stdin) : await readFile(file, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read ${source}: ${(err as Error).message}`);
    }
  }
  return parseJsonObject(json, source);
}

export function parseJsonObject(json: string, source: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new UsageError(`${source} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`${source} must be a JSON object, e.g. '{"taskId":"task-1"}'`);
  }
  return value as Record<string, unknown>;
}

/** What a client command works with. */
export interface Session {
  client: ArcClient;
  out: Output;
  /** Options of every call: the traceId. */
  call: CallOptions;
  timeoutMs: number;
  token: string | undefined;
}

/** Builds the session for `url` and the flags, runs `fn`, and closes the client's sockets. */
export async function withSession<T>(urlText: string, flags: ClientFlags, io: CliIo, fn: (s: Session) => Promise<T>): Promise<T> {
  const out = new Output(io, { json: flags.json === true, verbose: flags.verbose === true });
  const url = parseUrl(urlText);
  const timeoutMs = flags.timeout === undefined ? DEFAULT_TIMEOUT_MS : parseDuration(flags.timeout, '--timeout');
  const token = flags.token ?? (io.env.ARC_TOKEN || undefined);
  const options: ArcClientOptions = {
    requestAgent: flags.requestAgent ?? (io.env.ARC_REQUEST_AGENT || DEFAULT_REQUEST_AGENT),
    timeoutMs,
    ...(token !== undefined ? { token } : {}),
    ...(out.verbose ? { onExchange: (e: ArcExchange) => traceExchange(out, e) } : {}),
  };
  const client = new ArcClient(url.href, options);
  try {
    return await fn({ client, out, call: flags.traceId !== undefined ? { traceId: flags.traceId } : {}, timeoutMs, token });
  } finally {
    client.close();
  }
}

/** `--verbose`: one HTTP attempt, as sent and as answered. */
export function traceExchange(out: Output, e: ArcExchange): void {
  out.trace(`> POST ${e.url}`);
  out.trace(`> ${JSON.stringify(e.request)}`);
  if (e.error !== undefined) out.trace(`< no answer: ${e.error.message}`);
  else if (e.stream) out.trace(`< HTTP ${e.status} text/event-stream`);
  else out.trace(`< HTTP ${e.status} ${typeof e.body === 'string' ? e.body : JSON.stringify(e.body)}`);
}
