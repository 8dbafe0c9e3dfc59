// Collector benchmark (not a test): CPU per 50-event batch and events/s through local workerd.
//
//   node tests/bench/collector.mjs [batches=200] [concurrency=8]
//
// CPU is read from /proc for the workerd processes (user + system time), so it is everything workerd
// does for a batch: the fetch handler (check, enrich, queue send) *and* the queue consumer delivering
// the 50 events to the emulator. Workers' own timers do not advance during CPU work, so the worker
// cannot time itself.
import { randomUUID } from "node:crypto";
import { startStack, waitFor, timedFetch } from "../support/stack.mjs";
import { cpuMeter } from "./cpu.mjs";

const BATCHES = Number(process.argv[2] || 200);
const CONCURRENCY = Number(process.argv[3] || 8);
const PER_BATCH = 50;

const batch = () => ({
  deviceUUID: randomUUID(),
  events: Array.from({ length: PER_BATCH }, (_, i) => ({
    id: randomUUID(),
    operation: "Website.ViewProduct",
    createdAt: Date.now(),
    data: { viewProduct: { product: { ids: { website: String(1000 + i) } }, price: 1990 } },
  })),
});

/** Which runtime runs the collector (`COLLECTOR_PROFILE`: cloudflare, the default, or self-hosted). */
const profile = process.env.COLLECTOR_PROFILE || "cloudflare";
console.log(`profile: ${profile}`);
// One machine plays every shopper: the rate limits (events per IP and device) out of the way.
const settings = {
  profile,
  vars: { MINDBOX_RATE_LIMIT_PER_MINUTE: "1000000" },
  config: (toml) => toml.replace(/simple = \{ limit = \d+, period = 60 \}/g, "simple = { limit = 1000000, period = 60 }"),
};
let stack = await startStack(settings);
try {
  const send = async (b) => {
    const res = await timedFetch(`${stack.collectorUrl}/v1/events`, {
      method: "POST",
      // A client address per batch (the self-hosted proxy's header), as many shoppers would have.
      headers: { origin: stack.shopUrl, "content-type": "text/plain", "x-real-ip": `10.78.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250) + 1}` },
      body: JSON.stringify(b),
    });
    if (res.status !== 202) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  };
  /** Sends every body with `CONCURRENCY` senders; resolves when all were answered 202. */
  const sendAll = async (bodies) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < bodies.length) await send(bodies[next++]);
      }),
    );
  };
  // Warm up (JIT, wasm instantiation, Durable Objects).
  for (let i = 0; i < 5; i++) await send(batch());
  await waitFor("warm-up delivery", async () => (await stack.emulator.count()).accepted >= 5 * PER_BATCH, { timeoutMs: 60000 });
  await stack.emulator.reset();

  // Phase 1, the accept path alone: Mindbox hangs, so the consumer sits idle on its first calls while
  // the fetch handler takes every batch.
  await stack.emulator.fail({ count: 1000000, mode: "timeout", ms: 3600000 });
  {
    const bodies = Array.from({ length: BATCHES }, batch);
    const cpu = cpuMeter();
    const t = performance.now();
    await sendAll(bodies);
    const ms = performance.now() - t;
    const c = cpu();
    console.log(`accept path:           ${(c / BATCHES).toFixed(1)} ms workerd CPU per 50-event batch, ${Math.round((BATCHES * PER_BATCH) / (ms / 1000))} events/s accepted`);
  }
  await stack.stop();
  stack = await startStack(settings);
  for (let i = 0; i < 5; i++) await send(batch());
  await waitFor("warm-up delivery", async () => (await stack.emulator.count()).accepted >= 5 * PER_BATCH, { timeoutMs: 60000 });
  await stack.emulator.reset();

  // Phase 2, the whole pipeline: accept, queue, deliver to the emulator.
  const bodies = Array.from({ length: BATCHES }, batch);
  const meter = cpuMeter();
  const t0 = performance.now();
  await sendAll(bodies);
  const tAccepted = performance.now();
  const total = BATCHES * PER_BATCH;
  await waitFor("every event at the emulator", async () => (await stack.emulator.count()).accepted >= total, {
    timeoutMs: 600000,
    intervalMs: 50,
  });
  const tDelivered = performance.now();
  const cpu = meter();
  const { accepted, attempts } = await stack.emulator.count();
  console.log(`batches: ${BATCHES} x ${PER_BATCH} events, ${CONCURRENCY} concurrent senders`);
  console.log(`pipeline accepted:     ${Math.round(total / ((tAccepted - t0) / 1000))} events/s`);
  console.log(`delivered to Mindbox:  ${Math.round(total / ((tDelivered - t0) / 1000))} events/s end to end (${accepted} delivered, ${attempts} calls)`);
  console.log(`workerd CPU:           ${(cpu / BATCHES).toFixed(1)} ms per 50-event batch (accept + deliver), ${((cpu * 1000) / total).toFixed(0)} µs per event`);
} finally {
  await stack.stop();
}
