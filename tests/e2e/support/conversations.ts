/**
 * Finance conversations through the gateway (chat.start → chat.message … → chat.end), every
 * request recorded with the replica that answered it (X-Upstream-Addr), and a bounded load of
 * such conversations that runs while a test restarts or kills replicas.
 */
import { servedBy } from './distributed-checks';
import { arcRequest, userText } from './processes';

/** No request may take longer than this (a hang fails the request, not the whole jest run). */
export const REQUEST_TIMEOUT_MS = 30_000;

export interface Sent {
  method: 'chat.start' | 'chat.message' | 'chat.end';
  chatId: string | undefined;
  /** HTTP status; 0 when no answer came (connection error, timeout). */
  status: number;
  /** ARC error code, when the answer is an ARC error. */
  code?: number;
  /** The replica that answered (last address of X-Upstream-Addr). */
  servedBy: string;
  /** X-Upstream-Addr as nginx sent it: "a", "a, b" (refused, then b) or "a : b" (503, then b). */
  upstream: string;
  startedAt: number;
  finishedAt: number;
  /** Why the request counts as failed; undefined when it succeeded. */
  failure?: string;
  /** `Retry-After` of a 503 answer, in seconds. */
  retryAfterS?: number;
  /** How many times it was retried after a 503 with Retry-After (SendOptions.retriesAfter503). */
  retried?: number;
}

const INVOICE_REPLY = 'I can help with invoice inquiries. Please provide invoice number.';

export interface SendOptions {
  /**
   * A new connection for this request (`Connection: close`) instead of a kept-alive one. With
   * keep-alive, an nginx reload can close the connection just as the request is written (see
   * docs/scale-out.md); tests about the replicas behind nginx avoid that.
   */
  newConnection?: boolean;
  /**
   * Retries (at most this many) a request answered 503 with `Retry-After` — a refusal before any
   * work was done (-41011 shed load, -41002 chat state briefly unreachable) — after the delay it
   * names, as a well-behaved ARC client does. Default 0: every 503 is a failure.
   */
  retriesAfter503?: number;
}

/**
 * Sends one finance request through the gateway and checks the answer: 200, no ARC error, and
 * the reply the finance agent gives (or status CLOSED for chat.end).
 */
export async function send(
  baseUrl: string,
  method: Sent['method'],
  chatId: string | undefined,
  text = '',
  options: SendOptions = {},
): Promise<Sent & { json?: any }> {
  let sent = await sendOnce(baseUrl, method, chatId, text, options);
  for (let retry = 1; retry <= (options.retriesAfter503 ?? 0) && sent.status === 503 && sent.retryAfterS !== undefined; retry++) {
    await new Promise((r) => setTimeout(r, sent.retryAfterS! * 1000));
    const again = await sendOnce(baseUrl, method, chatId, text, options);
    again.startedAt = sent.startedAt;
    again.retried = retry;
    sent = again;
  }
  return sent;
}

