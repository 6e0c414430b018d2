/**
 * Checks of the distributed deployment through its nginx gateway, shared by the local cluster
 * test (cluster.test.ts) and the container test (compose.test.ts, run by
 * `npm run test:containers`): the same assertions against `http://<gateway>`, whatever runs
 * behind it.
 */
import { ArcClient } from '@arc/core/client';
import { arcRequest, post, userText } from './processes';

const MiB = 1024 * 1024;

/** The replica that finally answered: the last address of X-Upstream-Addr ("a, b : c"). */
export function servedBy(headers: Headers): string {
  const addrs = (headers.get('x-upstream-addr') ?? '').split(/\s*,\s*|\s+:\s+/).filter(Boolean);
  return addrs[addrs.length - 1] ?? '';
}

export interface AgentTurn {
  agent: string;
  route: string;
  start: string;
  followUp?: string;
}

const replyOf = (res: { result: { chat: { message?: { parts: Array<{ content?: unknown }> } } } }): string =>
  String(res.result.chat.message?.parts[0]?.content ?? '');

/**
 * The guide's distributed client flow: one ArcClient per agent, each on its own route through
 * the gateway; chat.start with the guide's keywords, then chat.message on hr and support (one
 * replica each, so the chat is found even without Redis; see financeFollowUp for finance).
 */
export async function guideFlow(baseUrl: string): Promise<AgentTurn[]> {
  const client = (route: string) => new ArcClient(`${baseUrl}/arc/${route}`, { requestAgent: 'distributed-e2e' });
  const finance = client('finance');
  const hr = client('hr');
  const support = client('support');
  const turns: AgentTurn[] = [];

  const invoice = await finance.chat.start('finance-agent', 'I need help with an invoice');
  expect(invoice.responseAgent).toBe('finance-agent');
  expect(replyOf(invoice)).toBe('I can help with invoice inquiries. Please provide invoice number.');
  turns.push({ agent: 'finance-agent', route: 'finance', start: replyOf(invoice) });
  const payment = await finance.chat.start('finance-agent', 'Question about a payment');
  expect(replyOf(payment)).toBe("I can assist with payment processing. What's your payment ID?");

  const salary = await hr.chat.start('hr-agent', 'When is my salary paid?');
  expect(replyOf(salary)).toBe('I can help with salary inquiries. Please provide your employee ID.');
  const salaryFollowUp = await hr.chat.message('hr-agent', salary.result.chat.chatId, 'Employee EMP-42');
  expect(replyOf(salaryFollowUp)).toBe('Let me check that for you: Employee EMP-42');
  turns.push({ agent: 'hr-agent', route: 'hr', start: replyOf(salary), followUp: replyOf(salaryFollowUp) });
  const benefits = await hr.chat.start('hr-agent', 'Tell me about benefits');
  expect(replyOf(benefits)).toBe('I can explain our benefits package. What would you like to know?');

  const help = await support.chat.start('support-agent', 'Hello');
  expect(replyOf(help)).toBe("Hi! I'm here to help with general support. What do you need?");
  const helpFollowUp = await support.chat.message('support-agent', help.result.chat.chatId, 'My login fails');
  expect(replyOf(helpFollowUp)).toBe('I understand your concern: My login fails. Let me help you.');
  turns.push({ agent: 'support-agent', route: 'support', start: replyOf(help), followUp: replyOf(helpFollowUp) });

  // The gateway's route and the envelope's targetAgent must agree: finance's route does not
  // reach the hr agent (the finance service answers -41001 itself).
  await expect(finance.chat.start('hr-agent', 'salary')).rejects.toMatchObject({ code: -41001 });
  return turns;
}

export interface FollowUpOutcome {
  sameReplica: boolean;
  outcome: 'answered' | 'chat-not-found';
}

/**
 * chat.message after chat.start on finance, for replicas WITHOUT a shared chat store (the local
 * cluster without REDIS_URL): chat state is then per replica (in memory), so when the follow-up
 * reaches the replica that started the chat it is answered, and when it reaches another one it
 * gets -43001 ChatNotFound. Both are asserted exactly, using X-Upstream-Addr to know which case
 * happened. With Redis every replica answers (tests/e2e/support/conversations.ts).
 */
