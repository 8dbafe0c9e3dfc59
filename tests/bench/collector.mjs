// Collector benchmark (not a test): CPU per 50-event batch and events/s through local workerd.
//
//   node tests/bench/collector.mjs [batches=200] [concurrency=8] [nodes=1] [rounds=5]
//
// `nodes` (self-hosted profile): workerd nodes on the one PostgreSQL, each batch to the next node.
// At the end, the do-nothing worker (baseline.mjs: one queue send per batch, one Mindbox call per
// event, nothing else, under wrangler's dev server; both without its DevTools relay: see
// tests/support/quiet-dev.mjs) takes the same batches with the same emulator: the
// collector's CPU per batch (accept and deliver) as a ratio to it.
//
// CPU is read from /proc for the workerd processes (user + system time), so it is everything workerd
// does for a batch: the fetch handler (check, enrich, queue send) *and* the queue consumer delivering
// the 50 events to the emulator. Workers' own timers do not advance during CPU work, so the worker
// cannot time itself. Each batch is a new device's first, `fresh` as the tracker sends it. Each
// worker is warmed before it is measured, as a busy one is (`warmUp`: every Durable Object shard a
// batch may reach is started).
import { randomUUID } from "node:crypto";
import { startStack, waitFor, timedFetch } from "../support/stack.mjs";
import { startBaseline } from "./baseline.mjs";
import { cpuMeter } from "./cpu.mjs";

const BATCHES = Number(process.argv[2] || 200);
const CONCURRENCY = Number(process.argv[3] || 8);
const PER_BATCH = 50;
/** The collector's `SEEN` shards (`store::seen::SHARDS`). */
const SEEN_SHARDS = 256;
const NODES = Number(process.argv[4] || 1);
/** Rounds of the pipeline and the do-nothing worker, alternating; the ratio printed is their median. */
const ROUNDS = Number(process.argv[5] || 5);

const batch = () => ({
  deviceUUID: randomUUID(),
  fresh: true,
  events: Array.from({ length: PER_BATCH }, (_, i) => ({
    id: randomUUID(),
    operation: "Website.ViewProduct",
    createdAt: Date.now(),
    data: { viewProduct: { product: { ids: { website: String(1000 + i) } }, price: 1990 } },
  })),
});