async function sendOnce(
  baseUrl: string,
  method: Sent['method'],
  chatId: string | undefined,
  text: string,
  options: SendOptions,
): Promise<Sent & { json?: any }> {
  const params =
    method === 'chat.start'
      ? { initialMessage: userText(`invoice ${text}`) }
      : method === 'chat.message'
        ? { chatId, message: userText(text) }
        : { chatId, reason: 'done' };
  const startedAt = performance.now();
  const sent: Sent & { json?: any } = { method, chatId, status: 0, servedBy: '', upstream: '', startedAt, finishedAt: startedAt };
  try {
    const res = await fetch(`${baseUrl}/arc/finance`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/arc+json', ...(options.newConnection ? { Connection: 'close' } : {}) },
      body: JSON.stringify(arcRequest(method, 'finance-agent', params)),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const body = await res.text();
    sent.status = res.status;
    sent.upstream = res.headers.get('x-upstream-addr') ?? '';
    sent.servedBy = servedBy(res.headers);
    const retryAfter = res.headers.get('retry-after');
    if (retryAfter !== null && /^\d+$/.test(retryAfter)) sent.retryAfterS = Number(retryAfter);
    try {
      sent.json = JSON.parse(body);
    } catch {
      sent.failure = `HTTP ${res.status}, not JSON: ${body.slice(0, 200)}`;
    }
  } catch (err) {
    // (fetch's errors come from another realm than jest's: no instanceof here)
    const e = err as { message?: string; cause?: { code?: string; message?: string } };
    sent.failure = `no answer: ${e.message ?? String(err)}${e.cause ? ` (${e.cause.code ?? ''} ${e.cause.message ?? ''})` : ''}`;
  }
  sent.finishedAt = performance.now();
  if (sent.failure) return sent;
  const json = sent.json;
  if (json?.error) sent.code = json.error.code;
  if (sent.status !== 200 || json?.error) {
    sent.failure = `HTTP ${sent.status} ${json?.error ? `${json.error.code} ${json.error.message}` : ''}`.trim();
    return sent;
  }
  const chat = json?.result?.chat;
  if (method === 'chat.start') sent.chatId = chat?.chatId;
  const reply = chat?.message?.parts?.[0]?.content;
  const expected =
    method === 'chat.start'
      ? reply === INVOICE_REPLY && chat?.status === 'ACTIVE'
      : method === 'chat.message'
        ? reply === `Processing your request: ${text}` && chat?.status === 'ACTIVE'
        : chat?.status === 'CLOSED' && chat?.chatId === chatId;
  if (!expected) sent.failure = `unexpected answer to ${method}: ${JSON.stringify(json).slice(0, 300)}`;
  return sent;
}

/** start → `messages` × message → end, stopping at the first failure; every request in `log`. */
export async function conversation(baseUrl: string, messages: number, log: Sent[] = []): Promise<Sent[]> {
  const steps: Sent[] = [];
  const record = (s: Sent): boolean => {
    steps.push(s);
    log.push(s);
    return !s.failure;
  };
  const start = await send(baseUrl, 'chat.start', undefined);
  if (!record(start)) return steps;
  for (let i = 1; i <= messages; i++) {
    if (!record(await send(baseUrl, 'chat.message', start.chatId, `INV-${i}`))) return steps;
  }
  record(await send(baseUrl, 'chat.end', start.chatId));
  return steps;
}

/** Runs `task(i)` for i in [0, n) with at most `limit` at a time. */
export async function pool<T>(n: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(n);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
  return results;
}

/** What a load client knows about a chat it started. */
export type ChatState = 'open' | 'closed' | 'end-unknown';

export interface LoadOptions extends SendOptions {
  /** Concurrent clients. */
  clients: number;
  /** chat.message requests per conversation (default 2). */
  messages?: number;
  /** Pause of each client between two requests (default 0). */
  pauseMs?: number;
}

/**
 * `clients` concurrent clients, each running conversations one after the other until stop():
 * chat.start, `messages` × chat.message, then chat.end for every other conversation — the rest
 * stay open, to be continued after whatever the test did to the replicas (see finishChats).
 * A failed request ends that conversation; the chat stays 'open' (a failed message changes
 * nothing) or becomes 'end-unknown' (a chat.end that got no answer may or may not have closed it).
 */
export class ConversationLoad {
  readonly log: Sent[] = [];
  readonly chats = new Map<string, ChatState>();
  readonly clients: number;
  private stopping = false;
  private workers: Promise<void>[] = [];

  constructor(
    private readonly baseUrl: string,
    private readonly options: LoadOptions,
  ) {
    this.clients = options.clients;
  }

  start(): this {
    this.workers = Array.from({ length: this.clients }, (_, w) => this.client(w));
    return this;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.workers);
  }

  failures(): Sent[] {
    return this.log.filter((s) => s.failure);
  }

  /** Resolves once `n` more requests have finished (bounded: rejects after `maxMs`). */
  async waitForRequests(n: number, maxMs = 60_000): Promise<void> {
    const target = this.log.length + n;
    await this.waitUntil(() => this.log.length >= target, maxMs, `${n} more requests`);
  }

  /** Resolves once `pred()` holds, polling every 20 ms; rejects after `maxMs`. */
  async waitUntil(pred: () => boolean, maxMs: number, what: string): Promise<void> {
    const deadline = Date.now() + maxMs;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`load: no ${what} within ${maxMs} ms (${this.log.length} requests so far)`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private async client(w: number): Promise<void> {
    const { messages = 2, pauseMs = 0 } = this.options;
    const request = async (method: Sent['method'], chatId: string | undefined, text = ''): Promise<Sent> => {
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      const sent = await send(this.baseUrl, method, chatId, text, this.options);
      this.log.push(sent);
      return sent;
    };
    for (let n = 0; !this.stopping; n++) {
      const start = await request('chat.start', undefined);
      if (start.failure || !start.chatId) continue;
      const chatId = start.chatId;
      this.chats.set(chatId, 'open');
      let ok = true;
      for (let i = 1; ok && i <= messages; i++) ok = !(await request('chat.message', chatId, `INV-${w}-${n}-${i}`)).failure;
      if (!ok || n % 2 === 1) continue;
      const end = await request('chat.end', chatId);
      this.chats.set(chatId, end.failure ? 'end-unknown' : 'closed');
    }
  }
}

/**
 * Afterwards: every chat a load left open is continued (one chat.message) and ended, through
 * the gateway, `limit` at a time; a chat whose chat.end got no answer is ended again, which
 * must either close it or say -43002 (it was closed after all). Returns the requests and the
 * chats that could not be continued or ended.
 */
export async function finishChats(baseUrl: string, chats: Map<string, ChatState>, limit = 8): Promise<{ sent: Sent[]; lost: string[] }> {
  const sent: Sent[] = [];
  const lost: string[] = [];
  const ids = [...chats].filter(([, state]) => state !== 'closed');
  await pool(ids.length, limit, async (i) => {
    const [chatId, state] = ids[i]!;
    if (state === 'open') {
      const msg = await send(baseUrl, 'chat.message', chatId, 'still there?');
      sent.push(msg);
      if (msg.failure) return void lost.push(`${chatId}: chat.message ${msg.failure}`);
    }
    const end = await send(baseUrl, 'chat.end', chatId);
    // A chat.end whose answer was lost (502 from a killed replica) may still have closed the
    // chat: then -43002 is the right answer, not a failure.
    if (state === 'end-unknown' && end.code === -43002) delete end.failure;
    sent.push(end);
    if (!end.failure) chats.set(chatId, 'closed');
    else lost.push(`${chatId}: chat.end ${end.failure}`);
  });
  return { sent, lost };
}

/** How many requests each replica answered. */
export function countByReplica(sent: Sent[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of sent) if (s.servedBy) counts[s.servedBy] = (counts[s.servedBy] ?? 0) + 1;
  return counts;
}
