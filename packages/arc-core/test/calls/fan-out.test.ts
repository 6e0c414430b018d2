import { fanOut } from '../../src/calls/fan-out';
import { AgentCallError } from '../../src/calls/errors';

/** A call that only ends when its signal aborts (it then rejects with the signal's reason). */
const hangs =
  (seen: AbortSignal[] = []) =>
  (signal: AbortSignal) =>
    new Promise<never>((_, reject) => {
      seen.push(signal);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });

describe('fanOut', () => {
  it('returns the results in the order of the calls, not of the answers', async () => {
    let release!: () => void;
    const later = new Promise<void>((r) => (release = r));
    const { results } = await fanOut(
      {
        first: async () => {
          await later;
          return 1;
        },
        second: async () => {
          release();
          return 2;
        },
      },
      { timeoutMs: 5_000 },
    );
    expect(Object.keys(results)).toEqual(['first', 'second']);
  });

  it('returns every answer when all come in time', async () => {
    const { results, complete } = await fanOut({ a: async () => 'A', b: async () => 'B', c: async () => 'C' }, { timeoutMs: 5_000 });
    expect(complete).toBe(true);
    expect(results).toMatchObject({ a: { status: 'ok', value: 'A' }, b: { status: 'ok', value: 'B' }, c: { status: 'ok', value: 'C' } });
  });

  it('gives partial results at the deadline and aborts the calls still running', async () => {
    const signals: AbortSignal[] = [];
    const started = performance.now();
    const { results, complete } = await fanOut({ fast: async () => 1, slow: hangs(signals) }, { timeoutMs: 100 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(95);
    expect(complete).toBe(false);
    expect(results.fast).toMatchObject({ status: 'ok', value: 1 });
    expect(results.slow.status).toBe('timed-out');
    expect(signals).toHaveLength(1);
    expect(signals[0]!.aborted).toBe(true);
  });

  it('a failed call is reported with its ARC error; the others still answer', async () => {
    const { results, complete } = await fanOut(
      {
        down: async () => {
          throw new AgentCallError(-41003, 'Agent hr-agent is unreachable', 'hr-agent', 'chat.start', { retryable: true });
        },
        broken: async () => {
          throw new Error('boom');
        },
        up: async () => 'fine',
      },
      { timeoutMs: 5_000 },
    );
    expect(complete).toBe(true);
    expect(results.down).toMatchObject({ status: 'failed', error: { code: -41003 } });
    expect(results.broken).toMatchObject({ status: 'failed', error: { code: -32603, message: 'boom' } });
    expect(results.up).toMatchObject({ status: 'ok', value: 'fine' });
  });

  it('keeps at most `concurrency` calls in flight, and never starts one after the deadline', async () => {
    let inFlight = 0;
    let most = 0;
    const startedKeys: string[] = [];
    const call = (key: string) => async () => {
      startedKeys.push(key);
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      return key;
    };
    const calls = Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((k) => [k, call(k)]));
    const { complete } = await fanOut(calls, { timeoutMs: 5_000, concurrency: 2 });
    expect(complete).toBe(true);
    expect(most).toBe(2);
    expect(startedKeys).toHaveLength(7);

    const queued: string[] = [];
    const { results } = await fanOut({ first: hangs(), second: async () => queued.push('second') }, { timeoutMs: 50, concurrency: 1 });
    expect(results).toMatchObject({ first: { status: 'timed-out' }, second: { status: 'timed-out' } });
    expect(queued).toEqual([]);
  });

  it("stops at once when the caller's signal aborts", async () => {
    const controller = new AbortController();
    const pending = fanOut({ a: hangs() }, { timeoutMs: 60_000, signal: controller.signal });
    controller.abort();
    const { results, complete } = await pending;
    expect(complete).toBe(false);
    expect(results.a.status).toBe('timed-out');
  });

  it('refuses a bad timeout or concurrency', async () => {
    await expect(fanOut({}, { timeoutMs: 0 })).rejects.toThrow('timeoutMs');
    await expect(fanOut({}, { timeoutMs: 10, concurrency: 0 })).rejects.toThrow('concurrency');
  });
});
