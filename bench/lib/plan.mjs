/**
 * Which runs a mode makes, in which order, and how long that should take.
 *
 * A "cell" is one (method, store, concurrency) combination; a "run" is one cell on one target
 * for `durationS` seconds. Every repeat goes over all cells, and within a cell over all targets
 * (round robin: never all runs of one target in a row); even repeats go through the list
 * backwards (A B C, C B A, ...), so a slow drift of the machine touches every target alike.
 * The baselines run at every concurrency of the mode, as runs of the chat.start cell.
 *
 *   smoke  single target, chat.start + chat.message (memory), c=1, 1 repeat x 1 s, baselines
 *   quick  chat.start and chat.message, memory store, c=64, 2 repeats x 3 s, baselines
 *   full   chat.start and chat.message x memory and redis x c=1,16,64, 2 repeats x 4 s,
 *          baselines
 *
 * nginx-finance-x2 is left out of chat.message with the memory store: each replica has its
 * own chats, so round robin sends half the messages to a replica that does not know the chat
 * (-43001), by design; with Redis any replica serves any chat.
 */
export const MODES = {
  smoke: {
    targets: ['single'],
    methods: ['chat.start', 'chat.message'],
    stores: ['memory'],
    concurrencies: [1],
    repeats: 1,
    durationS: 1,
    warmupS: 0.5,
    poolSize: 16,
  },
  quick: {
    targets: ['single', 'finance', 'nginx-finance', 'nginx-finance-x2'],
    methods: ['chat.start', 'chat.message'],
    stores: ['memory'],
    concurrencies: [64],
    repeats: 2,
    durationS: 3,
    warmupS: 0.5,
    poolSize: 256,
  },
  full: {
    targets: ['single', 'finance', 'nginx-finance', 'nginx-finance-x2'],
    methods: ['chat.start', 'chat.message'],
    stores: ['memory', 'redis'],
    concurrencies: [1, 16, 64],
    repeats: 2,
    durationS: 4,
    warmupS: 0.5,
    poolSize: 256,
  },
};

export const BASELINE_NAMES = ['node-http', 'express'];

/** Cells a target skips (see above). */
export function skipped(target, method, store) {
  return target === 'nginx-finance-x2' && method === 'chat.message' && store === 'memory';
}

/**
 * The ordered list of runs: { repeat, method, store, concurrency, target, baseline }.
 * `baseline` is true for node-http / express (store null).
 */
export function schedule(mode) {
  const rounds = [];
  for (let repeat = 1; repeat <= mode.repeats; repeat++) {
    const runs = [];
    for (const concurrency of mode.concurrencies) {
      for (const name of BASELINE_NAMES)
        runs.push({ repeat, method: 'chat.start', store: null, concurrency, target: name, baseline: true });
      for (const method of mode.methods) {
        for (const store of mode.stores) {
          for (const target of mode.targets) {
            if (!skipped(target, method, store)) runs.push({ repeat, method, store, concurrency, target, baseline: false });
          }
        }
      }
    }
    rounds.push(repeat % 2 === 0 ? runs.reverse() : runs);
  }
  return rounds.flat();
}

/** The deployments a mode needs: every (target, store) pair, then the baselines. */
export function deployments(mode) {
  const out = [];
  for (const store of mode.stores) for (const target of mode.targets) out.push({ target, store });
  return out;
}

/** Seconds of load, and a rough total including start-up, warm-up and per-run overhead. */
export function budget(mode, runs) {
  const deps = deployments(mode);
  const processes =
    deps.reduce((n, d) => n + (d.target === 'nginx-finance-x2' ? 3 : d.target === 'nginx-finance' ? 2 : 1), 0) + BASELINE_NAMES.length;
  const loadS = runs.length * mode.durationS;
  const warmS = (deps.length * mode.methods.length + BASELINE_NAMES.length) * mode.warmupS;
  const overheadS = runs.length * 0.35 + processes * 1 + deps.length * 0.5 + 5;
  return { runs: runs.length, loadS, estimatedS: Math.round(loadS + warmS + overheadS) };
}
