/**
 * Which runs a mode makes, in which order, and how long that should take.
 *
 * A "cell" is one (method, store, concurrency) combination; a "run" is one cell on one target
 * for `durationS` seconds. Every repeat goes over all cells, and within a cell over all targets
 * (round robin: never all runs of one target in a row); even repeats go through the list
 * backwards (A B C, C B A, ...), so a slow drift of the machine touches every target alike.
 * The baselines run at every concurrency of the mode, as runs of the chat.start cell.
 *
 *   smoke  single target, chat.start + chat.message (memory), c=1, 1 repeat x 1 s, baselines;
 *          single+auth, single+ratelimit, single+metrics-off and single+supervisor at
 *          chat.start; task flows on single/memory, c=2, 1 s
 *   quick  chat.start and chat.message, memory store, c=64, 2 repeats x 3 s, baselines; the
 *          four single-server variants and nginx-finance+supervisor at chat.start; task flows
 *          on single/memory, nginx-finance/redis, nginx-finance-x2/redis, c=16, 2 x 4 s
 *   full   chat.start and chat.message x memory and redis x c=1,16,64, 2 repeats x 4 s,
 *          baselines; the variants of quick plus nginx-finance-x2+ratelimit/redis at chat.start
 *          c=64; task flows as quick plus single/redis, c=16, 2 x 6 s
 *
 * The task rows ("method" `tasks`, bench/lib/task-flows.mjs) have their own cells (target and
 * store), concurrency and duration: a flow takes TASK_SETTINGS.workMs and more, so a run needs
 * a few seconds to count a few hundred flows. Finance behind nginx runs them with Redis only:
 * with the in-memory store each replica knows only its own tasks (as for chats, below).
 *
 * nginx-finance-x2 is left out of chat.message with the memory store: each replica has its
 * own chats, so round robin sends half the messages to a replica that does not know the chat
 * (-43001), by design; with Redis any replica serves any chat.
 *
 * Variants (`mode.variants`): a target started with one more setting (or, for supervisor, the
 * same target asked through another agent), measured at chat.start next to the same target
 * without it, in the same cell (the variant's runs right after its base target's, both orders
 * reversed in even repeats), so the two compare:
 *
 *   auth       AUTH_JWT_SECRET set; every request sends the same valid bearer token with the
 *              scopes chat.start needs (a verified token is cached, so the hot path is the
 *              cache hit and the scope check). Budget: >= AUTH_BUDGET of the row without auth.
 *   ratelimit  RATE_LIMIT_CALLER and RATE_LIMIT_AGENT set so high that nothing is refused: what
 *              counting costs. In memory on the single server; in Redis (the counters every
 *              replica shares) on nginx-finance-x2 with the redis store.
 *   metrics-off  METRICS_ENABLED=false on the single server. The plain row has /metrics on (the
 *              default), so the comparison is turned round: the plain row against this one, what
 *              keeping metrics costs. Budget: >= METRICS_BUDGET of the row without metrics.
 *   supervisor chat.start to `supervisor` instead of finance-agent, with the same (invoice)
 *              message: routed to finance-agent and answered by it, one hop. No deployment of
 *              its own: the base target's, so the hop is in process on the single server, and
 *              over HTTP (supervisor service -> nginx -> finance) on nginx-finance, whose gateway
 *              then has a supervisor replica behind it too (targets.mjs).
 *
 * A variant's base row is added to the cell when the mode does not run it there anyway (quick
 * runs no chat cell with Redis: the pair nginx-finance-x2 / nginx-finance-x2+ratelimit is added).
 */
export const CHAT_METHODS = ['chat.start', 'chat.message'];
export const TASKS = 'tasks';

/** The auth row must reach this share of the req/s of the same target without auth (issue 10). */
export const AUTH_BUDGET = 0.85;
/** With metrics on (the default), the single server must reach this share of its req/s without them (issue 11). */
export const METRICS_BUDGET = 0.9;

/**
 * The variants by name (`--variants`): what the row measures (the variants table's first
 * column), its budget (null: none), which side of the pair is measured against the other
 * (`flipped`: the base row against the variant's, for a variant that turns something off), and
 * for a variant that sends its requests to another agent on the base's deployment, that agent.
 */
export const VARIANTS = Object.freeze({
  auth: { measures: 'auth', budget: AUTH_BUDGET, flipped: false, agent: null },
  ratelimit: { measures: 'rate limits', budget: null, flipped: false, agent: null },
  'metrics-off': { measures: 'metrics', budget: METRICS_BUDGET, flipped: true, agent: null },
  supervisor: { measures: 'supervisor hop', budget: null, flipped: false, agent: 'supervisor' },
});
export const VARIANT_NAMES = Object.keys(VARIANTS);
/** RATE_LIMIT_CALLER and RATE_LIMIT_AGENT of the ratelimit variant: far above what one run sends (~20,000/s). */
export const RATE_LIMIT_SETTING = '1000000/1s';

/** 'single+auth' for target single with variant auth. */
export const variantTarget = (target, variant) => `${target}+${variant}`;

