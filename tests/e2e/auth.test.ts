/**
 * Bearer-token auth end to end (issue 10): the built services as real processes, started with
 * AUTH_JWT_SECRET (a random HS256 secret of this run), AUTH_ISSUER=arc-test and AUTH_AUDIENCE=arc.
 *
 *  - the scope matrix (ARC-PROTOCOL.md §10, DECISIONS.md 9): every standard method × every way a
 *    request can fail auth (no token, a malformed header, a bad signature, expired, wrong issuer,
 *    wrong audience, each required scope missing, the legacy arc.stream.controller) and the ways
 *    it passes, on the single server; a subset of each kind through nginx (finance ×2, hr, support
 *    sharing Redis) - statuses, codes, `details`, WWW-Authenticate, JSON never HTML;
 *  - the Python client's captured requests (shared/protocol/captures) with a token: the same
 *    answers as a server without auth; the -44003 answer carries required_scopes/provided_scopes;
 *  - /health stays open, /agent-info follows AUTH_PROTECT_AGENT_INFO, AUTH_BIND_REQUEST_AGENT;
 *  - without AUTH_JWT_SECRET nothing changes; CORS preflights (CORS_ORIGINS) on a server with auth.
 *
 * The unit tests (packages/arc-core/test/auth/scope-matrix.test.ts) cover the matrix exhaustively;
 * here every row and failure kind is visited once over the wire. Tokens are made with jose; none
 * is ever printed.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { manifest, suiteNeeding, testKeyPrefix } from '@arc/devkit';
import { startCluster, type Cluster } from '../../scripts/lib/cluster.cjs';
import { arcRequest, post, readAnswer, startService, stopAll, userText, type Proc } from './support/processes';
import { REDIS_URL, deleteKeysUnder } from './support/redis';
import { RECORDED_TASK, capturedBody } from './support/tasks';

type Answer = Awaited<ReturnType<typeof post>>;

// ---- tokens ----------------------------------------------------------------------------------

const SECRET = randomBytes(36).toString('base64url'); // 48 characters
const OTHER_SECRET = randomBytes(36).toString('base64url');
const ISSUER = 'arc-test';
const AUDIENCE = 'arc';
const AUTH_ENV = { AUTH_JWT_SECRET: SECRET, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE };
/** What every service here needs besides auth: tasks that stay WORKING while a test looks at them, and a callback host. */
const BASE_ENV = {
  TASK_WORK_MS: '60000',
  WEBHOOK_SECRET: randomBytes(24).toString('hex'),
  WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
};
const ORIGIN = 'https://app.example.com';

const CHAT = ['arc.chat.controller', 'arc.agent.caller'];
const TASK = ['arc.task.controller', 'arc.agent.caller'];
const NOTIFY = ['arc.task.notify', 'arc.agent.receiver'];
const ALL = ['arc.chat.controller', 'arc.task.controller', 'arc.task.notify', 'arc.agent.caller', 'arc.agent.receiver'];
const LEGACY_CHAT = ['arc.stream.controller', 'arc.agent.caller'];

interface TokenSpec {
  scopes?: string[];
  sub?: string;
  iss?: string;
  aud?: string;
  /** Seconds from now; negative: already expired. */
  expIn?: number;
  secret?: string;
}

async function mint(spec: TokenSpec = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const expIn = spec.expIn ?? 600;
  return new SignJWT({ scope: (spec.scopes ?? ALL).join(' ') })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(spec.sub ?? 'e2e-client')
    .setIssuer(spec.iss ?? ISSUER)
    .setAudience(spec.aud ?? AUDIENCE)
    .setIssuedAt(Math.min(now, now + expIn - 60))
    .setExpirationTime(now + expIn)
    .sign(new TextEncoder().encode(spec.secret ?? SECRET));
}

const bearer = async (spec: TokenSpec = {}) => `Bearer ${await mint(spec)}`;

// ---- the matrix ------------------------------------------------------------------------------

const UNKNOWN_CHAT = 'chat-auth-e2e-unknown';
const UNKNOWN_TASK = 'task-auth-e2e-unknown';

/** What a request that passed auth gets: a result of this type, or this (non-auth) error code. */
type Outcome = { result: string } | { code: number; status: number };

