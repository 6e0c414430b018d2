/**
 * What the benchmark reads about server processes from /proc (Linux only):
 *
 *   CPU      /proc/<pid>/stat fields 14 and 15 (utime, stime) in clock ticks; seconds =
 *            ticks / CLK_TCK (`getconf CLK_TCK`, almost always 100, so 10 ms resolution).
 *   memory   /proc/<pid>/status VmRSS (resident now) and VmHWM (the peak resident size since
 *            the process started), in kB.
 *
 * A "target" may be several processes (nginx master + its workers, two finance replicas);
 * every helper here takes a list of pids and reports per pid.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let clkTck;
/** Clock ticks per second, from `getconf CLK_TCK` (100 if getconf is missing). */
export function clockTicks() {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** utime + stime of one process, in clock ticks; null if it is gone. */
export function cpuTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces: split after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state), so utime (14) is fields[11] and stime (15) fields[12].
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

/** { rssKb, hwmKb } of one process from /proc/<pid>/status; nulls if it is gone. */
export function memory(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key) => {
      const m = status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
      return m ? Number(m[1]) : null;
    };
    return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
  } catch {
    return { rssKb: null, hwmKb: null };
  }
}

/** The direct children of a process (nginx master -> workers). */
export function childPids(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** CPU ticks of every pid, as { pid: ticks }. */
export function cpuSnapshot(pids) {
  return Object.fromEntries(pids.map((pid) => [pid, cpuTicks(pid)]));
}

/** CPU seconds per pid between two snapshots. */
export function cpuSecondsBetween(before, after) {
  const hz = clockTicks();
  const out = {};
  for (const pid of Object.keys(after)) {
    const a = after[pid];
    const b = before[pid];
    out[pid] = a === null || b === null || b === undefined ? null : (a - b) / hz;
  }
  return out;
}

/**
 * Samples VmRSS of `pids` every `intervalMs` until stop() is called; stop() returns the highest
 * VmRSS seen per pid, in kB (the sampler also takes one sample at start and one at stop).
 */
export function startRssSampler(pids, intervalMs = 200) {
  const peak = Object.fromEntries(pids.map((pid) => [pid, 0]));
  const sample = () => {
    for (const pid of pids) {
      const { rssKb } = memory(pid);
      if (rssKb !== null && rssKb > peak[pid]) peak[pid] = rssKb;
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

/**
 * Busy CPU ticks of the whole machine (all cores) from the first line of /proc/stat: user +
 * nice + system + irq + softirq + steal. With the CPU of the benchmark's own processes taken
 * off, what is left is load from elsewhere on a shared machine.
 */
export function machineBusyTicks() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return user + nice + system + irq + softirq + (steal || 0);
  } catch {
    return null;
  }
}