/** 'single+auth' -> { base: 'single', variant: 'auth' }; 'single' -> { base: 'single', variant: null }. */
export function splitTarget(name) {
  const i = name.indexOf('+');
  return i === -1 ? { base: name, variant: null } : { base: name.slice(0, i), variant: name.slice(i + 1) };
}

/** The variant cells (quick: all but the Redis pair, which would add 2 x 2 runs and 3 processes). */
const VARIANT_CELLS = [
  { target: 'single', store: 'memory', variant: 'auth' },
  { target: 'single', store: 'memory', variant: 'ratelimit' },
  { target: 'single', store: 'memory', variant: 'metrics-off' },
  { target: 'single', store: 'memory', variant: 'supervisor' },
  { target: 'nginx-finance', store: 'memory', variant: 'supervisor' },
  { target: 'nginx-finance-x2', store: 'redis', variant: 'ratelimit' },
];
const QUICK_VARIANT_CELLS = VARIANT_CELLS.filter((v) => v.store === 'memory');

/**
 * What the servers of every deployment are started with for the task rows (targets.mjs), and
 * the flows' bounds (task-flows.mjs).
 *   workMs       TASK_WORK_MS: the finance agent's task sleeps this long in all (two halves,
 *                with a progress report before each). It is a floor on a flow's latency, and it
 *                must be far above a task.subscribe round trip: a task that completes before its
 *                subscription is stored sends no webhook (the race; such flows are counted as
 *                missed and `raced`).
 *   concurrency  TASK_CONCURRENCY: runs of one agent at once per process. Equal to the flows in
 *                flight (the task rows' c), so a task starts as soon as it is created instead
 *                of waiting for a slot behind other tasks' workMs: with the default 4 a process
 *                would cap at 4 / workMs = 20 flows/s and the latency would measure that queue.
 *   flowTimeoutS a flow waits this long from its task.create for the webhook, then counts as
 *                missed (and task.info is asked why).
 */
export const TASK_SETTINGS = Object.freeze({ workMs: 200, concurrency: 16, flowTimeoutS: 30, requestTimeoutS: 5, maxFlowsPerRun: 100_000 });

export const MODES = {
  smoke: {
    targets: ['single'],
    methods: [...CHAT_METHODS],
    stores: ['memory'],
    concurrencies: [1],
    repeats: 1,
    durationS: 1,
    warmupS: 0.5,
    poolSize: 16,
    tasks: { cells: [{ target: 'single', store: 'memory' }], concurrency: 2, durationS: 1, warmupS: 0.5 },
    // Only those whose base target the mode runs: single's here (`--targets nginx-finance-x2` for the Redis one).
    variants: { cells: VARIANT_CELLS, method: 'chat.start', concurrency: 1 },
  },
  quick: {
    targets: ['single', 'finance', 'nginx-finance', 'nginx-finance-x2'],
    methods: [...CHAT_METHODS],
    stores: ['memory'],
    concurrencies: [64],
    repeats: 2,
    durationS: 3,
    warmupS: 0.5,
    poolSize: 256,
    tasks: {
      cells: [
        { target: 'single', store: 'memory' },
        { target: 'nginx-finance', store: 'redis' },
        { target: 'nginx-finance-x2', store: 'redis' },
      ],
      concurrency: TASK_SETTINGS.concurrency,
      durationS: 4,
      warmupS: 1,
    },
    variants: { cells: QUICK_VARIANT_CELLS, method: 'chat.start', concurrency: 64 },
  },
  full: {
    targets: ['single', 'finance', 'nginx-finance', 'nginx-finance-x2'],
    methods: [...CHAT_METHODS],
    stores: ['memory', 'redis'],
    concurrencies: [1, 16, 64],
    repeats: 2,
    durationS: 4,
    warmupS: 0.5,
    poolSize: 256,
    tasks: {
      cells: [
        { target: 'single', store: 'memory' },
        { target: 'single', store: 'redis' },
        { target: 'nginx-finance', store: 'redis' },
        { target: 'nginx-finance-x2', store: 'redis' },
      ],
      concurrency: TASK_SETTINGS.concurrency,
      durationS: 6,
      warmupS: 1,
    },
    variants: { cells: VARIANT_CELLS, method: 'chat.start', concurrency: 64 },
  },
};

export const BASELINE_NAMES = ['node-http', 'express'];

/** The baselines a mode runs: both, unless it runs no chat method (they mimic chat.start). */
export const baselines = (mode) => (mode.methods.length > 0 ? BASELINE_NAMES : []);

/** Cells a target skips (see above). */
export function skipped(target, method, store) {
  return target === 'nginx-finance-x2' && method === 'chat.message' && store === 'memory';
}

/** The stores of the chat cells: the mode's, then those only a variant needs (quick: redis). */
export function chatStores(mode) {
  const stores = mode.methods.length > 0 ? [...mode.stores] : [];
  for (const v of mode.variants.cells) if (!stores.includes(v.store)) stores.push(v.store);
  return stores;
}

/**
 * The targets of one chat cell, in order: the mode's targets, each followed by its variants; a
 * variant's base target joins the cell when the mode does not run it there.
 */