interface Row {
  method: string;
  required: string[];
  params: () => Record<string, unknown>;
  passed: Outcome;
  /** No agent here handles the method: the router answers -32601 before any scope is looked at. */
  unserved?: true;
}

const ROWS: Row[] = [
  {
    method: 'chat.start',
    required: CHAT,
    params: () => ({ initialMessage: userText('I need help with an invoice') }),
    passed: { result: 'chat' },
  },
  {
    method: 'chat.message',
    required: CHAT,
    params: () => ({ chatId: UNKNOWN_CHAT, message: userText('INV-1') }),
    passed: { code: -43001, status: 200 },
  },
  { method: 'chat.end', required: CHAT, params: () => ({ chatId: UNKNOWN_CHAT }), passed: { code: -43001, status: 200 } },
  {
    method: 'task.create',
    required: TASK,
    params: () => ({ initialMessage: userText('Analyze this report') }),
    passed: { result: 'task' },
  },
  { method: 'task.info', required: TASK, params: () => ({ taskId: UNKNOWN_TASK }), passed: { code: -42001, status: 200 } },
  {
    method: 'task.send',
    required: TASK,
    params: () => ({ taskId: UNKNOWN_TASK, message: userText('more') }),
    passed: { code: -42001, status: 200 },
  },
  { method: 'task.cancel', required: TASK, params: () => ({ taskId: UNKNOWN_TASK, reason: 'x' }), passed: { code: -42001, status: 200 } },
  {
    method: 'task.subscribe',
    required: TASK,
    params: () => ({ taskId: UNKNOWN_TASK, callbackUrl: 'http://127.0.0.1:9/hook', events: ['TASK_COMPLETED'] }),
    passed: { code: -42001, status: 200 },
  },
  {
    method: 'task.notification',
    required: NOTIFY,
    params: () => ({ taskId: UNKNOWN_TASK, event: 'TASK_COMPLETED', timestamp: new Date().toISOString(), data: { status: 'COMPLETED' } }),
    passed: { code: -32601, status: 404 },
    unserved: true,
  },
];

/** What auth must answer. */
type Expected =
  { kind: 'unauthenticated'; reason: string; challenge: RegExp } | { kind: 'forbidden'; provided: string[] } | { kind: 'passes' };

interface Kind {
  name: string;
  /** The Authorization header (undefined: none); `sub` for the token's subject. */
  header: (sub?: string) => Promise<string | undefined>;
  expected: Expected;
}

const invalidToken = (reason: string): Expected => ({
  kind: 'unauthenticated',
  reason,
  challenge: /^Bearer realm="arc", error="invalid_token", error_description="[^"]+"$/,
});
const forbidden =
  (scopes: string[]): Kind['header'] =>
  (sub) =>
    bearer({ scopes, sub });

/** The ways one method's request can fare, by name. */
function kindsOf(row: Row): Kind[] {
  const kinds: Kind[] = [
    {
      name: 'no token',
      header: async () => undefined,
      expected: { kind: 'unauthenticated', reason: 'missing_token', challenge: /^Bearer realm="arc"$/ },
    },
    {
      name: 'scheme in lower case',
      header: async (sub) => `bearer ${await mint({ sub })}`,
      expected: {
        kind: 'unauthenticated',
        reason: 'malformed_header',
        challenge: /^Bearer realm="arc", error="invalid_request", error_description="[^"]+"$/,
      },
    },
    { name: 'bad signature', header: (sub) => bearer({ sub, secret: OTHER_SECRET }), expected: invalidToken('invalid_signature') },
    // Well past AUTH_CLOCK_TOLERANCE_SECONDS (30 s).
    { name: 'expired', header: (sub) => bearer({ sub, expIn: -300 }), expected: invalidToken('token_expired') },
    { name: 'wrong issuer', header: (sub) => bearer({ sub, iss: 'someone-else' }), expected: invalidToken('wrong_issuer') },
    { name: 'wrong audience', header: (sub) => bearer({ sub, aud: 'not-arc' }), expected: invalidToken('wrong_audience') },
  ];
  for (const scope of row.required) {
    const scopes = ALL.filter((s) => s !== scope);
    kinds.push({ name: `without ${scope}`, header: forbidden(scopes), expected: { kind: 'forbidden', provided: scopes } });
  }
  kinds.push({ name: 'all scopes', header: (sub) => bearer({ sub }), expected: { kind: 'passes' } });
  kinds.push({ name: 'only the required scopes', header: forbidden(row.required), expected: { kind: 'passes' } });
  // arc.stream.controller stands in for arc.chat.controller, and for nothing else.
  kinds.push({
    name: 'legacy arc.stream.controller',
    header: forbidden(LEGACY_CHAT),
    expected: row.required === CHAT ? { kind: 'passes' } : { kind: 'forbidden', provided: LEGACY_CHAT },
  });
  return kinds;
}

