import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { agentInfoUrl, httpDirectory } from '../src/directory';
import { descriptionPolicy, keywordPolicy, words } from '../src/routing';

/** A /agent-info server per agent: /finance-agent answers, /hr-agent fails with 503 until `hrUp`. */
let server: Server;
let base = '';
const hits: string[] = [];
let hrUp = false;

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const id = (req.url ?? '').slice(1);
    if (id === 'hr-agent' && !hrUp) {
      res.writeHead(503).end();
      return;
    }
    res
      .writeHead(200, { 'Content-Type': 'application/json' })
      .end(
        JSON.stringify({ registeredAgents: { [id]: { supportedMethods: ['chat.start', `${id}.report`], description: `about ${id}` } } }),
      );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
/** Waits (bounded) for a background read to have happened. */
async function until(done: () => boolean): Promise<void> {
  for (const end = Date.now() + 5_000; !done();) {
    if (Date.now() > end) throw new Error('background read never came');
    await new Promise((r) => setTimeout(r, 5));
  }
}
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  hits.length = 0;
  hrUp = false;
});

describe('httpDirectory', () => {
  it('reads each agent once, keeps it for the TTL, reads it again after', async () => {
    let now = 1_000;
    const dir = httpDirectory({ agents: ['finance-agent'], infoUrl: (id) => `${base}/${id}`, ttlMs: 60_000, now: () => now });
    expect(await dir.list()).toEqual([
      { id: 'finance-agent', methods: ['chat.start', 'finance-agent.report'], description: 'about finance-agent' },
    ]);
    await dir.list();
    await dir.list();
    expect(hits).toEqual(['/finance-agent']);
    now += 60_000;
    // Stale: a new read starts, the old description is served meanwhile.
    expect((await dir.list())[0]!.description).toBe('about finance-agent');
    await until(() => hits.length === 2);
    expect(hits).toEqual(['/finance-agent', '/finance-agent']);
  });

  it('tolerates a failing agent: listed by id, reported, tried again after retryMs, never waited for twice', async () => {
    let now = 1_000;
    const errors: string[] = [];
    const dir = httpDirectory({
      agents: ['finance-agent', 'hr-agent'],
      infoUrl: (id) => `${base}/${id}`,
      retryMs: 5_000,
      now: () => now,
      onError: (id, reason) => errors.push(`${id}: ${reason}`),
    });
    const first = await dir.list();
    expect(first).toEqual([
      expect.objectContaining({ id: 'finance-agent', description: 'about finance-agent' }),
      { id: 'hr-agent', methods: [] },
    ]);
    expect(errors).toEqual(['hr-agent: HTTP 503']);
    await dir.list(); // within retryMs: not asked again
    expect(hits.filter((h) => h === '/hr-agent')).toHaveLength(1);
    hrUp = true;
    now += 5_000;
    expect((await dir.list())[1]).toEqual({ id: 'hr-agent', methods: [] }); // asked again in the background; not waited for
    let hr: unknown;
    await until(() => {
      void dir.list().then((l) => (hr = l[1]));
      return (hr as { description?: string } | undefined)?.description !== undefined;
    });
    expect(hr).toEqual({ id: 'hr-agent', methods: ['chat.start', 'hr-agent.report'], description: 'about hr-agent' });
    expect(hits.filter((h) => h === '/hr-agent')).toHaveLength(2);
  });

  it('an unreachable address is a failure like any other', async () => {
    const errors: string[] = [];
    const dir = httpDirectory({ agents: ['x-agent'], infoUrl: () => 'http://127.0.0.1:9/agent-info', onError: (id) => errors.push(id) });
    expect(await dir.list()).toEqual([{ id: 'x-agent', methods: [] }]);
    expect(errors).toEqual(['x-agent']);
  });
});

describe('agentInfoUrl', () => {
  it('from an AGENT_ROUTES entry, else from the gateway, else none', () => {
    const calls = { routes: { 'finance-agent': 'http://finance:8001/arc' }, gatewayUrl: 'http://nginx:80/' };
    expect(agentInfoUrl('finance-agent', calls)).toBe('http://finance:8001/agent-info');
    expect(agentInfoUrl('hr-agent', calls)).toBe('http://nginx:80/agent-info/hr-agent');
    expect(agentInfoUrl('hr-agent', {})).toBeUndefined();
  });
});

describe('routing policies', () => {
  const agents = [
    { id: 'finance-agent', methods: [], description: 'Invoices, payments, budgets' },
    { id: 'travel-agent', methods: ['travel.book-flight'], description: 'Hotels' },
    { id: 'hr-agent', methods: [] },
  ];
  const input = (text: string) => ({
    text,
    message: { role: 'user' as const, parts: [] },
    requestAgent: 'me',
    kind: 'chat' as const,
    agents,
  });

  it('words: lower case, punctuation split, plurals folded', () => {
    expect(words('Two INVOICES, one Payment!')).toEqual(['two', 'invoice', 'one', 'payment']);
  });

  it('keyword rules match whole words only, and skip agents not offered', async () => {
    const policy = keywordPolicy();
    expect(await policy(input('invoices overdue'))).toEqual({ agent: 'finance-agent', reason: 'rule:invoice' });
    expect(await policy(input('reinvoiced'))).toBeUndefined();
    expect(await policy(input('my salary'))).toEqual({ agent: 'hr-agent', reason: 'rule:salary' });
    expect(await policy({ ...input('my salary'), agents: agents.filter((a) => a.id !== 'hr-agent') })).toBeUndefined();
  });

  it('descriptions and method names decide when they point at one agent only', async () => {
    const policy = descriptionPolicy();
    expect(await policy(input('find me hotels'))).toEqual({ agent: 'travel-agent', reason: 'description' });
    expect(await policy(input('book a flight'))).toEqual({ agent: 'travel-agent', reason: 'description' });
    expect(await policy(input('hotels and budgets'))).toBeUndefined(); // a tie: no guess
    expect(await policy(input('the weather please'))).toBeUndefined();
  });
});
