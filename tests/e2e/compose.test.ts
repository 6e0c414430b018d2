/**
 * The docker-compose deployment, from outside: the same checks as the local cluster test, run
 * against the published nginx port. `npm run test:containers` (scripts/test-containers.sh)
 * brings the stack up and runs this file with ARC_COMPOSE_URL set; without it the suite is
 * skipped, saying so.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ArcClient } from '@arc/core/client';
import { manifest, suiteNeeding, testNeeding, type Need } from '@arc/devkit';
import { ConversationLoad, conversation, countByReplica, finishChats, type Sent } from './support/conversations';
import {
  agentInfoThroughGateway,
  bodyLimits,
  gatewayAnswers,
  guideFlow,
  requestIds,
  servingReplicas,
  streamThroughGateway,
  supervisorThroughGateway,
} from './support/distributed-checks';
import { ROOT } from './support/processes';

const baseUrl = process.env.ARC_COMPOSE_URL?.replace(/\/+$/, '');
/** The compose project, for the test that restarts containers (only that test needs it). */
const project = process.env.ARC_COMPOSE_PROJECT;
const singleUrl = process.env.ARC_SINGLE_URL?.replace(/\/+$/, '');
// Not a missing program: this file runs against a stack that `npm run test:containers` starts,
// so it is skipped (never failed) without one, in CI too.
const setting = (name: string, value: string | undefined): Need => ({
  name,
  problem: () => (value ? null : `${name} is not set (run it with \`npm run test:containers\`)`),
});
const suite = suiteNeeding([setting('ARC_COMPOSE_URL', baseUrl)], { requiredInCi: false });
const withProject = testNeeding([setting('ARC_COMPOSE_PROJECT', project)], { requiredInCi: false });
const withSingleServer = testNeeding([setting('ARC_SINGLE_URL', singleUrl)], { requiredInCi: false });
const finance = manifest.service('finance');

