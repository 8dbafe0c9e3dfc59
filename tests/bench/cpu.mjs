// workerd's CPU time, read from /proc (user + system), for the collector benchmarks. Workers' own
// timers do not advance during CPU work, so the worker cannot time itself.
import { readFileSync, readdirSync } from "node:fs";

const TICKS = 100; // USER_HZ on Linux

/** CPU ticks (user + system) of every live workerd process, by pid, from /proc. */
function workerdTicks() {
  const ticks = new Map();
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (!stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")).startsWith("workerd")) continue;
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks.set(pid, Number(f[11]) + Number(f[12]));
    } catch {}
  }
  return ticks;
}

/** Starts counting workerd CPU; the returned function gives the ms used since, by the processes alive then or started since. */
export function cpuMeter() {
  const start = workerdTicks();
  return () => {
    let ticks = 0;
    for (const [pid, t] of workerdTicks()) ticks += t - (start.get(pid) || 0);
    return (ticks * 1000) / TICKS;
  };
}