const kindOf = (row: Row, name: string): Kind => {
  const kind = kindsOf(row).find((k) => k.name === name);
  if (!kind) throw new Error(`no kind "${name}" for ${row.method}`);
  return kind;
};
const rowOf = (method: string): Row => ROWS.find((r) => r.method === method)!;

/** Sends one row's request to `url` as `agent`, with the kind's header; checks the answer. */
async function check(url: string, agent: string, row: Row, kind: Kind, sub?: string): Promise<Answer> {
  const authorization = await kind.header(sub);
  const body = arcRequest(row.method, agent, row.params(), sub === undefined ? {} : { requestAgent: sub });
  const headers: Record<string, string> = { 'Content-Type': 'application/arc+json' };
  if (authorization !== undefined) headers.Authorization = authorization;
  const res = await post(url, JSON.stringify(body), headers);
  const context = `${row.method} / ${kind.name}: ${res.status} ${res.text.slice(0, 300)}`;
  // Always an ARC envelope as JSON, whoever answered.
  expect(res.headers.get('content-type')).toBe('application/json');
  expect(res.json).toMatchObject({ arc: '1.0' });
  if (authorization !== undefined) expect(res.text).not.toContain(authorization.slice(7));
  const challenge = res.headers.get('www-authenticate');
  // An unserved method is not found before its scopes are checked, whatever the token's scopes.
  const expected: Expected = row.unserved && kind.expected.kind === 'forbidden' ? { kind: 'passes' } : kind.expected;
  switch (expected.kind) {
    case 'unauthenticated':
      expect({ context, status: res.status, code: res.json.error?.code, reason: res.json.error?.details?.reason }).toEqual({
        context,
        status: 401,
        code: -44001,
        reason: expected.reason,
      });
      expect(res.json.result).toBeNull();
      expect(challenge).toMatch(expected.challenge);
      break;
    case 'forbidden':
      expect({ context, status: res.status, code: res.json.error?.code }).toEqual({ context, status: 403, code: -44003 });
      expect(res.json.result).toBeNull();
      // What the Python client reads: two lists.
      expect(res.json.error.details).toMatchObject({ required_scopes: row.required, provided_scopes: expected.provided });
      expect(challenge).toBe(
        `Bearer realm="arc", error="insufficient_scope", error_description="${res.json.error.message}", scope="${row.required.join(' ')}"`,
      );
      break;
    case 'passes':
      expect(challenge).toBeNull();
      if ('result' in row.passed) {
        expect({ context, status: res.status, error: res.json.error, type: res.json.result?.type }).toEqual({
          context,
          status: 200,
          error: null,
          type: row.passed.result,
        });
      } else {
        expect({ context, status: res.status, code: res.json.error?.code }).toEqual({
          context,
          status: row.passed.status,
          code: row.passed.code,
        });
      }
      break;
  }
  return res;
}

// ---- the captured Python client requests -----------------------------------------------------

/** The recorded chat id of chat_message*.txt and error_method_not_found.txt. */
const RECORDED_CHAT = 'chat-14500772';
const CAPTURE_FLOW = [
  'chat_start.txt',
  'chat_start_stream.txt',
  'chat_message.txt',
  'chat_message_stream.txt',
  'error_method_not_found.txt',
  'error_invalid_request.txt',
  'error_invalid_version.txt',
  'error_parse_error.txt',
  'error_unknown_agent.txt',
  'task_create.txt',
  'task_info.txt',
  'task_send.txt',
  'task_subscribe.txt',
  'task_cancel.txt',
  'error_task_not_found.txt',
];
const scopesFor = (file: string) => (/^(task_|error_task)/.test(file) ? TASK : CHAT);

/** What a client can tell of an answer: status, error code, result type, chat / cancel status, success, SSE events. */
interface Summary {
  status: number;
  contentType: string | undefined;
  code: number | null;
  result: string | null;
  status2?: string;
  success?: boolean;
  events?: string[];
}

