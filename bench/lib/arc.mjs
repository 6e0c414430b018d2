/**
 * The ARC requests the benchmark sends and how it checks the replies.
 *
 * Every request is a real ARC envelope to finance-agent (the supervisor rows' chat.start goes to
 * `supervisor`, which hands it on to finance-agent). The generator (load-worker.mjs) checks
 * EVERY reply cheaply (HTTP 2xx and the body says `"error":null`) and parses a sample of them in
 * full with `checkReply` (shape of a chat.start / chat.message success, id echoed, the agent that
 * answered, finance-agent's reply to a chat.start, the chatId of a chat.message reply being the
 * one sent). ARC errors come back with HTTP 200 from the
 * services, so the status alone would not catch them. The task rows (task-flows.mjs) parse and
 * check every reply in full (`checkTaskReply`): a flow has few requests and needs their ids.
 */
import { request } from 'node:http';
import { arcRequest, manifest, userText } from '@arc/devkit';

export const AGENT = manifest.service('finance').agents[0];
export const REQUEST_AGENT = 'bench';
export const START_TEXT = 'I need help with an invoice';
/** finance-agent's answer to START_TEXT (services/finance financeReply), also through the supervisor. */
export const START_REPLY = 'I can help with invoice inquiries. Please provide invoice number.';
export const MESSAGE_TEXT = 'Invoice INV-0042, please';
/** Names an invoice of the finance agent's ledger, so the task completes without asking for input. */
export const TASK_TEXT = 'Invoice summary report for INV-12345';

/** The chat.start envelope to `agent` (id `b-1`: the same bytes every time). */
export function chatStartBody(id = 'b-1', agent = AGENT) {
  return JSON.stringify(arcRequest('chat.start', agent, { initialMessage: userText(START_TEXT) }, { id, requestAgent: REQUEST_AGENT }));
}

/** The chat.message envelope for one chat of the pool. */
export function chatMessageBody(chatId, id = 'm-1') {
  return JSON.stringify(
    arcRequest('chat.message', AGENT, { chatId, message: userText(MESSAGE_TEXT) }, { id, requestAgent: REQUEST_AGENT }),
  );
}

/** task.create: the invoice report task (NORMAL priority). */
export function taskCreateBody(id) {
  return JSON.stringify(arcRequest('task.create', AGENT, { initialMessage: userText(TASK_TEXT) }, { id, requestAgent: REQUEST_AGENT }));
}

/** task.subscribe: `events` of `taskId` to `callbackUrl`. */
export function taskSubscribeBody(id, taskId, callbackUrl, events) {
  return JSON.stringify(arcRequest('task.subscribe', AGENT, { taskId, callbackUrl, events }, { id, requestAgent: REQUEST_AGENT }));
}

/** task.info without messages and artifacts (to say why a webhook never came). */
export function taskInfoBody(id, taskId) {
  return JSON.stringify(
    arcRequest('task.info', AGENT, { taskId, includeMessages: false, includeArtifacts: false }, { id, requestAgent: REQUEST_AGENT }),
  );
}

/**
 * The full check of a task.create or task.subscribe reply: { problem: null, result } when it is
 * a correct ARC success (the id echoed, a SUBMITTED task with an id; an active subscription of
 * `expect.taskId` to `expect.events`), else { problem }.
 */
export function checkTaskReply(body, method, expect) {
  let msg;
  try {
    msg = JSON.parse(body);
  } catch {
    return { problem: `not JSON: ${body.slice(0, 200)}` };
  }
  if (!msg || typeof msg !== 'object' || msg.arc !== '1.0') return { problem: `not an ARC response: ${body.slice(0, 200)}` };
  if (msg.error !== null) return { problem: `${method}: ARC error ${JSON.stringify(msg.error).slice(0, 300)}` };
  if (msg.id !== expect.id) return { problem: `${method}: id ${JSON.stringify(msg.id)} is not ${expect.id}` };
  if (msg.responseAgent !== AGENT) return { problem: `${method}: responseAgent ${JSON.stringify(msg.responseAgent)}` };
  const r = msg.result;
  if (method === 'task.create') {
    const ok = r && r.type === 'task' && r.task && typeof r.task.taskId === 'string' && r.task.status === 'SUBMITTED';
    return ok ? { problem: null, result: r.task } : { problem: `task.create: not a SUBMITTED task: ${JSON.stringify(r).slice(0, 200)}` };
  }
  if (method === 'task.subscribe') {
    const s = r && r.type === 'subscription' ? r.subscription : undefined;
    const ok =
      s &&
      s.taskId === expect.taskId &&
      s.active === true &&
      typeof s.subscriptionId === 'string' &&
      s.events.join() === expect.events.join();
    return ok
      ? { problem: null, result: s }
      : { problem: `task.subscribe: not the subscription asked for: ${JSON.stringify(r).slice(0, 200)}` };
  }
  const ok = r && r.type === 'task' && r.task && r.task.taskId === expect.taskId;
  return ok ? { problem: null, result: r.task } : { problem: `${method}: not the task: ${JSON.stringify(r).slice(0, 200)}` };
}

