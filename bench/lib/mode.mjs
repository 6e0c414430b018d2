/**
 * The mode of this benchmark run: the command line turned into a mode of plan.mjs (a copy,
 * narrowed by --targets, --methods, --variants, --duration, --repeats), then what this machine
 * cannot run left out, said so and recorded rather than failing the whole benchmark: nginx for
 * the gateway targets, Redis for the redis store (chat, variant and task rows alike).
 */
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { CHAT_METHODS, MODES, TASKS, VARIANT_NAMES } from './plan.mjs';
import { redisAvailable } from './redis.mjs';
import { ROOT, TARGETS, nginxInstalled } from './targets.mjs';

const USAGE =
  'usage: node bench/run.mjs [--quick | --smoke] [--targets <a,b>] [--methods <a,b>] [--variants <a,b> | none] [--duration <s>] [--repeats <n>] [--out <file.json>]';

/** A bad command line: say what is wrong and how to call it, no stack trace. */
function usageError(message) {
  process.stderr.write(`bench: ${message}\nusage: node bench/run.mjs --help\n`);
  process.exit(2);
}

/** A comma-separated option as a list, refused (exit 2) when empty or naming anything outside `allowed`. */
function listOption(name, value, allowed) {
  const list = value
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  const unknown = list.filter((x) => !allowed.includes(x));
  if (unknown.length > 0 || list.length === 0)
    usageError(`--${name}: unknown ${unknown.join(', ') || '(none given)'}; choose from ${allowed.join(', ')}`);
  return list;
}

/** The mode and output file the command line asks for (exits on --help and on a bad command line). */
export function modeFromCommandLine() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      smoke: { type: 'boolean', default: false },
      duration: { type: 'string' },
      repeats: { type: 'string' },
      targets: { type: 'string' },
      methods: { type: 'string' },
      variants: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      `${USAGE}\ntargets: ${Object.keys(TARGETS).join(', ')}\nmethods: ${[...CHAT_METHODS, TASKS].join(', ')}\n` +
        `variants: ${VARIANT_NAMES.join(', ')} (chat.start next to the same target without them; none: leave them out)\n(see bench/README.md)\n`,
    );
    process.exit(0);
  }
  // `npm run bench --quick` gives the flag to npm, which passes it on as npm_config_quick=true.
  const envFlag = (name) => process.env[`npm_config_${name}`] === 'true';
  const modeName = values.smoke || envFlag('smoke') ? 'smoke' : values.quick || envFlag('quick') ? 'quick' : 'full';
  const mode = structuredClone({ name: modeName, ...MODES[modeName] });
  if (values.duration) mode.durationS = mode.tasks.durationS = Number(values.duration);
  if (values.repeats) mode.repeats = Number(values.repeats);
  if (values.targets) {
    mode.targets = listOption('targets', values.targets, Object.keys(TARGETS));
    mode.tasks.cells = mode.tasks.cells.filter((cell) => mode.targets.includes(cell.target));
  }
  if (values.methods) {
    const methods = listOption('methods', values.methods, [...CHAT_METHODS, TASKS]);
    mode.methods = mode.methods.filter((m) => methods.includes(m));
    if (!methods.includes(TASKS)) mode.tasks.cells = [];
  }
  // A variant runs when its base target does, and with the method it is measured at.
  mode.variants.cells = mode.variants.cells.filter((v) => mode.targets.includes(v.target) && mode.methods.includes(mode.variants.method));
  if (values.variants) {
    const variants = values.variants.trim() === 'none' ? [] : listOption('variants', values.variants, VARIANT_NAMES);
    mode.variants.cells = mode.variants.cells.filter((v) => variants.includes(v.variant));
  }
  if (mode.methods.length === 0 && mode.tasks.cells.length === 0)
    usageError('nothing to run: no chat method, and no task row on these targets');
  if (!(mode.durationS > 0) || !(Number.isInteger(mode.repeats) && mode.repeats > 0))
    usageError('--duration must be > 0 and --repeats a positive integer');
  return { mode, out: values.out };
}

/** Linux, and the built entry point of every target the mode starts. */
export function preflight(mode) {
  if (process.platform !== 'linux' || !existsSync('/proc/self/stat')) throw new Error('the benchmark reads /proc: Linux only');
  const targets = new Set([
    ...(mode.methods.length > 0 ? mode.targets : []),
    ...mode.tasks.cells.map((c) => c.target),
    ...mode.variants.cells.map((c) => c.target),
  ]);
  for (const target of targets) {
    const entry = join(ROOT, TARGETS[target].entry);
    if (!existsSync(entry)) throw new Error(`${relative(ROOT, entry)} is missing: build first (npx turbo run build)`);
  }
}

/** `single/memory, nginx-finance/redis` (a variant cell: `single+auth/memory`) */
export const cellNames = (cells) => cells.map((c) => `${c.target}${c.variant ? `+${c.variant}` : ''}/${c.store}`).join(', ');

/**
 * Leaves out of `mode` (in place) the targets that need nginx when it is missing and the redis
 * store when Redis does not answer at `redisUrl`; resolves one sentence per thing left out.
 */
export async function leaveOutWhatCannotRun(mode, redisUrl) {
  const skipped = [];
  const isGateway = (t) => TARGETS[t].replicas > 0;
  const gatewayTargets = mode.methods.length > 0 ? mode.targets.filter(isGateway) : [];
  const gatewayTaskCells = mode.tasks.cells.filter((c) => isGateway(c.target));
  const gatewayVariantCells = mode.variants.cells.filter((c) => isGateway(c.target));
  if ((gatewayTargets.length > 0 || gatewayTaskCells.length > 0 || gatewayVariantCells.length > 0) && !nginxInstalled()) {
    const why = 'nginx is not installed (apt-get install -y nginx, or set NGINX_BIN)';
    if (gatewayTargets.length > 0) skipped.push(`${gatewayTargets.join(', ')}: ${why}`);
    if (gatewayTaskCells.length > 0) skipped.push(`task rows on ${cellNames(gatewayTaskCells)}: ${why}`);
    if (gatewayVariantCells.length > 0) skipped.push(`variant rows ${cellNames(gatewayVariantCells)}: ${why}`);
    mode.targets = mode.targets.filter((t) => !isGateway(t));
    mode.tasks.cells = mode.tasks.cells.filter((c) => !isGateway(c.target));
    mode.variants.cells = mode.variants.cells.filter((c) => !isGateway(c.target));
  }
  const chatRedis = mode.methods.length > 0 && mode.stores.includes('redis');
  const redisTaskCells = mode.tasks.cells.filter((c) => c.store === 'redis');
  const redisVariantCells = mode.variants.cells.filter((c) => c.store === 'redis');
  if ((chatRedis || redisTaskCells.length > 0 || redisVariantCells.length > 0) && !(await redisAvailable(redisUrl))) {
    const why = `Redis does not answer at ${redisUrl} (start redis-server, or set BENCH_REDIS_URL)`;
    if (chatRedis) skipped.push(`the redis store: ${why}`);
    if (redisTaskCells.length > 0) skipped.push(`task rows on ${cellNames(redisTaskCells)}: ${why}`);
    if (redisVariantCells.length > 0) skipped.push(`variant rows ${cellNames(redisVariantCells)}: ${why}`);
    mode.stores = mode.stores.filter((s) => s !== 'redis');
    mode.tasks.cells = mode.tasks.cells.filter((c) => c.store !== 'redis');
    mode.variants.cells = mode.variants.cells.filter((c) => c.store !== 'redis');
  }
  return skipped;
}
