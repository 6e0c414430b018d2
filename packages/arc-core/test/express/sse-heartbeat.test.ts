/**
 * Issue 8, hole 10: a quiet stream gets a comment line every `sseHeartbeatMs` (so proxies'
 * idle timeouts do not cut it), which SSE readers - the Python client's rules included - skip;
 * and a caller that leaves aborts the handler and frees its slot at once.
 */
import http from 'node:http';
import { createArcServer, type ArcServer } from '../../src/express/server';
import { ArcAgent } from '../../src/router/agent';
import { deferred, envelope, sleep, userMessage } from '../support/util';

const body = JSON.stringify(envelope('chat.start', { initialMessage: userMessage('hi'), stream: true }, { targetAgent: 'slow' }));

/** Frames as the Python client splits them: on "\n\n"; kept only with an event: and a data: line. */
function pythonFrames(text: string): { event: string; data: unknown }[] {
  return text
    .split('\n\n')
    .map((frame) => frame.split('\n'))
    .filter((lines) => lines.some((l) => l.startsWith('event:')) && lines.some((l) => l.startsWith('data:')))
    .map((lines) => ({
      event: lines
        .find((l) => l.startsWith('event:'))!
        .slice(6)
        .trim(),
      data: JSON.parse(
        lines
          .filter((l) => l.startsWith('data:'))
          .pop()!
          .slice(5),
      ),
    }));
}

function postStream(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/arc`, { method: 'POST', agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('SSE heartbeat and disconnects', () => {
  const servers: ArcServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.close({ graceMs: 0 });
  });

  async function start(heartbeatMs: number, handler: Parameters<ArcAgent['on']>[1]): Promise<{ url: string; server: ArcServer }> {
    const server = createArcServer({ serverId: 'sse', sseHeartbeatMs: heartbeatMs, maxConcurrentPerAgent: 1 });
    server.addAgent(new ArcAgent('slow').on('chat.start', handler));
    servers.push(server);
    const { url } = await server.listen(0, '127.0.0.1');
    return { url, server };
  }

  it('sends ": keep-alive" comment frames while the agent is quiet; readers see only the events', async () => {
    const { url } = await start(100, async function* () {
      await sleep(450);
      yield 'late';
    });
    const text = await postStream(url);
    const beats = text.split(': keep-alive\n\n').length - 1;
    expect(beats).toBeGreaterThanOrEqual(2);
    expect(text.indexOf(': keep-alive')).toBeLessThan(text.indexOf('event: stream'));
    expect(pythonFrames(text).map((f) => f.event)).toEqual(['stream', 'done']);
  });

  it('sends none with the heartbeat off (0)', async () => {
    const { url } = await start(0, async function* () {
      await sleep(300);
      yield 'late';
    });
    const text = await postStream(url);
    expect(text).not.toContain(': keep-alive');
    expect(text.startsWith('event: stream\n')).toBe(true);
  });

  it('a caller leaving a quiet stream aborts the handler and frees the slot at once', async () => {
    const aborted = deferred();
    const { url, server } = await start(50, (_p, ctx) => {
      ctx.signal.addEventListener('abort', () => aborted.resolve());
      return (async function* () {
        await new Promise(() => undefined); // thinks forever, ignoring the signal
        yield 'never';
      })();
    });
    const firstBeat = deferred();
    const req = http.request(`${url}/arc`, { method: 'POST', agent: false }, (res) => res.once('data', () => firstBeat.resolve()));
    req.on('error', () => undefined);
    req.end(body);
    await firstBeat.promise;
    expect(server.router.inFlight).toBe(1);
    req.destroy();
    await aborted.promise;
    const deadline = Date.now() + 2000;
    while (server.router.inFlight > 0 && Date.now() < deadline) await sleep(10);
    expect(server.router.inFlight).toBe(0);
  });
});
