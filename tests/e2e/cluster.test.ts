/**
 * The local distributed cluster (scripts/lib/cluster.cjs, what `npm run cluster` starts): the
 * built finance (4 replicas), hr, support and supervisor services as processes, and a real
 * nginx in front, all on ports the OS picked. Needs nginx: without it the suite fails in CI and is skipped,
 * saying so, elsewhere.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { manifest, noOpenConnectionsTo, suiteNeeding } from '@arc/devkit';
import { startCluster, type Cluster, type Replica } from '../../scripts/lib/cluster.cjs';
import {
  agentInfoThroughGateway,
  bodyLimits,
  financeFollowUp,
  gatewayAnswers,
  guideFlow,
  requestIds,
  servedBy,
  servingReplicas,
  streamThroughGateway,
  supervisorThroughGateway,
} from './support/distributed-checks';
import { ROOT, arcRequest, post, userText } from './support/processes';

const suite = suiteNeeding(['nginx']);

suite('local cluster: services behind nginx', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    // No shared chat store here (REDIS_URL empty even if the environment sets one): this suite
    // asserts the per-replica behaviour; tests/e2e/scale-out.test.ts runs the same topology on
    // Redis. A short drain: nginx closes idle upstream connections after 2 s, so a draining
    // replica normally exits well before the grace deadline.
    cluster = await startCluster({ replicas: { finance: 4, hr: 1, support: 1 }, env: { SHUTDOWN_GRACE_MS: '3000', REDIS_URL: '' } });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it("runs the guide's distributed flow for all three agents through their routes", async () => {
    const turns = await guideFlow(cluster.url);
    expect(turns.map((t) => t.agent)).toEqual(['finance-agent', 'hr-agent', 'support-agent']);
  });

  it('answers a finance follow-up on the same replica, and says -43001 on another (per-replica chat state)', async () => {
    // Without Redis, chat state is per replica; financeFollowUp asserts each case exactly. With
    // 4 replicas in round robin, -43001 shows up within a few tries.
    const seen = new Set<string>();
    for (let i = 0; i < 6 && seen.size < 2; i++) seen.add((await financeFollowUp(cluster.url)).outcome);
    expect(seen).toContain('chat-not-found');
  });

  it('spreads finance requests over its replicas', async () => {
    const served = await servingReplicas(cluster.url, 'finance', 'finance-agent', 12);
    const finance = cluster.of('finance').map((r) => r.address);
    for (const addr of served) expect(finance).toContain(addr);
    expect(new Set(served).size).toBeGreaterThanOrEqual(2);
  });

  it('answers its own errors as ARC JSON: unknown agent, unknown path, /health', async () => {
    await gatewayAnswers(cluster.url);
  });

  it('keeps or makes X-Request-Id', async () => {
    await requestIds(cluster.url);
  });

  it('passes a 5 MiB body through and refuses 12 MiB with an ARC 413 -45004', async () => {
    await bodyLimits(cluster.url);
  });

  it('passes an SSE stream through as frames', async () => {
    const frames = await streamThroughGateway(cluster.url);
    expect(frames.map((f) => f.event)).toContain('stream');
  });

  it('routes a chat.start to the supervisor on to finance, both through nginx (ARC_GATEWAY_URL)', async () => {
    await supervisorThroughGateway(cluster.url);
  });

  it('serves GET /agent-info/<agent id> for every agent of the manifest', async () => {
    await agentInfoThroughGateway(
      cluster.url,
      manifest.services.flatMap((s) => s.agents),
    );
  });

  it('answers -41003 as ARC JSON 502 when no replica of a service is up', async () => {
    // Run last but one: stops the only support replica.
    const [support] = cluster.of('support') as [Replica];
    await support.stop('SIGKILL');
    const res = await post(
      `${cluster.url}/arc/support`,
      JSON.stringify(arcRequest('chat.start', 'support-agent', { initialMessage: userText('hi') })),
    );
    expect(res.status).toBe(502);
    expect(res.json).toMatchObject({
      arc: '1.0',
      id: null,
      responseAgent: 'nginx',
      result: null,
      error: { code: -41003, details: { agentId: 'support' } },
    });
    expect(res.headers.get('x-upstream-addr')).toBe(support.address);
  });

  /** Four clients send finance requests until `stopAfter` more have finished after `action`. */
  async function trafficAround(action: () => Promise<void>, { before = 40, after = 160 } = {}) {
    const CONCURRENCY = 4;
    const body = JSON.stringify(arcRequest('chat.start', 'finance-agent', { initialMessage: userText('payment') }));
    const outcomes: Outcome[] = [];
    let stop = false;
    const worker = async (): Promise<void> => {
      while (!stop) {
        const startedAt = performance.now();
        try {
          const res = await post(`${cluster.url}/arc/finance`, body);
          outcomes.push({ startedAt, status: res.status, code: res.json?.error?.code, servedBy: servedBy(res.headers) });
        } catch (err) {
          outcomes.push({ startedAt, status: 0, servedBy: '', error: String(err) });
        }
      }
    };
    const until = async (n: number): Promise<void> => {
      while (outcomes.length < n) await new Promise((r) => setTimeout(r, 5));
    };
    const workers = Array.from({ length: CONCURRENCY }, worker);
    await until(before);
    await action();
    const doneAt = performance.now();
    await until(outcomes.length + after);
    stop = true;
    await Promise.all(workers);
    const failures = outcomes.filter((o) => o.status !== 200);
    const afterAction = outcomes.filter((o) => o.startedAt > doneAt);
    return { CONCURRENCY, outcomes, failures, doneAt, afterAction, servedAfter: new Set(afterAction.map((o) => o.servedBy)) };
  }
  type Outcome = { startedAt: number; status: number; code?: number; servedBy: string; error?: string };
  const summary = (what: string, t: Awaited<ReturnType<typeof trafficAround>>) =>
    `${what}: ${t.outcomes.length} requests, ${t.failures.length} failed (${t.failures.map((f) => f.code ?? f.error).join(', ') || 'none'}), ` +
    `${t.afterAction.length} started after it, served after it by ${[...t.servedAfter].join(' ')}`;

  it('loses no request when a finance replica drains on SIGTERM mid-traffic', async () => {
    const victim = cluster.of('finance')[1]!;
    let exit: { code: number | null } | undefined;
    const t = await trafficAround(async () => {
      exit = await victim.stop('SIGTERM', 30_000);
    });
    console.log(summary(`SIGTERM of ${victim.address} (exit code ${exit?.code})`, t));
    // Draining: the listener closes (refused connections go to the next replica), requests on
    // open connections are still served (with Connection: close), then the process exits 0.
    expect(exit).toMatchObject({ code: 0 });
    expect(t.failures).toEqual([]);
    expect([...t.servedAfter]).not.toContain(victim.address);
  });

  it('keeps answering from the other replicas when one finance replica is SIGKILLed mid-traffic', async () => {
    const victim = cluster.of('finance')[0]!;
    const t = await trafficAround(async () => {
      await victim.stop('SIGKILL');
      // Gone for the gateway once nginx has closed its kept-alive connections to it.
      await noOpenConnectionsTo(victim.address);
    });
    console.log(summary(`SIGKILL of ${victim.address}`, t));
    // Only a request nginx had already written to the victim may fail: one it was serving, or
    // one written on a kept-alive connection whose close nginx had not yet seen. That is at
    // most one per client, and it fails as an ARC envelope (-41003): nginx does not send a POST
    // to a second replica once it went out.
    expect(t.failures.length).toBeLessThanOrEqual(t.CONCURRENCY);
    for (const f of t.failures) {
      expect(f.startedAt).toBeLessThan(t.doneAt);
      expect(f).toMatchObject({ status: 502, code: -41003 });
    }
    // Everything sent once the replica was gone succeeded, on the remaining replicas.
    expect(t.afterAction.length).toBeGreaterThanOrEqual(160 - t.CONCURRENCY);
    expect(t.afterAction.filter((o) => o.status !== 200)).toEqual([]);
    expect([...t.servedAfter]).not.toContain(victim.address);
    expect(t.servedAfter.size).toBeGreaterThanOrEqual(2);
    expect(cluster.gateway.isRunning()).toBe(true);
  });
});

suite('the distributed example', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({ replicas: { finance: 1 }, env: { REDIS_URL: '' } });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('prints each agent’s replies (examples/distributed-client.mjs)', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'examples', 'distributed-client.mjs'), cluster.url]);
    expect(stdout).toContain('[finance-agent] agent: I can help with invoice inquiries. Please provide invoice number.');
    // One finance replica here, so the follow-up finds its chat.
    expect(stdout).toContain('[finance-agent] agent: Processing your request: Invoice number INV-12345');
    expect(stdout).toContain('[hr-agent] agent: Let me check that for you: My employee ID is EMP-42');
    expect(stdout).toContain('[support-agent] agent: I understand your concern: My login does not work. Let me help you.');
  });
});