export function cellTargets(mode, method, store, concurrency) {
  const own = mode.methods.includes(method) && mode.stores.includes(store) ? mode.targets.filter((t) => !skipped(t, method, store)) : [];
  const variants =
    method === mode.variants.method && concurrency === mode.variants.concurrency
      ? mode.variants.cells.filter((v) => v.store === store)
      : [];
  const bases = [...own];
  for (const v of variants) if (!bases.includes(v.target)) bases.push(v.target);
  return bases.flatMap((t) => [t, ...variants.filter((v) => v.target === t).map((v) => variantTarget(t, v.variant))]);
}

/** The chat concurrencies: the mode's (the variants' is one of them, else added). */
function chatConcurrencies(mode) {
  const list = [...mode.concurrencies];
  if (mode.variants.cells.length > 0 && !list.includes(mode.variants.concurrency)) list.push(mode.variants.concurrency);
  return list.sort((a, b) => a - b);
}

/**
 * The ordered list of runs: { repeat, method, store, concurrency, target, baseline }.
 * `baseline` is true for node-http / express (store null). The task cells come after the chat
 * cells of each repeat (and before them in the reversed repeats).
 */
export function schedule(mode) {
  const rounds = [];
  const methods = [...new Set([...mode.methods, ...(mode.variants.cells.length > 0 ? [mode.variants.method] : [])])];
  for (let repeat = 1; repeat <= mode.repeats; repeat++) {
    const runs = [];
    for (const concurrency of chatConcurrencies(mode)) {
      for (const name of baselines(mode))
        runs.push({ repeat, method: 'chat.start', store: null, concurrency, target: name, baseline: true });
      for (const method of methods) {
        for (const store of chatStores(mode)) {
          for (const target of cellTargets(mode, method, store, concurrency)) {
            runs.push({ repeat, method, store, concurrency, target, baseline: false });
          }
        }
      }
    }
    for (const { target, store } of mode.tasks.cells) {
      runs.push({ repeat, method: TASKS, store, concurrency: mode.tasks.concurrency, target, baseline: false });
    }
    rounds.push(repeat % 2 === 0 ? runs.reverse() : runs);
  }
  return rounds.flat();
}

/**
 * The deployments a mode needs: every (target, store) pair of the chat cells, the variant
 * cells (the variant and its base) and the task cells, once each, with the methods it serves
 * and the agent variants it serves too (their rows run on it): [{ target, store, methods,
 * agentVariants }]. The first is a plain target of the mode (the baselines copy its chat.start
 * reply).
 */
export function deployments(mode) {
  const out = [];
  const add = (target, store, method) => {
    let d = out.find((x) => x.target === target && x.store === store);
    if (!d) out.push((d = { target, store, methods: [], agentVariants: [] }));
    if (!d.methods.includes(method)) d.methods.push(method);
    return d;
  };
  for (const store of mode.stores) {
    for (const target of mode.targets) {
      for (const method of mode.methods) if (!skipped(target, method, store)) add(target, store, method);
    }
  }
  for (const v of mode.variants.cells) {
    const base = add(v.target, v.store, mode.variants.method);
    if (VARIANTS[v.variant].agent !== null) base.agentVariants.push(v.variant);
    else add(variantTarget(v.target, v.variant), v.store, mode.variants.method);
  }
  for (const { target, store } of mode.tasks.cells) add(target, store, TASKS);
  return out;
}

/** Seconds of load, and a rough total including start-up, warm-up and per-run overhead. */
export function budget(mode, runs) {
  const deps = deployments(mode);
  const processes =
    deps.reduce((n, d) => {
      const { base } = splitTarget(d.target);
      // A gateway serving the supervisor row has a supervisor replica behind it too.
      const supervisor = base !== 'single' && d.agentVariants.includes('supervisor') ? 1 : 0;
      return n + (base === 'nginx-finance-x2' ? 3 : base === 'nginx-finance' ? 2 : 1) + supervisor;
    }, 0) +
    baselines(mode).length +
    // the rate-limit probe: one more short-lived server per memory ratelimit variant
    mode.variants.cells.filter((v) => v.variant === 'ratelimit' && v.store === 'memory').length;
  const taskRuns = runs.filter((r) => r.method === TASKS).length;
  // A task run ends with its drain: the flows in flight finish (about one flow, workMs and more).
  const drainS = TASK_SETTINGS.workMs / 1000 + 0.3;
  const loadS = (runs.length - taskRuns) * mode.durationS + taskRuns * (mode.tasks.durationS + drainS);
  const chatWarmups =
    deps.reduce((n, d) => n + d.methods.filter((m) => m !== TASKS).length + d.agentVariants.length, 0) + baselines(mode).length;
  const warmS = chatWarmups * mode.warmupS + mode.tasks.cells.length * (mode.tasks.warmupS + drainS);
  const overheadS = runs.length * 0.35 + processes * 1 + deps.length * 0.5 + 5;
  return { runs: runs.length, taskRuns, loadS, estimatedS: Math.round(loadS + warmS + overheadS) };
}