export async function financeFollowUp(baseUrl: string): Promise<FollowUpOutcome> {
  const url = `${baseUrl}/arc/finance`;
  const start = await post(url, JSON.stringify(arcRequest('chat.start', 'finance-agent', { initialMessage: userText('invoice please') })));
  expect(start.status).toBe(200);
  const chatId = start.json.result.chat.chatId as string;
  const msg = await post(url, JSON.stringify(arcRequest('chat.message', 'finance-agent', { chatId, message: userText('INV-12345') })));
  const sameReplica = servedBy(start.headers) === servedBy(msg.headers);
  if (sameReplica) {
    expect(msg.json.result.chat.message.parts[0].content).toBe('Processing your request: INV-12345');
    return { sameReplica, outcome: 'answered' };
  }
  expect(msg.status).toBe(200);
  expect(msg.json.error).toMatchObject({ code: -43001, details: { chatId } });
  return { sameReplica, outcome: 'chat-not-found' };
}

/** Sends `n` chat.start requests to a route; returns the replica that answered each. */
export async function servingReplicas(baseUrl: string, route: string, agent: string, n: number): Promise<string[]> {
  const served: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await post(
      `${baseUrl}/arc/${route}`,
      JSON.stringify(arcRequest('chat.start', agent, { initialMessage: userText('invoice') })),
    );
    expect(res.status).toBe(200);
    expect(res.json.error).toBeNull();
    served.push(servedBy(res.headers));
  }
  return served;
}

/**
 * The supervisor behind the gateway: chat.start on /arc/supervisor is routed to the specialist
 * (an invoice question to finance-agent), which the supervisor calls through the gateway too
 * (ARC_GATEWAY_URL), and the specialist's reply comes back under the supervisor's name.
 */
export async function supervisorThroughGateway(baseUrl: string): Promise<string> {
  const res = await post(
    `${baseUrl}/arc/supervisor`,
    JSON.stringify(arcRequest('chat.start', 'supervisor', { initialMessage: userText('invoice question') })),
  );
  expect(res.status).toBe(200);
  expect(res.json).toMatchObject({ responseAgent: 'supervisor', error: null, result: { chat: { status: 'ACTIVE' } } });
  expect(res.json.result.chat.message.parts[0].content).toBe('I can help with invoice inquiries. Please provide invoice number.');
  return res.json.result.chat.chatId as string;
}

/**
 * GET /agent-info/<agent id>: that agent's service's /agent-info (through one replica), for
 * every agent given; other methods 405 from nginx; an unknown agent id 404 -41001.
 */
export async function agentInfoThroughGateway(baseUrl: string, agents: readonly string[]): Promise<void> {
  for (const agent of agents) {
    const res = await fetch(`${baseUrl}/agent-info/${agent}`);
    expect({ agent, status: res.status }).toEqual({ agent, status: 200 });
    const info = (await res.json()) as any;
    expect(info.registeredAgents?.[agent]).toMatchObject({ status: 'active', supportedMethods: expect.arrayContaining(['chat.start']) });
    expect(typeof info.registeredAgents[agent].description).toBe('string');
  }
  const posted = await post(`${baseUrl}/agent-info/${agents[0]}`, '{}');
  expect(posted.status).toBe(405);
  expect(posted.headers.get('allow')).toBe('GET, HEAD');
  expect(posted.json).toMatchObject({ arc: '1.0', id: null, responseAgent: 'nginx', result: null, error: { code: -32600 } });
  const unknown = await fetch(`${baseUrl}/agent-info/nope-agent`);
  expect(unknown.status).toBe(404);
  expect(await unknown.json()).toMatchObject({ error: { code: -41001, details: { agentId: 'nope-agent' } } });
}

