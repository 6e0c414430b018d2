'use strict';
/**
 * Child processes for tests, scripts and the benchmark: start one, wait until it is ready (an
 * HTTP health URL answers, and/or a line appears in its output), keep a bounded tail of its
 * output, stop it (its whole process group, SIGKILL after a grace period), and kill whatever
 * is still running when this process exits.
 */
const { spawn } = require('node:child_process');
const { readFileSync, readdirSync } = require('node:fs');
const http = require('node:http');
const { ROOT } = require('./root.cjs');

// Started and not yet exited; SIGKILLed (with their groups) if this process exits first. The
// exit listener is there only while something runs (jest loads this module once per test file).
const live = new Set();

/** SIGKILLs every process started here that is still running (synchronous: fine in an exit handler). */
function killAll() {
  for (const p of live) p.kill('SIGKILL');
  live.clear();
  process.off('exit', killAll);
}

/**
 * The HTTP status of a GET, or null when nothing answers within `timeoutMs`. A new connection
 * each time (agent: false): a kept-alive one would hold up the drain of a server stopped later.
 */
function httpStatus(url, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? null));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Spawns `command` and resolves once it is ready: `healthUrl` answers `healthStatus` (200, or
 * 'any' for any HTTP answer) and/or `readyOutput` (a string or RegExp) has appeared in its
 * output. Rejects, with the output, when it exits first or is not ready within `timeoutMs`.
 *
 * The environment is this process's minus `unsetEnv`, plus `env`. With `group` (default) the
 * child leads its own process group, and stop() signals the whole group: what it started
 * (npm → sh → node, nginx's workers) stops with it.
 */
async function startProcess(options) {
  const {
    name,
    command,
    args = [],
    cwd = ROOT,
    env = {},
    unsetEnv = [],
    group = true,
    healthUrl,
    healthStatus = 200,
    readyOutput,
    timeoutMs = 20_000,
    pollMs = 100,
    keepOutput = 100_000,
    onOutput,
  } = options;
  if (!healthUrl && !readyOutput) throw new TypeError(`startProcess(${name}): give healthUrl and/or readyOutput`);
  const childEnv = { ...process.env };
  for (const key of unsetEnv) delete childEnv[key];
  Object.assign(childEnv, env);

  const t0 = performance.now();
  const child = spawn(command, args, { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: group });
  let out = '';
  let bytes = 0;
  let recent = '';
  let sawReady = !readyOutput;
  const keep = (buf) => {
    const text = buf.toString();
    bytes += buf.length;
    out += text;
    if (out.length > 2 * keepOutput) out = out.slice(-keepOutput);
    if (!sawReady) {
      recent = (recent + text).slice(-4096);
      sawReady = typeof readyOutput === 'string' ? recent.includes(readyOutput) : readyOutput.test(recent);
    }
    if (onOutput) onOutput(name, text);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);

  let done = false;
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => {
      out += `\n${error.message}`;
      resolve({ code: null, signal: null, error });
    });
  });
  const isRunning = () => !done && child.exitCode === null && child.signalCode === null;
  const signal = (sig) => {
    if (!child.pid) return;
    try {
      if (group) process.kill(-child.pid, sig);
      else child.kill(sig);
    } catch {
      /* already gone */
    }
  };
  const proc = {
    name,
    child,
    pid: child.pid,
    startupMs: undefined,
    output: () => (out.length > keepOutput ? out.slice(-keepOutput) : out),
    outputBytes: () => bytes,
    exited,
    isRunning,
    /** Sends `sig` to the process (its group with `group`) without waiting. */
    kill(sig = 'SIGTERM') {
      if (isRunning()) signal(sig);
    },
    /** Sends `sig`, waits for the exit (SIGKILL after `graceMs`), then clears what is left of its group. */
    async stop(sig = 'SIGTERM', graceMs = 5_000) {
      if (isRunning()) signal(sig);
      const timer = setTimeout(() => signal('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      if (group) signal('SIGKILL');
      return result;
    },
  };
  if (live.size === 0) process.on('exit', killAll);
  live.add(proc);
  exited.then(() => {
    done = true;
    if (live.delete(proc) && live.size === 0) process.off('exit', killAll);
  });

  const what = [healthUrl && `${healthUrl} answering ${healthStatus}`, readyOutput && `output showing ${readyOutput}`]
    .filter(Boolean)
    .join(' and ');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isRunning()) {
      const { code, signal: sig } = await exited;
      throw new Error(`${name} exited (code ${code}, signal ${sig}) before it was ready:\n${proc.output()}`);
    }
    if (sawReady) {
      const status = healthUrl ? await httpStatus(healthUrl, 1000) : null;
      if (!healthUrl || (status !== null && (healthStatus === 'any' || status === healthStatus))) {
        proc.startupMs = performance.now() - t0;
        return proc;
      }
    }
    if (Date.now() > deadline) {
      await proc.stop('SIGKILL');
      throw new Error(`${name} was not ready (${what}) within ${timeoutMs} ms:\n${proc.output()}`);
    }
    await sleep(pollMs);
  }
}

/** ppid, state and start time (clock ticks since boot) of a process; null when it does not exist. */
function procStat(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], ppid: Number(fields[1]), start: fields[19] };
  } catch {
    return null;
  }
}

/**
 * `rootPid` and all its descendants now, each with its start time (so that a pid reused later
 * is not mistaken for it). Linux only (/proc).
 */
function processTree(rootPid) {
  const children = new Map();
  const stats = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(entry);
    if (!stat) continue;
    const pid = Number(entry);
    stats.set(pid, stat);
    if (!children.has(stat.ppid)) children.set(stat.ppid, []);
    children.get(stat.ppid).push(pid);
  }
  const out = [];
  const queue = stats.has(rootPid) ? [rootPid] : [];
  while (queue.length) {
    const pid = queue.shift();
    out.push({ pid, start: stats.get(pid).start });
    queue.push(...(children.get(pid) || []));
  }
  return out;
}

/** The processes of a processTree() snapshot that still run (zombies count as gone). */
function stillRunning(snapshot) {
  return snapshot.filter(({ pid, start }) => {
    const stat = procStat(pid);
    return stat !== null && stat.start === start && stat.state !== 'Z';
  });
}

module.exports = { startProcess, killAll, httpStatus, processTree, stillRunning };