/** Which runtime runs the collector (`COLLECTOR_PROFILE`: cloudflare, the default, or self-hosted). */
const profile = process.env.COLLECTOR_PROFILE || "cloudflare";
console.log(`profile: ${profile}${profile === "self-hosted" ? `, ${NODES} node(s) on one PostgreSQL` : ""}`);
// One machine plays every shopper: the rate limits (events per IP and device) out of the way.
const settings = {
  profile,
  nodes: NODES,
  // Without wrangler's DevTools relay (tests/support/quiet-dev.mjs), as the do-nothing worker.
  inspector: false,
  vars: { MINDBOX_RATE_LIMIT_PER_MINUTE: "1000000" },
  config: (toml) => toml.replace(/simple = \{ limit = \d+, period = 60 \}/g, "simple = { limit = 1000000, period = 60 }"),
};
let stack = await startStack(settings);
/** The shop's origin (the same in every stack: the collector allows it). */
let origin = stack.shopUrl;
try {
  let turn = 0;
  /** When each batch (by its device) was answered 202 (ms since the epoch). */
  const answeredAt = new Map();
  const send = async (b, url = stack.nodes[turn++ % stack.nodes.length].url) => {
    const post = () =>
      timedFetch(`${url}/v1/events`, {
        method: "POST",
        // A client address per batch (the self-hosted proxy's header), as many shoppers would have.
        headers: { origin, "content-type": "text/plain", "x-real-ip": `10.78.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250) + 1}` },
        body: JSON.stringify(b),
        // The do-nothing worker's local queue can hold a send back for seconds in a burst.
        timeoutMs: 60000,
      });
    const res = await post();
    if (res.status !== 202) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
    answeredAt.set(b.deviceUUID, Date.now());
  };
  /**
   * Warms a collector just started, as one that has run for a while is: JIT, wasm, and every
   * Durable Object a batch may reach. A fresh batch is recorded on its device's `SEEN` shard (one of
   * 256, by the FNV-1a hash of the device id, as `expiry::shard_of` picks it): one one-event batch
   * per shard starts them all. Without this, a round of 200 new devices on a collector just started
   * pays for starting about half the shards, which a busy collector pays once. The do-nothing
   * worker (`url`) takes the same warm-up.
   */
  const warmUp = async (url) => {
    const fnv = (s) => {
      let h = 0x811c9dc5;
      for (const b of Buffer.from(s)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
      return h;
    };
    const devices = new Map();
    while (devices.size < SEEN_SHARDS) {
      const device = randomUUID();
      devices.set(fnv(device) % SEEN_SHARDS, device);
    }
    const bodies = [...devices.values()].map((deviceUUID) => ({ ...batch(), deviceUUID, events: batch().events.slice(0, 1) }));
    for (let i = 0; i < 5; i++) bodies.push(batch());
    await sendAll(bodies, url);
    const events = SEEN_SHARDS + 5 * PER_BATCH;
    await waitFor("warm-up delivery", async () => (await stack.emulator.count()).accepted >= events, { timeoutMs: 120000 });
    await stack.emulator.reset();
  };
  /** Sends every body with `CONCURRENCY` senders; resolves when all were answered 202. */
  const sendAll = async (bodies, url) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < bodies.length) await send(bodies[next++], url);
      }),
    );
  };
  await warmUp();

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
  origin = stack.shopUrl;
  await warmUp();

  // Then, ROUNDS times, the whole pipeline (accept, queue, deliver to the emulator) and the do-nothing
  // worker with the same emulator (the collector stopped meanwhile: the CPU meter counts every workerd):
  // rounds alternate, so that what the machine does meanwhile weighs on both alike.
  const total = BATCHES * PER_BATCH;
  const ratios = [];
  for (let round = 1; round <= ROUNDS; round++) {
    if (round > 1) {
      await stack.startCollector();
      await warmUp();
    }
    answeredAt.clear();
    const bodies = Array.from({ length: BATCHES }, batch);
    const meter = cpuMeter();
    const t0 = performance.now();
    await sendAll(bodies);
    const tAccepted = performance.now();
    await waitFor("every event at the emulator", async () => (await stack.emulator.count()).accepted >= total, {
      timeoutMs: 600000,
      intervalMs: 50,
    });
    const tDelivered = performance.now();
    const cpu = meter();
    const { accepted, attempts } = await stack.emulator.count();
    console.log(`round ${round} of ${ROUNDS}: ${BATCHES} batches x ${PER_BATCH} events, ${CONCURRENCY} concurrent senders`);
    console.log(`pipeline accepted:     ${Math.round(total / ((tAccepted - t0) / 1000))} events/s`);
    console.log(`delivered to Mindbox:  ${Math.round(total / ((tDelivered - t0) / 1000))} events/s end to end (${accepted} delivered, ${attempts} calls)`);
    console.log(`workerd CPU:           ${(cpu / BATCHES).toFixed(1)} ms per 50-event batch (accept + deliver), ${((cpu * 1000) / total).toFixed(0)} µs per event`);
    const reqs = await (await timedFetch(`${stack.emulatorUrl}/__emulator/requests`)).json();
    const lat = reqs.map((q) => q.receivedAt - answeredAt.get(q.deviceUUID)).filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
    console.log(`202 → Mindbox:         p50 ${lat[Math.floor(lat.length * 0.5)]} ms, p99 ${lat[Math.floor(lat.length * 0.99)]} ms (each event, from its batch's answer to its call)`);

    await stack.stopCollector();
    await stack.emulator.reset();
    const baseline = await startBaseline({ mindbox: { url: stack.emulatorUrl, endpointId: stack.endpointId, secretKey: stack.secretKey } });
    try {
      await warmUp(baseline.url);
      const m = cpuMeter();
      await sendAll(Array.from({ length: BATCHES }, batch), baseline.url);
      await waitFor("every event of the do-nothing worker at the emulator", async () => (await stack.emulator.count()).accepted >= total, { timeoutMs: 600000, intervalMs: 50 });
      const base = m() / BATCHES;
      ratios.push(cpu / BATCHES / base);
      console.log(`do-nothing worker:     ${base.toFixed(1)} ms workerd CPU per 50-event batch (queue, one Mindbox call per event); the collector (accept + deliver): ${(cpu / BATCHES / base).toFixed(2)}× that`);
    } catch (e) {
      // Under `wrangler dev` its local queue now and then stops taking sends for good in a burst (seen
      // after self-hosted rounds: a send and its resend both unanswered): the round has no ratio.
      if (!/no answer within/.test(e.message)) throw e;
      console.log(`do-nothing worker:     stopped answering (${e.message}); no ratio for round ${round}`);
    } finally {
      await baseline.stop();
      await stack.emulator.reset();
    }
  }
  const sorted = ratios.slice().sort((a, b) => a - b);
  console.log(
    ratios.length
      ? `the collector against the do-nothing worker, ${ratios.length} of ${ROUNDS} alternating rounds: median ${sorted[sorted.length >> 1].toFixed(2)}× (each: ${ratios.map((r) => r.toFixed(2)).join(", ")})`
      : `the collector against the do-nothing worker: no round measured`,
  );
} finally {
  await stack?.stop();
}