/** The cheap check run on every reply body. */
export function looksLikeSuccess(body) {
  return body.includes('"error":null');
}

/**
 * The full check of one reply: null when it is a correct ARC success for `method`, else what is
 * wrong. `expect.id` is the request id; `expect.agent` the agent asked (default finance-agent);
 * `expect.text` the agent message's text; `expect.chatId` (chat.message) the chat that was sent.
 */
export function checkReply(body, method, expect = {}) {
  let msg;
  try {
    msg = JSON.parse(body);
  } catch {
    return `not JSON: ${body.slice(0, 200)}`;
  }
  if (!msg || typeof msg !== 'object') return 'not an object';
  if (msg.arc !== '1.0') return `arc is ${JSON.stringify(msg.arc)}`;
  if (msg.error !== null) return `ARC error ${JSON.stringify(msg.error).slice(0, 300)}`;
  if (expect.id !== undefined && msg.id !== expect.id) return `id ${JSON.stringify(msg.id)} is not ${expect.id}`;
  if (msg.responseAgent !== (expect.agent ?? AGENT)) return `responseAgent ${JSON.stringify(msg.responseAgent)}`;
  const chat = msg.result && msg.result.chat;
  if (!msg.result || msg.result.type !== 'chat' || !chat) return `result is not a chat: ${JSON.stringify(msg.result).slice(0, 200)}`;
  if (typeof chat.chatId !== 'string' || chat.chatId.length === 0) return 'no chatId';
  if (method === 'chat.message' && expect.chatId !== undefined && chat.chatId !== expect.chatId) {
    return `chatId ${chat.chatId} is not the one sent (${expect.chatId})`;
  }
  if (chat.status !== 'ACTIVE') return `chat status ${chat.status}`;
  const parts = chat.message && chat.message.parts;
  if (!chat.message || chat.message.role !== 'agent' || !Array.isArray(parts) || parts.length === 0) return 'no agent message';
  if (typeof parts[0].content !== 'string' || parts[0].content.length === 0) return 'empty agent message';
  if (expect.text !== undefined && parts[0].content !== expect.text)
    return `agent message ${JSON.stringify(parts[0].content.slice(0, 200))}`;
  return null;
}

/**
 * POSTs one envelope (with `headers` added) and resolves { status, headers, body } (for set-up
 * and checks only). A new connection each time (agent: false), closed afterwards, so that no
 * idle keep-alive connection of the orchestrator delays a server's graceful shutdown.
 */
export function post(url, body, headers = {}) {
  return send('POST', url, body, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
}

/** GET, as `post` (GET /metrics in the metrics check). */
export const get = (url) => send('GET', url, '', {});

function send(method, url, body, headers) {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent: false,
        timeout: 10_000,
        headers: { connection: 'close', ...headers },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Starts `size` chats at `url` (8 at a time) and returns their ids, checking every reply. */
export async function startChatPool(url, size) {
  const ids = [];
  let next = 0;
  const worker = async () => {
    while (next < size) {
      const i = next++;
      const { status, body } = await post(url, chatStartBody(`pool-${i}`));
      const problem =
        status >= 200 && status < 300 ? checkReply(body, 'chat.start', { id: `pool-${i}` }) : `HTTP ${status}: ${body.slice(0, 300)}`;
      if (problem) throw new Error(`chat.start for the chat pool at ${url} failed: ${problem}`);
      ids.push(JSON.parse(body).result.chat.chatId);
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, size) }, worker));
  return ids;
}

/** One chat.start reply to exactly the benchmark's request body (what the baselines mimic). */
export async function chatStartReply(url) {
  const { status, body } = await post(url, chatStartBody());
  const problem = status >= 200 && status < 300 ? checkReply(body, 'chat.start', { id: 'b-1' }) : `HTTP ${status}: ${body.slice(0, 300)}`;
  if (problem) throw new Error(`chat.start at ${url} failed: ${problem}`);
  return body;
}
