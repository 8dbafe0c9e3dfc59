// Load run (a benchmark, not a test): many senders at a fixed rate for a fixed time against the
// collector in local workerd, with Mindbox failing 10 % of calls with 503 and 1 % with a timeout.
//
//   node tests/bench/load.mjs [seconds=30] [senders=60] [eventsPerBatch=5] [batchEveryMs=1500]
//   (COLLECTOR_PROFILE=self-hosted for workerd's profile)
//
// Prints accepted/s, delivered/s, p50/p99 from the send to the request at Mindbox, Mindbox calls per
// event, lost and duplicated events counted by transactionId at the emulator (both must be 0), and the
// collector's workerd CPU per 50 events as a ratio to the do-nothing worker (baseline.mjs: one queue
// send per batch, one Mindbox call per event, nothing else) given the same bodies at the same rate,
// with the same failing Mindbox, in the same run: the project's own cost, not the local simulator's.
// The ratio to a worker that only queues and acks is printed too.
//
// Each batch says `fresh` as the tracker's first send of its events does (nothing of it was sent
// before), so the collector takes the path a shop's traffic takes.
import { cpuMeter } from "./cpu.mjs";
import { randomUUID } from "node:crypto";
import { startStack, waitFor, timedFetch, PROFILE } from "../support/stack.mjs";
import { startBaseline } from "./baseline.mjs";

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
        const body = JSON.stringify({ deviceUUID: p.device, sentAt: now, fresh: true, events: events.map((e) => ({ ...e, createdAt: now })) });
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
  // Without wrangler's DevTools relay (tests/support/quiet-dev.mjs), as the do-nothing worker.
  inspector: false,
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
  // The do-nothing workers, with the emulator still up (and failing as before) and the collector
  // stopped: the same bodies at the same rate.
  await stack.stopCollector();
  for (const forward of [true, false]) {
    await stack.emulator.reset();
    await stack.emulator.chaos({ failRate: 0.1, timeoutRate: 0.01, timeoutMs: 3000 });
    const baseline = await startBaseline({ forward, mindbox: { url: stack.emulatorUrl, endpointId: stack.endpointId, secretKey: stack.secretKey, timeoutMs: 2000 } });
    try {
      const cpu = cpuMeter();
      const { sentAt } = await run(`${baseline.url}/`, "http://127.0.0.1");
      // Until its queue is quiet (a second with no CPU) and, forwarding, every event is at Mindbox.
      let last = -1;
      await waitFor("the do-nothing worker's queue to settle", async () => {
        const now = cpu();
        const quiet = now === last;
        last = now;
        if (!quiet) return false;
        if (!forward) return true;
        const ids = new Set((await stack.emulator.requests()).map((q) => q.transactionId));
        return [...sentAt.keys()].every((id) => ids.has(id));
      }, { timeoutMs: 300000, intervalMs: 1000 });
      const base = (cpu() / sentAt.size) * 50;
      const what = forward ? "do-nothing worker (queue, one Mindbox call per event)" : "queue-and-ack worker (no Mindbox calls)";
      console.log(`${what} workerd CPU: ${base.toFixed(1)} ms per 50 events; the collector: ${(oursPer50 / base).toFixed(2)}× that`);
    } finally {
      await baseline.stop();
    }
  }
} finally {
  await stack.stop();
}