function summarize(file: string, res: Answer): Summary {
  const contentType = res.headers.get('content-type')?.split(';')[0];
  if (contentType === 'text/event-stream') {
    const events = res.text
      .split('\n\n')
      .filter(Boolean)
      .map((f) => f.split('\n')[0]!.replace('event: ', ''));
    return { status: res.status, contentType, code: null, result: null, events };
  }
  const out: Summary = { status: res.status, contentType, code: res.json?.error?.code ?? null, result: res.json?.result?.type ?? null };
  if (res.json?.result?.success !== undefined) out.success = res.json.result.success;
  const chat = res.json?.result?.chat?.status;
  if (chat !== undefined) out.status2 = chat;
  // task.info may see SUBMITTED or WORKING; a cancel always ends CANCELED.
  if (file === 'task_cancel.txt') out.status2 = res.json?.result?.task?.status;
  return out;
}

/**
 * Replays the capture flow against `arcUrl` (one ARC endpoint for finance-agent), each request
 * with `auth(scopes)`'s headers; summaries by file. The recorded chat id is opened first, the
 * recorded task id replaced by the one task_create.txt made.
 */
async function replayFlow(arcUrl: string, auth: (scopes: string[]) => Promise<Record<string, string>>): Promise<Record<string, Summary>> {
  const out: Record<string, Summary> = {};
  let taskId = RECORDED_TASK;
  for (const file of CAPTURE_FLOW) {
    if (file === 'chat_message.txt') {
      const opened = await post(
        arcUrl,
        JSON.stringify(arcRequest('chat.start', 'finance-agent', { chatId: RECORDED_CHAT, initialMessage: userText('invoice') })),
        { 'Content-Type': 'application/arc+json', ...(await auth(CHAT)) },
      );
      expect(opened.json?.result?.chat?.chatId).toBe(RECORDED_CHAT);
    }
    const { body, headers } = capturedBody(file, 'finance-agent', taskId);
    const sent = body.replace('https://hooks.example.com/arc', 'http://127.0.0.1:9/hook');
    const res = await fetch(arcUrl, { method: 'POST', headers: { ...headers, ...(await auth(scopesFor(file))) }, body: sent });
    const answer = await readAnswer(res);
    out[file] = summarize(file, answer);
    if (file === 'task_create.txt') taskId = answer.json?.result?.task?.taskId ?? taskId;
  }
  return out;
}

/** chat_start.txt with a token that lacks arc.chat.controller: the -44003 the Python client turns into its error. */
async function capturedInsufficientScope(arcUrl: string, sub?: string): Promise<void> {
  const { body, headers } = capturedBody('chat_start.txt', 'finance-agent');
  const res = await fetch(arcUrl, {
    method: 'POST',
    headers: { ...headers, Authorization: await bearer({ scopes: ['arc.agent.caller'], sub }) },
    body,
  });
  expect(res.status).toBe(403);
  expect(res.headers.get('content-type')).toBe('application/json');
  const env = (await res.json()) as any;
  expect(env).toMatchObject({ arc: '1.0', id: JSON.parse(body).id, result: null, error: { code: -44003 } });
  expect(env.error.details.required_scopes).toEqual(CHAT);
  expect(env.error.details.provided_scopes).toEqual(['arc.agent.caller']);
  expect(res.headers.get('www-authenticate')).toMatch(
    /^Bearer realm="arc", error="insufficient_scope", .*scope="arc.chat.controller arc.agent.caller"$/,
  );
}

// ---- the single server -----------------------------------------------------------------------

let authed: Proc;
let open: Proc;
let bound: Proc;
const arcOf = (p: Proc) => `${p.url}/arc`;
/** Baseline of the capture replays: the server without auth. */
let baseline: Promise<Record<string, Summary>>;