/** nginx's own answers: /health, an unknown agent, an unknown path, the bare /arc. */
export async function gatewayAnswers(baseUrl: string): Promise<void> {
  const health = await fetch(`${baseUrl}/health`);
  expect(health.status).toBe(200);
  expect(health.headers.get('content-type')).toMatch(/^application\/json/);
  expect(await health.json()).toMatchObject({ status: 'healthy' });

  const replicaHealth = await fetch(`${baseUrl}/health/finance`);
  expect(replicaHealth.status).toBe(200);
  expect(await replicaHealth.json()).toMatchObject({ status: 'healthy', server_id: expect.stringMatching(/^finance-server/) });

  const nope = await post(`${baseUrl}/arc/nope`, JSON.stringify(arcRequest('chat.start', 'nope', { initialMessage: userText('hi') })));
  expect(nope.status).toBe(404);
  expect(nope.headers.get('content-type')).toMatch(/^application\/json/);
  expect(nope.json).toEqual({
    arc: '1.0',
    id: null,
    responseAgent: 'nginx',
    targetAgent: 'unknown',
    traceId: null,
    result: null,
    error: { code: -41001, message: 'Agent not found: nope', details: { agentId: 'nope' } },
  });

  for (const [method, path] of [
    ['GET', '/index.html'],
    ['POST', '/arc'],
    ['POST', '/arc/finance/extra'],
    ['GET', '/arc/%22x'],
  ] as const) {
    const res = await fetch(`${baseUrl}${path}`, { method, ...(method === 'POST' ? { body: '{}' } : {}) });
    const text = await res.text();
    expect({ path, status: res.status }).toEqual({ path, status: 404 });
    expect(JSON.parse(text)).toMatchObject({ arc: '1.0', id: null, result: null, error: { code: -32600 } });
  }
}

/** X-Request-Id: kept when the caller sends one, made up otherwise; echoed on the answer. */
export async function requestIds(baseUrl: string): Promise<void> {
  const body = JSON.stringify(arcRequest('chat.start', 'support-agent', { initialMessage: userText('hi') }));
  const given = await post(`${baseUrl}/arc/support`, body, { 'Content-Type': 'application/arc+json', 'X-Request-Id': 'req-e2e-1' });
  expect(given.status).toBe(200);
  expect(given.headers.get('x-request-id')).toBe('req-e2e-1');
  const made = await post(`${baseUrl}/arc/support`, body);
  expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
}

/** A 5 MiB request passes through; 12 MiB gets an ARC JSON 413 -45004 (from nginx). */
export async function bodyLimits(baseUrl: string): Promise<void> {
  const big = JSON.stringify(arcRequest('chat.start', 'hr-agent', { initialMessage: userText(`salary ${'x'.repeat(5 * MiB)}`) }));
  expect(big.length).toBeGreaterThan(5 * MiB);
  const ok = await post(`${baseUrl}/arc/hr`, big);
  expect(ok.status).toBe(200);
  expect(ok.json.result.chat.message.parts[0].content).toBe('I can help with salary inquiries. Please provide your employee ID.');

  const huge = JSON.stringify(arcRequest('chat.start', 'hr-agent', { initialMessage: userText('x'.repeat(12 * MiB)) }));
  const tooBig = await post(`${baseUrl}/arc/hr`, huge);
  expect(tooBig.status).toBe(413);
  expect(tooBig.headers.get('content-type')).toMatch(/^application\/json/);
  expect(tooBig.json).toMatchObject({ arc: '1.0', id: null, result: null, error: { code: -45004, details: { rejectedBy: 'gateway' } } });
}

/** params.stream: the SSE frames come through the gateway as the service wrote them. */
export async function streamThroughGateway(baseUrl: string): Promise<Array<{ event: string; data: any }>> {
  const body = JSON.stringify(arcRequest('chat.start', 'hr-agent', { initialMessage: userText('benefits'), stream: true }));
  const res = await fetch(`${baseUrl}/arc/hr`, {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'text/event-stream', Accept: 'text/event-stream' },
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const text = await res.text();
  expect(text).not.toContain('\r');
  const frames = text
    .split('\n\n')
    .filter(Boolean)
    .map((frame) => {
      const lines = frame.split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^event: /);
      expect(lines[1]).toMatch(/^data: /);
      return { event: lines[0]!.slice('event: '.length), data: JSON.parse(lines[1]!.slice('data: '.length)) };
    });
  expect(frames.length).toBeGreaterThanOrEqual(2);
  expect(frames[frames.length - 1]!.event).toBe('done');
  const words = frames
    .filter((f) => f.event === 'stream')
    .map((f) => f.data.message.parts[0].content)
    .join('');
  expect(words).toBe('I can explain our benefits package. What would you like to know?');
  return frames;
}
