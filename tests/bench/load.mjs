// Load run (a benchmark, not a test): many senders at a fixed rate for a fixed time against the
// collector in local workerd, with Mindbox failing 10 % of calls with 503 and 1 % with a timeout.
//
//   node tests/bench/load.mjs [seconds=30] [senders=60] [eventsPerBatch=5] [batchEveryMs=1500]
//   (COLLECTOR_PROFILE=self-hosted for workerd's profile)
//
// Prints accepted/s, delivered/s, p50/p99 from the send to the request at Mindbox, Mindbox calls per
// event, lost and duplicated events counted by transactionId at the emulator (both must be 0), and the
// collector's workerd CPU per 50 events as a ratio to a do-nothing worker (a queue producer and a
// consumer that acks) given the same bodies at the same rate in the same run: the project's own cost,
// not the local simulator's.
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { cpuMeter } from "./cpu.mjs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { startStack, startProcess, waitFor, timedFetch, freePort, PROFILE, ROOT } from "../support/stack.mjs";

const SECONDS = Number(process.argv[2] || 30);
const SENDERS = Number(process.argv[3] || 60);
const PER_BATCH = Number(process.argv[4] || 5);
const EVERY_MS = Number(process.argv[5] || 1500);

/** The batches each sender posts, made up front so both runs get the same bodies. */
const plan = Array.from({ length: SENDERS }, (_, s) => ({
  device: randomUUID(),
  ip: `10.77.${Math.floor(s / 250)}.${(s % 250) + 1}`,
  batches: Array.from({ length: Math.floor((SECONDS * 1000) / EVERY_MS) }, () =>
    Array.from({ length: PER_BATCH }, (_, i) => ({
      id: randomUUID(),
      operation: "Website.ViewProduct",
      data: { viewProduct: { product: { ids: { website: String(100 + i) } }, price: 1990 } },
    })),
  ),
}));
const total = plan.reduce((n, p) => n + p.batches.length * PER_BATCH, 0);

/**
 * Every sender posts its batches every EVERY_MS (starting spread over the first interval), stamping
 * each event's createdAt at the send. Returns {sentAt: Map(id → ms), ms, refused}.
 */
async function run(url, origin) {
  const sentAt = new Map();
  let refused = 0;
  const t0 = Date.now();
  await Promise.all(
    plan.map(async (p, s) => {
      await new Promise((r) => setTimeout(r, (s * EVERY_MS) / SENDERS));
      for (const [k, events] of p.batches.entries()) {
        const due = t0 + (s * EVERY_MS) / SENDERS + k * EVERY_MS;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        const now = Date.now();
        const body = JSON.stringify({ deviceUUID: p.device, sentAt: now, events: events.map((e) => ({ ...e, createdAt: now })) });
        // X-Real-IP: one client address per sender (the self-hosted proxy's header).
        const res = await timedFetch(url, { method: "POST", headers: { origin, "content-type": "text/plain", "x-real-ip": p.ip }, body, timeoutMs: 30000 });
        const text = await res.text();
        if (res.status === 202) events.forEach((e) => sentAt.set(e.id, now));
        else refused++, console.error(`refused: ${res.status} ${text.slice(0, 200)}`);
      }
    }),
  );
  return { sentAt, ms: Date.now() - t0, refused };
}

const pick = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

