/**
 * `arc agents <url>`: the agents behind an ARC endpoint, from GET /agent-info next to the /arc URL
 * (ARC-PROTOCOL.md §11: the multi-agent `registeredAgents` form, or the spec's single-agent form),
 * with their methods and descriptions, and the server's readiness from GET /health. Exit 1 when
 * the server answers but is not ready (draining, its store unreachable).
 */
import type { Command } from 'commander';
import { withClientOptions, withSession, type ClientFlags, type Session } from '../options';
import { CliFailure, EXIT } from '../output';
import type { CommandContext } from '../program';

export interface AgentSummary {
  id: string;
  status: string | undefined;
  description: string | undefined;
  supportedMethods: string[];
}

export interface EndpointSummary {
  url: string;
  server: string | undefined;
  description: string | undefined;
  status: string | undefined;
  health: { httpStatus: number; [key: string]: unknown };
  agents: AgentSummary[];
}

/** `<base>/<path>` for an ARC URL `<base>/arc` (or for a base URL given as is). */
export function siblingUrl(arcUrl: string, path: string): string {
  const u = new URL(arcUrl);
  u.search = '';
  u.hash = '';
  let p = u.pathname.replace(/\/+$/, '');
  if (p.endsWith('/arc')) p = p.slice(0, -'/arc'.length);
  u.pathname = `${p}${path}`;
  return u.href;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const methods = (v: unknown): string[] => (Array.isArray(v) ? v.filter((m): m is string => typeof m === 'string') : []);

/** The agents of an /agent-info answer, in either form. */
export function agentsOf(info: Record<string, unknown>): AgentSummary[] {
  const registered = info.registeredAgents;
  if (typeof registered === 'object' && registered !== null) {
    return Object.entries(registered as Record<string, Record<string, unknown>>).map(([id, a]) => ({
      id,
      status: str(a?.status),
      description: str(a?.description),
      supportedMethods: methods(a?.supportedMethods),
    }));
  }
  if (typeof info.agentId === 'string') {
    return [
      {
        id: info.agentId,
        status: str(info.status),
        description: str(info.description) ?? str(info.prompt),
        supportedMethods: methods(info.supportedMethods),
      },
    ];
  }
  return [];
}

/** GET `url` → status and parsed JSON; CliFailure for no answer (3), a body that is not JSON (3), an ARC error (1). */
async function getJson(s: Session, url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  s.out.trace(`> GET ${url}`);
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      headers: { Accept: 'application/json', ...(s.token !== undefined ? { Authorization: `Bearer ${s.token}` } : {}) },
      signal: AbortSignal.timeout(s.timeoutMs),
    });
    text = await res.text();
  } catch (err) {
    const e = err as Error & { cause?: Error & { code?: string } };
    if (e.name === 'TimeoutError') throw new CliFailure(`GET ${url} timed out after ${s.timeoutMs} ms`, EXIT.network);
    const why = e.cause ? `${e.cause.code ?? e.cause.name}: ${e.cause.message}` : e.message;
    throw new CliFailure(`GET ${url} failed: ${why}`, EXIT.network);
  }
  s.out.trace(`< HTTP ${res.status} ${text}`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new CliFailure(`GET ${url} got HTTP ${res.status} with a body that is not JSON: is this an ARC server?`, EXIT.network);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new CliFailure(`GET ${url} got HTTP ${res.status} with JSON that is not an object`, EXIT.network);
  }
  const error = (body as { error?: { code?: unknown; message?: unknown } }).error;
  if (typeof error === 'object' && error !== null && typeof error.code === 'number') {
    throw new CliFailure(`${String(error.message)} (GET ${url}, HTTP ${res.status})`, EXIT.arcError, error.code);
  }
  return { status: res.status, body: body as Record<string, unknown> };
}

export async function describeEndpoint(s: Session, arcUrl: string): Promise<EndpointSummary> {
  const infoUrl = siblingUrl(arcUrl, '/agent-info');
  const [info, health] = await Promise.all([getJson(s, infoUrl), getJson(s, siblingUrl(arcUrl, '/health'))]);
  if (info.status !== 200) throw new CliFailure(`GET ${infoUrl} got HTTP ${info.status}: ${JSON.stringify(info.body)}`, EXIT.arcError);
  return {
    url: arcUrl,
    server: str(info.body.server) ?? str(info.body.agentId),
    description: str(info.body.description),
    status: str(info.body.status),
    health: { httpStatus: health.status, ...health.body },
    agents: agentsOf(info.body),
  };
}

function printEndpoint(s: Session, e: EndpointSummary): void {
  const { c } = s.out;
  const ready = e.health.httpStatus === 200;
  const state = String(e.health.status ?? (ready ? 'ok' : 'not ready'));
  const reason = typeof e.health.reason === 'string' ? ` (${e.health.reason})` : '';
  const version = typeof e.health.version === 'string' ? `, version ${e.health.version}` : '';
  s.out.line(
    `${c.bold(e.server ?? '(unnamed server)')}  ${ready ? c.green(state) : c.red(state + reason)}  ${e.agents.length} agent(s)${version}`,
  );
  if (e.description) s.out.line(e.description);
  s.out.line(c.dim(`endpoint ${e.url}`));
  for (const a of e.agents) {
    s.out.line();
    const status = a.status ?? 'unknown';
    s.out.line(`${c.cyan(a.id)}  ${status === 'active' ? c.green(status) : c.yellow(status)}`);
    if (a.description) s.out.line(`  ${a.description}`);
    s.out.line(`  methods: ${a.supportedMethods.join(', ') || '(none listed)'}`);
  }
}

export function agentsCommand(program: Command, { io, action }: CommandContext): void {
  withClientOptions(
    program
      .command('agents')
      .description('list the agents behind an ARC endpoint (GET /agent-info), their methods, and the server health (GET /health)')
      .argument('<url>', 'the ARC endpoint, e.g. http://localhost:8000/arc'),
  )
    .addHelpText(
      'after',
      `
Example:
  $ arc agents http://localhost:8000/arc
  multi-agent-server  healthy  4 agent(s), version 0.1.0
  …
  finance-agent  active
    Invoices, payments, budgets, expenses, billing and refunds
    methods: chat.start, chat.message, chat.end, task.create, task.info, task.send, task.cancel, task.subscribe`,
    )
    .action(
      action((url: string, flags: ClientFlags) =>
        withSession(url, flags, io, async (s) => {
          const e = await describeEndpoint(s, url);
          if (s.out.json) s.out.doc(e);
          else printEndpoint(s, e);
          if (e.health.httpStatus === 200) return EXIT.ok;
          s.out.note(`${s.out.e.red('arc:')} the server is not ready: ${String(e.health.status ?? `HTTP ${e.health.httpStatus}`)}`);
          return EXIT.arcError;
        }),
      ),
    );
}
