/**
 * One measured run: the generator's job on one deployment, with the /proc figures around it -
 * CPU of the deployment's processes (nginx master and workers included), their peak RSS, CPU of
 * redis-server for the Redis runs (apart: it may serve others on this machine too), and the CPU
 * used meanwhile by everything else (the noise of a shared machine).
 */
import { cpus, loadavg } from 'node:os';
import { clockTicks, cpuSecondsBetween, cpuSnapshot, cpuTicks, machineBusyTicks, startRssSampler } from './proc-stats.mjs';

/**
 * Runs `job` on `generator` against deployment `d` and resolves the run's record fields:
 * { load, processes, cpuS, cpuSPer1k, redisCpuS, redisCpuSPer1k, rssPeakKbTotal, loadavg,
 * otherCpuPct }. `redisPid` is redis-server's pid or null. Throws when a process died.
 */
export async function measureRun(generator, d, job, redisPid) {
  const pids = d.pids();
  const names = d.names();
  const redisBefore = redisPid ? cpuTicks(redisPid) : null;
  const cpuBefore = cpuSnapshot(pids);
  const busyBefore = machineBusyTicks();
  const selfBefore = process.cpuUsage();
  const t0 = performance.now();
  const sampler = startRssSampler(pids);
  const load = await generator.run(job);
  const rssPeakKb = sampler.stop();
  const cpuS = cpuSecondsBetween(cpuBefore, cpuSnapshot(pids));
  const redisAfter = redisBefore === null ? null : cpuTicks(redisPid);
  const redisCpuS = redisBefore === null || redisAfter === null ? null : (redisAfter - redisBefore) / clockTicks();
  const windowS = (performance.now() - t0) / 1000;
  const self = process.cpuUsage(selfBefore);
  const dead = d.processes.filter((p) => cpuTicks(p.pid) === null);
  if (dead.length) throw new Error(`${dead.map((p) => p.name).join(', ')} died during the run:\n${dead.map((p) => p.tail()).join('\n')}`);
  const cpuTotal = Object.values(cpuS).reduce((a, b) => a + (b ?? 0), 0);
  // CPU used on the machine during the run by anything but the servers, redis-server, the
  // generator and this process, in % of all cores.
  const busyS = (machineBusyTicks() - busyBefore) / clockTicks();
  const foreignS = Math.max(0, busyS - cpuTotal - (redisCpuS ?? 0) - load.generatorCpuS - (self.user + self.system) / 1e6);
  // Per 1,000 requests; for a task row per 1,000 flows delivered: every flow the run created
  // has ended when the job returns (the drain), so all their CPU is inside what was measured.
  const units = load.flows ? load.flows.delivered : load.requests;
  return {
    load,
    processes: pids.map((pid) => ({ pid, name: names[pid], cpuS: cpuS[pid], rssPeakKb: rssPeakKb[pid] })),
    cpuS: cpuTotal,
    cpuSPer1k: units ? (cpuTotal / units) * 1000 : null,
    redisCpuS,
    redisCpuSPer1k: units && redisCpuS !== null ? (redisCpuS / units) * 1000 : null,
    rssPeakKbTotal: Object.values(rssPeakKb).reduce((a, b) => a + b, 0),
    loadavg: loadavg()[0],
    otherCpuPct: (foreignS / windowS / cpus().length) * 100,
  };
}
