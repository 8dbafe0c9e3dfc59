// The stack's processes (emulator, collector, browser drivers): each started in its own process
// group, its output kept, and stopped with whatever it started.
import { spawn } from "node:child_process";
import { waitFor } from "./http.mjs";

/** Every process `startProcess` started that has not exited yet (the demo stops them all on a crash). */
export const running = new Set();

/**
 * Starts `cmd` in its own process group (so `stop()` ends it with whatever it started, and Ctrl-C at
 * the terminal reaches only this process, which stops it), keeping its output.
 */
export function startProcess(name, cmd, args, opts) {
  const child = spawn(cmd, args, { ...opts, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const output = [];
  const keep = (chunk) => {
    output.push(chunk.toString());
    if (opts.echo) process.stdout.write(`[${name}] ${chunk}`);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise((resolve) => child.on("exit", resolve));
  const proc = {
    name,
    child,
    output,
    exited,
    log: () => output.join(""),
    /**
     * Ends the whole process group: SIGTERM, SIGKILL after 3 s. What outlives the group's leader
     * (workerd under a wrangler that died) gets the same 3 s once the leader has gone.
     */
    stop: async () => {
      if (!signalGroup(child.pid, "SIGTERM")) return;
      const killer = setTimeout(() => signalGroup(child.pid, "SIGKILL"), 3000);
      await exited;
      clearTimeout(killer);
      if (!signalGroup(child.pid, 0)) return;
      await waitFor("the rest of the group to exit", () => !signalGroup(child.pid, 0), { timeoutMs: 3000, intervalMs: 50 }).catch(() => {
        signalGroup(child.pid, "SIGKILL");
      });
    },
  };
  running.add(proc);
  child.on("exit", () => running.delete(proc));
  return proc;
}

/** Sends `signal` to the process group `pgid` (0: only checks it exists); false when no process is in it. */
export function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}