// The collector, with the rate limits out of the way (one machine plays every shopper) and Mindbox's
// per-minute budget above this run.
const stack = await startStack({
  profile: PROFILE,
  vars: { MINDBOX_RATE_LIMIT_PER_MINUTE: "1000000", MINDBOX_TIMEOUT_MS: "2000" },
  config: (toml) => toml.replace(/simple = \{ limit = \d+, period = 60 \}/g, "simple = { limit = 1000000, period = 60 }"),
});
/** The collector's workerd CPU per 50 events. */
let oursPer50;
try {
  await stack.emulator.chaos({ failRate: 0.1, timeoutRate: 0.01, timeoutMs: 3000 });
  const cpu = cpuMeter();
  const { sentAt, ms, refused } = await run(`${stack.collectorUrl}/v1/events`, stack.shopUrl);
  const accepted = sentAt.size;
  // Until every accepted event is at Mindbox (retries of 503s and timeouts take a few seconds).
  const firstAt = new Map();
  let dupes = 0;
  await waitFor("every accepted event at Mindbox", async () => {
    const reqs = await stack.emulator.requests();
    firstAt.clear();
    dupes = 0;
    for (const q of reqs) {
      if (!sentAt.has(q.transactionId)) continue;
      if (firstAt.has(q.transactionId)) dupes++;
      else firstAt.set(q.transactionId, q.receivedAt);
    }
    return firstAt.size >= accepted;
  }, { timeoutMs: 300000, intervalMs: 1000 }).catch((e) => console.error(e.message));
  const lastAt = Math.max(...firstAt.values());
  const collectorCpu = cpu();
  oursPer50 = (collectorCpu / accepted) * 50;
  const calls = (await stack.emulator.attempts()).filter((a) => sentAt.has(a.transactionId)).length;
  const lat = [...firstAt.entries()].map(([id, at]) => at - sentAt.get(id)).sort((a, b) => a - b);
  const start = Math.min(...sentAt.values());
  console.log(`load (${PROFILE}): ${SENDERS} senders × a ${PER_BATCH}-event batch every ${EVERY_MS} ms for ${SECONDS} s; Mindbox fails 10 % with 503, 1 % with a timeout`);
  console.log(`accepted:    ${accepted} of ${total} events (${refused} batches refused), ${Math.round(accepted / (ms / 1000))} events/s`);
  console.log(`delivered:   ${firstAt.size} events, ${Math.round(firstAt.size / ((lastAt - start) / 1000))} events/s until the last one`);
  console.log(`send → Mindbox: p50 ${pick(lat, 0.5)} ms, p99 ${pick(lat, 0.99)} ms`);
  console.log(`Mindbox calls per event: ${(calls / accepted).toFixed(3)} (${calls} calls)`);
  console.log(`lost: ${accepted - firstAt.size}, duplicated: ${dupes} (by transactionId at the emulator)`);
  console.log(`collector workerd CPU: ${oursPer50.toFixed(1)} ms per 50 events (accept and deliver, retries included)`);
} finally {
  await stack.stop();
}

// The do-nothing worker: takes each body onto a queue and acks it from there, nothing else.
const dir = mkdtempSync(join(tmpdir(), "mindbox-edge-baseline-"));
writeFileSync(join(dir, "worker.js"), `export default {
  async fetch(req, env) { await env.Q.send(await req.text()); return new Response(null, { status: 202 }); },
  async queue(batch) { batch.ackAll(); },
};\n`);
writeFileSync(join(dir, "wrangler.toml"), `name = "baseline"\nmain = "worker.js"\ncompatibility_date = "2025-01-01"\n[[queues.producers]]\nbinding = "Q"\nqueue = "baseline"\n[[queues.consumers]]\nqueue = "baseline"\nmax_batch_size = 50\nmax_batch_timeout = 0\n`);
const port = await freePort();
const baseline = startProcess("baseline", join(ROOT, "node_modules/.bin/wrangler"), ["dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(await freePort()), "--show-interactive-dev-session=false"], {
  cwd: dir,
  env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_UPDATE_NOTIFIER: "1" },
});
try {
  await waitFor("the baseline worker", async () => (await timedFetch(`http://127.0.0.1:${port}/`, { method: "POST", body: "{}" })).status === 202, { timeoutMs: 120000, intervalMs: 500 });
  const cpu = cpuMeter();
  const { sentAt } = await run(`http://127.0.0.1:${port}/`, "http://127.0.0.1");
  // The consumer's acks: wait until the queue is quiet (a second with no CPU), then read.
  let last = -1;
  await waitFor("the baseline's queue to settle", async () => {
    const now = cpu();
    const quiet = now === last;
    last = now;
    return quiet;
  }, { timeoutMs: 60000, intervalMs: 1000 });
  const base = (cpu() / sentAt.size) * 50;
  console.log(`do-nothing worker workerd CPU: ${base.toFixed(1)} ms per 50 events; the collector: ${(oursPer50 / base).toFixed(1)}× that`);
} finally {
  await baseline.stop();
  rmSync(dir, { recursive: true, force: true });
}