suite(`docker compose deployment at ${baseUrl}`, () => {
  const url = baseUrl!;
  const FINANCE_REPLICAS = Number(process.env.ARC_FINANCE_REPLICAS ?? finance.replicas.compose);

  it("runs the guide's distributed flow for all three agents through their routes", async () => {
    await guideFlow(url);
  });

  it('spreads finance requests over all its replicas', async () => {
    const served = await servingReplicas(url, 'finance', 'finance-agent', 4 * FINANCE_REPLICAS);
    for (const addr of served) expect(addr).toMatch(new RegExp(`:${finance.port}$`));
    console.log(`finance served by ${[...new Set(served)].join(' ')}`);
    expect(new Set(served).size).toBe(FINANCE_REPLICAS);
  });

  it('runs conversations across the finance replicas (chat state shared through redis)', async () => {
    // One conversation after the other, so nginx's round robin gives consecutive requests of a
    // conversation to different replicas: chat.start on one, chat.message and chat.end on others.
    const log: Sent[] = [];
    const conversations: Sent[][] = [];
    for (let i = 0; i < 4 * FINANCE_REPLICAS; i++) conversations.push(await conversation(url, 2, log));
    const failures = log.filter((s) => s.failure).map((s) => `${s.method} ${s.chatId ?? ''} via ${s.upstream}: ${s.failure}`);
    const spread = conversations.map((steps) => new Set(steps.map((s) => s.servedBy)).size);
    console.log(
      `finance conversations: ${log.length} requests, ${failures.length} failed, replicas per conversation ` +
        `${spread.join(' ')}, requests per replica ${JSON.stringify(countByReplica(log))}`,
    );
    expect(failures).toEqual([]);
    expect(log).toHaveLength(conversations.length * 4);
    expect(Object.keys(countByReplica(log))).toHaveLength(FINANCE_REPLICAS);
    // Every conversation worked; most were served by several replicas, at least one by three.
    expect(spread.filter((n) => n >= 2).length).toBeGreaterThanOrEqual(conversations.length / 2);
    expect(Math.max(...spread)).toBeGreaterThanOrEqual(3);
  });

  it('runs a task on each agent across the replicas: created through nginx, followed to COMPLETED', async () => {
    const client = new ArcClient(`${url}/arc/finance`, { requestAgent: 'compose-e2e' });
    const report = await client.task.create('finance-agent', 'Invoice summary report for INV-12345');
    const done = await client.task.waitFor('finance-agent', report.result.task.taskId, { timeoutMs: 60_000 });
    expect(done.status).toBe('COMPLETED');
    const hrClient = new ArcClient(`${url}/arc/hr`, { requestAgent: 'compose-e2e' });
    const leave = await hrClient.task.create('hr-agent', 'Leave from 2026-12-21 to 2026-12-24');
    expect((await hrClient.task.waitFor('hr-agent', leave.result.task.taskId, { timeoutMs: 60_000 })).status).toBe('COMPLETED');
    const supportClient = new ArcClient(`${url}/arc/support`, { requestAgent: 'compose-e2e' });
    const ticket = await supportClient.task.create('support-agent', 'The printer is on fire');
    expect((await supportClient.task.waitFor('support-agent', ticket.result.task.taskId, { timeoutMs: 60_000 })).status).toBe('COMPLETED');
  }, 120_000);

  it('routes a chat.start to the supervisor on to finance, both through nginx (ARC_GATEWAY_URL=http://nginx:80)', async () => {
    await supervisorThroughGateway(url);
  });

  it('serves GET /agent-info/<agent id> for every agent of the manifest', async () => {
    await agentInfoThroughGateway(
      url,
      manifest.services.flatMap((s) => s.agents),
    );
  });

  it('answers its own errors as ARC JSON: unknown agent, unknown path, /health', async () => {
    await gatewayAnswers(url);
  });

  it('keeps or makes X-Request-Id', async () => {
    await requestIds(url);
  });

  it('passes a 5 MiB body through and refuses 12 MiB with an ARC 413 -45004', async () => {
    await bodyLimits(url);
  });

  it('passes an SSE stream through as frames', async () => {
    await streamThroughGateway(url);
  });

  withProject(
    'restarts the finance replicas one at a time (docker restart, then nginx reload) losing no chat',
    async () => {
      // docs/scale-out.md's compose recipe. A restarted container gets a new address, which nginx
      // only learns on a reload; without the reload the gateway would soon point at no replica.
      // The stack, for `docker compose` and scripts/reload-gateway.sh alike.
      const env = {
        ...process.env,
        COMPOSE_PROJECT_NAME: project!,
        COMPOSE_FILE: join(ROOT, 'docker-compose.yml'),
        COMPOSE_PROFILES: 'single',
      };
      const run = async (cmd: string, ...args: string[]) => (await promisify(execFile)(cmd, args, { encoding: 'utf8', env })).stdout.trim();
      const compose = (...args: string[]) => run('docker', 'compose', ...args);
      const ids = (await compose('ps', '-q', 'finance')).split('\n').filter(Boolean);
      expect(ids.length).toBe(FINANCE_REPLICAS);
      // A new client connection per request: each reload closes the old nginx workers' idle
      // keep-alive connections, which could fail a request written on one at that very moment
      // (docs/scale-out.md); this test is about the replicas behind nginx.
      // A replica may refuse a request with 503 + Retry-After (nothing done) while the machine is
      // busy restarting containers; the load retries those as a client should, and reports them.
      const load = new ConversationLoad(url, { clients: 4, newConnection: true, pauseMs: 10, retriesAfter503: 3 }).start();
      const steps: string[] = [];
      try {
        await load.waitForRequests(40);
        for (const id of ids) {
          const addressOf = async () =>
            `${await run('docker', 'inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', id)}:${finance.port}`;
          const before = await addressOf();
          const t0 = performance.now();
          await run('docker', 'restart', '-t', '15', id); // SIGTERM: drain, exit, start again
          const restartMs = performance.now() - t0;
          for (let i = 0; i < 120 && (await run('docker', 'inspect', '-f', '{{.State.Health.Status}}', id)) !== 'healthy'; i++) {
            await new Promise((r) => setTimeout(r, 500));
          }
          const after = await addressOf();
          await run(join(ROOT, 'scripts', 'reload-gateway.sh')); // nginx -s reload, retried while the engine's DNS fails lookups
          const reloaded = performance.now();
          await load.waitUntil(
            () => load.log.some((s) => s.startedAt > reloaded && s.servedBy === after && !s.failure),
            30_000,
            `request served by the restarted ${after}`,
          );
          steps.push(
            `${before} -> ${after} (restart ${Math.round(restartMs)} ms, in rotation after ${Math.round(performance.now() - t0)} ms)`,
          );
        }
        await load.waitForRequests(40);
      } finally {
        await load.stop();
      }
      const finished = await finishChats(url, load.chats);
      const failed = load.failures().map((f) => `${f.method} via ${f.upstream}: ${f.failure}`);
      console.log(
        `rolling restart: ${steps.join('; ')}; ${load.log.length} requests, ${failed.length} failed, ` +
          `${load.log.filter((s) => s.retried).length} answered after a 503 + Retry-After retry, ` +
          `${load.chats.size} chats, ${finished.lost.length} lost, requests per replica ${JSON.stringify(countByReplica(load.log))}`,
      );
      expect(failed).toEqual([]);
      expect(finished.lost).toEqual([]);
      expect(finished.sent.filter((s) => s.failure)).toEqual([]);
    },
    300_000,
  );

  withSingleServer('serves all agents from the single-server image on /arc', async () => {
    const client = new ArcClient(`${singleUrl}/arc`, { requestAgent: 'compose-e2e' });
    for (const [agent, text, reply] of [
      ['finance-agent', 'invoice', 'I can help with invoice inquiries. Please provide invoice number.'],
      ['hr-agent', 'benefits', 'I can explain our benefits package. What would you like to know?'],
      ['support-agent', 'hello', "Hi! I'm here to help with general support. What do you need?"],
      ['supervisor', 'invoice question', 'I can help with invoice inquiries. Please provide invoice number.'],
    ] as const) {
      const res = await client.chat.start(agent, text);
      expect(res.result.chat.message?.parts[0]).toMatchObject({ content: reply });
    }
  });
});