beforeAll(async () => {
  [authed, open, bound] = await Promise.all([
    startService('single-server', { ...BASE_ENV, ...AUTH_ENV }),
    // `npm start` without auth: the variables empty count as unset, whatever this environment holds.
    startService('single-server', { ...BASE_ENV, AUTH_JWT_SECRET: '', AUTH_JWT_PUBLIC_KEY: '', AUTH_JWKS_URL: '' }),
    startService('single-server', {
      ...BASE_ENV,
      ...AUTH_ENV,
      AUTH_BIND_REQUEST_AGENT: 'true',
      AUTH_PROTECT_AGENT_INFO: 'false',
      CORS_ORIGINS: ORIGIN,
    }),
  ]);
  baseline = replayFlow(arcOf(open), async () => ({}));
  baseline.catch(() => undefined);
}, 30_000);
afterAll(stopAll);

describe('single server with AUTH_JWT_SECRET: the scope matrix', () => {
  const cases = ROWS.flatMap((row) => kindsOf(row).map((kind) => [row.method, kind.name, row, kind] as const));
  test.each(cases)('%s, %s', async (_m, _k, row, kind) => {
    await check(arcOf(authed), 'finance-agent', row, kind);
  });
});

describe('single server: the Python client captures with a token', () => {
  test('every capture answers as on a server without auth', async () => {
    const base = await baseline;
    // The baseline is what the client expects: the flow worked there.
    expect(base['chat_start.txt']).toMatchObject({ status: 200, code: null, result: 'chat', status2: 'ACTIVE' });
    expect(base['chat_message.txt']).toMatchObject({ status: 200, code: null, result: 'chat' });
    expect(base['chat_message_stream.txt']!.events).toEqual(['stream', 'done']);
    expect(base['task_send.txt']).toMatchObject({ status: 200, code: null, success: true });
    expect(base['task_cancel.txt']).toMatchObject({ status: 200, code: null, status2: 'CANCELED' });
    expect(base['error_task_not_found.txt']!.code).toBe(-42001);
    const withToken = await replayFlow(arcOf(authed), async (scopes) => ({
      Authorization: await bearer({ scopes, sub: 'arc-capture-client' }),
    }));
    expect(withToken).toEqual(base);
  });

  test('chat_start.txt without arc.chat.controller: 403 -44003 with required_scopes and provided_scopes', async () => {
    await capturedInsufficientScope(arcOf(authed));
  });
});

describe('single server: open paths, /agent-info, request agent binding', () => {
  test('/health and /health/live answer 200 without a token', async () => {
    for (const path of ['/health', '/health/live']) {
      const res = await fetch(`${authed.url}${path}`);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      await res.arrayBuffer();
    }
  });

  test('GET /agent-info: 401 ARC envelope without a token, 200 with one (AUTH_PROTECT_AGENT_INFO default)', async () => {
    const without = await fetch(`${authed.url}/agent-info`);
    expect(without.status).toBe(401);
    expect(without.headers.get('content-type')).toBe('application/json');
    expect(without.headers.get('www-authenticate')).toBe('Bearer realm="arc"');
    expect(await without.json()).toMatchObject({ arc: '1.0', result: null, error: { code: -44001 } });
    const expired = await fetch(`${authed.url}/agent-info`, { headers: { Authorization: await bearer({ expIn: -300 }) } });
    expect(expired.status).toBe(401);
    expect(((await expired.json()) as any).error.code).toBe(-44001);
    const withToken = await fetch(`${authed.url}/agent-info`, { headers: { Authorization: await bearer({ scopes: [] }) } });
    expect(withToken.status).toBe(200);
    const info = (await withToken.json()) as any;
    expect(Object.keys(info.registeredAgents).sort()).toEqual([...manifest.singleServer.agents].sort());
  });

  test('GET /agent-info with AUTH_PROTECT_AGENT_INFO=false: 200 without a token', async () => {
    const res = await fetch(`${bound.url}/agent-info`);
    expect(res.status).toBe(200);
    expect(Object.keys(((await res.json()) as any).registeredAgents)).toHaveLength(manifest.singleServer.agents.length);
  });

  test('AUTH_BIND_REQUEST_AGENT=true: a token whose sub is not requestAgent → 403 -44002; the same name passes', async () => {
    const start = () => arcRequest('chat.start', 'hr-agent', { initialMessage: userText('salary') }, { requestAgent: 'billing-app' });
    const other = await post(arcOf(bound), JSON.stringify(start()), {
      'Content-Type': 'application/arc+json',
      Authorization: await bearer({ sub: 'mallory-app' }),
    });
    expect(other.status).toBe(403);
    expect(other.headers.get('content-type')).toBe('application/json');
    expect(other.json).toMatchObject({
      arc: '1.0',
      result: null,
      error: { code: -44002, details: { reason: 'agent_mismatch', requestAgent: 'billing-app' } },
    });
    expect(other.text).not.toContain('mallory-app');
    const same = await post(arcOf(bound), JSON.stringify(start()), {
      'Content-Type': 'application/arc+json',
      Authorization: await bearer({ sub: 'billing-app' }),
    });
    expect(same.status).toBe(200);
    expect(same.json.error).toBeNull();
    expect(same.json.result.chat.status).toBe('ACTIVE');
  });
});

