// What one client can make the self-hosted collector keep, and what it keeps without a client IP: a
// device's state (its row, seen ids, snapshot-order slots in PostgreSQL) is gone after DEVICE_STATE_SECONDS, one address
// creates only so many devices a minute, and a request without the proxy's client-IP header is
// refused (the rate limits could not hold) with the reason in /v1/admin/health.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { useStack, waitFor, startOfAMinute } from "../support/stack.mjs";
import { cart } from "../support/events.mjs";

/** Long enough for 5 000 devices to be accepted before the first is forgotten. */
const TTL_SECONDS = 60;
// As behind a TLS proxy: a request has a client IP only when X-Real-IP says so.
const stack = useStack({ profile: "self-hosted", proxyless: false, vars: { DEVICE_STATE_SECONDS: String(TTL_SECONDS) } });
const post = (body, headers) => stack.post(body, { headers });

/** The per-device state kept in PostgreSQL: rows of devices, their seen ids and snapshot slots. */
async function kept() {
  const [devices, seen, slots] = (await stack.postgres.sql(
    "SELECT (SELECT count(*) FROM devices) || ',' || (SELECT count(*) FROM seen) || ',' || (SELECT count(*) FROM slots WHERE name NOT LIKE 'order:%')",
  )).split(",").map(Number);
  return { devices, seen, slots, rows: devices + seen + slots };
}

/** Runs `task(i)` for i in 0..n, `width` at a time. */
async function pool(n, width, task) {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) await task(next++);
  }));
}

test("without the proxy's client IP a browser request is refused (503) and health says why", async () => {
  for (const headers of [{}, { "x-real-ip": "unknown" }, { "x-real-ip": "198.51.100.1; drop" }]) {
    const r = await post({ deviceUUID: randomUUID(), events: [cart()] }, headers);
    assert.equal(r.status, 503, `${JSON.stringify(headers)}: ${r.text}`);
    assert.equal(JSON.parse(r.text).error, "client_ip_unknown");
    assert.equal(r.headers.get("retry-after"), "60");
  }
  const health = await stack.admin("health");
  assert.equal(health.ok, false);
  assert.match(health.problem, /client IP|X-Real-IP/);
  assert.equal((await post({ deviceUUID: randomUUID(), events: [cart()] }, { "x-real-ip": "198.51.100.1" })).status, 202);
  assert.deepEqual((await stack.drain()).filter((q) => q.operation === "Website.SetCart").length, 1, "only the request with a client IP reached Mindbox");
});

test("one address creates at most 600 devices a minute, whatever cookies it makes up; a known device is not new", async () => {
  const ip = "198.51.100.77";
  await startOfAMinute();
  const known = randomUUID();
  assert.equal((await post({ deviceUUID: known, events: [cart()] }, { "x-real-ip": ip })).status, 202);
  let created = 1;
  let refused = 0;
  await pool(640, 16, async (i) => {
    // Half of them bring a made-up device cookie: a cookie does not make a device known.
    const device = randomUUID();
    const headers = { "x-real-ip": ip, ...(i % 2 ? { cookie: `mindboxDeviceUUID=${device}` } : {}) };
    const r = await post({ deviceUUID: device, events: [cart()] }, headers);
    if (r.status === 429) refused += 1;
    else created += 1;
  });
  assert.equal(created, 600);
  assert.equal(refused, 41);
  // The device the collector already keeps is not held back, nor is another address.
  const again = await post({ deviceUUID: known, events: [cart()] }, { "x-real-ip": ip });
  assert.equal(again.status, 202, again.text);
  assert.equal((await post({ deviceUUID: randomUUID(), events: [cart()] }, { "x-real-ip": "198.51.100.78" })).status, 202);
});

test("batches that say they are fresh skip the lookup, and still create at most 600 devices a minute from one address", async () => {
  const ip = "198.51.100.79";
  await startOfAMinute();
  const before = (await kept()).devices;
  let accepted = 0;
  await pool(620, 16, async () => {
    const r = await post({ deviceUUID: randomUUID(), fresh: true, events: [cart()] }, { "x-real-ip": ip });
    if (r.status === 202) accepted += 1;
  });
  // Answered before the lookup: all accepted and queued; the devices over the limit are not kept.
  assert.equal(accepted, 620);
  // Every lookup after the answers is done once the 20 over the limit are counted as not kept.
  await waitFor("the lookups after the answers", async () => (await stack.admin("counters")).device_not_kept >= 20, { timeoutMs: 30000, intervalMs: 200 });
  const created = (await kept()).devices - before;
  assert.equal(created, 600);
  assert.equal((await stack.admin("counters")).device_not_kept, 20);
});

test("5 000 fresh devices are rows that go once they expire", async () => {
  await stack.emulator.reset();
  const started = Date.now();
  // 50 addresses, 100 devices each: within the per-address creation limit.
  await pool(5000, 24, async (i) => {
    const r = await post({ deviceUUID: randomUUID(), events: [cart()] }, { "x-real-ip": `10.20.${Math.floor(i / 100)}.1` });
    assert.equal(r.status, 202, r.text);
  });
  const accepting = Date.now() - started;
  await waitFor("5 000 carts at Mindbox", async () => (await stack.emulator.count()).accepted >= 5000, { timeoutMs: 120000, intervalMs: 500 });
  // Each record is written after its batch's answer (`waitUntil`), so it may trail the delivery.
  let full;
  await waitFor("each device's state", async () => {
    full = await kept();
    return full.devices >= 5000 && full.seen >= 5000 && full.slots >= 5000;
  }, { timeoutMs: 60000, intervalMs: 500 }).catch(() => {});
  assert.ok(full.devices >= 5000 && full.seen >= 5000 && full.slots >= 5000, `each device's state is there: ${JSON.stringify(full)}`);
  // The sweep runs about once a minute on each node.
  const expired = await waitFor("the devices' state expired", async () => {
    const now = await kept();
    return now.rows === 0 && now;
  }, { timeoutMs: (TTL_SECONDS + 90) * 1000, intervalMs: 2000 });
  console.log(`# device state: 5 000 devices accepted in ${accepting} ms: ${JSON.stringify(full)}; ${TTL_SECONDS} s after: ${expired.rows} rows`);
});
