// The do-nothing worker the collector benchmarks compare with, run by `wrangler dev` like the
// collector's Cloudflare profile: the I/O the job cannot do without, and nothing else. Its fetch
// handler reads a tracker's batch and puts each event on a queue in one send; its consumer makes one
// Mindbox call per event (six at a time, with a timeout) and acks it, or retries it later when the
// call failed. No checks, no limits, no resend lookup, no counters, no trace.
//
// `forward: false` gives the older baseline: a consumer that acks without calling Mindbox.
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startProcess, waitFor, timedFetch, freePort, wranglerDev } from "../support/stack.mjs";

const WORKER = `export default {
  async fetch(req, env) {
    const batch = JSON.parse(await req.text());
    const events = batch.events || [];
    if (events.length) await env.Q.sendBatch(events.map((event) => ({ body: { device: batch.deviceUUID, event } })));
    return new Response(JSON.stringify({ accepted: events.length }), { status: 202 });
  },
  async queue(batch, env) {
    if (env.FORWARD !== "1") return batch.ackAll();
    const todo = [...batch.messages];
    const lane = async () => {
      for (let m = todo.shift(); m; m = todo.shift()) {
        const { device, event } = m.body;
        const q = new URLSearchParams({ endpointId: env.ENDPOINT_ID, operation: event.operation, deviceUUID: device, transactionId: event.id });
        try {
          const res = await fetch(env.API + "/v3/operations/async?" + q, {
            method: "POST",
            headers: { "content-type": "application/json; charset=utf-8", authorization: "SecretKey " + env.SECRET_KEY },
            body: JSON.stringify(event.data),
            signal: AbortSignal.timeout(Number(env.TIMEOUT_MS)),
          });
          await res.text();
          if (res.ok) m.ack();
          else m.retry({ delaySeconds: 1 });
        } catch {
          m.retry({ delaySeconds: 1 });
        }
      }
    };
    await Promise.all(Array.from({ length: 6 }, lane));
  },
};
`;

/**
 * Starts the do-nothing worker; `mindbox` is `{ url, endpointId, secretKey, timeoutMs }` (the
 * emulator). Returns `{ url, log, stop }`.
 */
export async function startBaseline({ mindbox, forward = true, inspector = false }) {
  const dir = mkdtempSync(join(tmpdir(), "mindbox-edge-baseline-"));
  writeFileSync(join(dir, "worker.js"), WORKER);
  const vars = { FORWARD: forward ? "1" : "0", API: mindbox?.url || "", ENDPOINT_ID: mindbox?.endpointId || "", SECRET_KEY: mindbox?.secretKey || "", TIMEOUT_MS: String(mindbox?.timeoutMs || 10000) };
  writeFileSync(
    join(dir, "wrangler.toml"),
    `name = "baseline"\nmain = "worker.js"\ncompatibility_date = "2025-09-01"\n` +
      `[vars]\n${Object.entries(vars).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join("\n")}\n` +
      `[[queues.producers]]\nbinding = "Q"\nqueue = "baseline"\n[[queues.consumers]]\nqueue = "baseline"\nmax_batch_size = 50\nmax_batch_timeout = 0\nmax_retries = 100\n`,
  );
  const port = await freePort();
  // Without wrangler's DevTools relay when `inspector` is false, as the collector is then measured.
  const [bin, launcher] = wranglerDev(inspector);
  const proc = startProcess("baseline", bin, [...launcher, "dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(await freePort()), "--show-interactive-dev-session=false"], {
    cwd: dir,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_UPDATE_NOTIFIER: "1" },
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor("the do-nothing worker", async () => (await timedFetch(`${url}/`, { method: "POST", body: "{}" })).status === 202, { timeoutMs: 120000, intervalMs: 500 });
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return {
    url,
    /** What wrangler printed. */
    log: () => proc.log(),
    stop: async () => {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