describe('single server without AUTH_JWT_SECRET (npm start)', () => {
  test('serves calls without a token, and /agent-info', async () => {
    const res = await post(arcOf(open), JSON.stringify(arcRequest('chat.start', 'support-agent', { initialMessage: userText('hi') })));
    expect(res.status).toBe(200);
    expect(res.json.result.chat.status).toBe('ACTIVE');
    expect(res.headers.get('www-authenticate')).toBeNull();
    expect((await fetch(`${open.url}/agent-info`)).status).toBe(200);
  });
});

// ---- CORS ------------------------------------------------------------------------------------

const preflight = (url: string, origin: string) =>
  fetch(url, {
    method: 'OPTIONS',
    headers: {
      Origin: origin,
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'authorization,content-type',
    },
  });

/** An allowed origin's preflight: 204 with the Allow-* headers, no token needed; another origin's: no Allow-Origin. */
async function checkPreflights(url: string): Promise<void> {
  const ok = await preflight(url, ORIGIN);
  expect(ok.status).toBe(204);
  expect(ok.headers.get('access-control-allow-origin')).toBe(ORIGIN);
  expect(ok.headers.get('access-control-allow-methods')).toMatch(/\bPOST\b/);
  const allowed = (ok.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/\s*,\s*/);
  expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type']));
  expect(Number(ok.headers.get('access-control-max-age'))).toBeGreaterThan(0);
  expect(ok.headers.get('access-control-allow-credentials')).toBeNull();
  expect(ok.headers.get('vary')).toMatch(/\bOrigin\b/i);
  await ok.arrayBuffer();

  const evil = await preflight(url, 'https://evil.example.com');
  expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  expect(evil.headers.get('access-control-allow-headers')).toBeNull();
  // cors.ts answers it 403 -44006, so the browser's network panel says why.
  expect(evil.status).toBe(403);
  expect(((await evil.json()) as any).error.code).toBe(-44006);
}

/** A browser's POST without a token: the 401 carries Allow-Origin and exposes WWW-Authenticate, so the page can read why. */
async function checkCorsOn401(url: string, agent: string): Promise<void> {
  const res = await post(url, JSON.stringify(arcRequest('chat.start', agent, { initialMessage: userText('hi') })), {
    'Content-Type': 'application/arc+json',
    Origin: ORIGIN,
  });
  expect(res.status).toBe(401);
  expect(res.json.error.code).toBe(-44001);
  expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
  expect(res.headers.get('access-control-expose-headers')).toMatch(/WWW-Authenticate/i);
}

describe('CORS on the single server (CORS_ORIGINS, auth on)', () => {
  test('OPTIONS /arc: 204 with the Allow-* headers for the allowed origin, nothing for another', async () => {
    await checkPreflights(arcOf(bound));
  });

  test('an unauthenticated browser POST gets a 401 it can read', async () => {
    await checkCorsOn401(arcOf(bound), 'finance-agent');
  });
});

// ---- through nginx ---------------------------------------------------------------------------

const suite = suiteNeeding(['nginx', 'redis']);

suite('through nginx: finance ×2, hr and support with the same auth env, sharing Redis', () => {
  const prefix = testKeyPrefix('arc-auth-e2e');
  /** Requests one caller (token subject) may send to one agent per minute. */
  const CALLER_LIMIT = 3;
  let cluster: Cluster;
  let n = 0;
  /** A subject of its own for each request: the per-caller limit is only reached on purpose. */
  const nextSub = () => `nginx-caller-${++n}`;
  const routeUrl = (route: string) => `${cluster.url}/arc/${route}`;
  const agentOf = (route: string) => `${route.replace(/-agent$/, '')}-agent`;

  beforeAll(async () => {
    cluster = await startCluster({
      replicas: { finance: 2, hr: 1, support: 1 },
      env: {
        ...BASE_ENV,
        ...AUTH_ENV,
        REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        RATE_LIMIT_CALLER: `${CALLER_LIMIT}/1m`,
        CORS_ORIGINS: ORIGIN,
        SHUTDOWN_GRACE_MS: '2000',
      },
    });
  }, 60_000);

  afterAll(async () => {
    // Tasks made here would keep their replicas draining: stop them at once.
    await cluster?.gateway.stop();
    await Promise.all((cluster?.replicas ?? []).map((r) => r.stop('SIGKILL')));
    await deleteKeysUnder(prefix).catch(() => -1);
  }, 30_000);

  /** One case per failure kind, on varied routes (service names and agent ids). */
  const failures: Array<[string, string, string]> = [
    ['chat.start', 'no token', 'finance'],
    ['task.create', 'scheme in lower case', 'support'],
    ['task.create', 'bad signature', 'hr'],
    ['task.info', 'expired', 'support'],
    ['chat.message', 'wrong issuer', 'finance-agent'],
    ['task.cancel', 'wrong audience', 'hr-agent'],
    ['chat.end', 'without arc.agent.caller', 'support'],
    ['task.subscribe', 'without arc.task.controller', 'finance'],
    ['chat.start', 'without arc.chat.controller', 'hr'],
    ['task.notification', 'no token', 'support'],
    ['task.send', 'legacy arc.stream.controller', 'finance'],
  ];
  test.each(failures)('%s, %s via /arc/%s: the replica’s refusal as it sent it', async (method, kindName, route) => {
    const res = await check(routeUrl(route), agentOf(route), rowOf(method), kindOf(rowOf(method), kindName), nextSub());
    // A replica answered (nginx names it), not nginx.
    expect(res.headers.get('x-upstream-addr')).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(res.text).not.toMatch(/<html/i);
  });

  /** Every method with all scopes (nginx passes Authorization on), and the legacy chat scope. */
  const passes: Array<[string, string, string]> = ROWS.map((row, i) => [row.method, 'all scopes', ['finance', 'hr', 'support'][i % 3]!]);
  passes.push(['chat.start', 'legacy arc.stream.controller', 'support-agent'], ['task.create', 'only the required scopes', 'finance']);
  test.each(passes)('%s, %s via /arc/%s: passes', async (method, kindName, route) => {
    const res = await check(routeUrl(route), agentOf(route), rowOf(method), kindOf(rowOf(method), kindName), nextSub());
    expect(res.headers.get('x-upstream-addr')).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  test('the Python client captures with a token answer as on the single server without auth', async () => {
    const viaNginx = await replayFlow(routeUrl('finance'), async (scopes) => ({ Authorization: await bearer({ scopes, sub: nextSub() }) }));
    expect(viaNginx).toEqual(await baseline);
  });

  test('chat_start.txt without arc.chat.controller: 403 -44003 with the Python client’s details keys', async () => {
    await capturedInsufficientScope(routeUrl('finance'), nextSub());
  });

  test('a caller over RATE_LIMIT_CALLER: 429 -44007 as JSON with Retry-After, not an nginx page', async () => {
    const header = await bearer({ sub: 'nginx-flooder', scopes: CHAT });
    const send = () =>
      post(routeUrl('hr'), JSON.stringify(arcRequest('chat.start', 'hr-agent', { initialMessage: userText('salary') })), {
        'Content-Type': 'application/arc+json',
        Authorization: header,
      });
    for (let i = 0; i < CALLER_LIMIT; i++) expect((await send()).status).toBe(200);
    const refused = await send();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toBe('application/json');
    expect(refused.json).toMatchObject({ arc: '1.0', result: null, error: { code: -44007 } });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('x-upstream-addr')).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  test('/health and /health/<service> answer without a token', async () => {
    for (const path of ['/health', '/health/finance', '/health/support']) {
      const res = await fetch(`${cluster.url}${path}`);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      await res.arrayBuffer();
    }
  });

  test('CORS: nginx passes the preflight (OPTIONS /arc/<service>) to a replica and its answer back', async () => {
    await checkPreflights(routeUrl('finance'));
    await checkCorsOn401(routeUrl('hr'), 'hr-agent');
  });
});
