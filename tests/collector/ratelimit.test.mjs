// The rate limits, in their own stack (they spend whole minutes' budgets): they count events, not
// requests, per device and per client IP, an IPv6 client by its /64; and one address creates only so
// many devices a minute, also from batches that say they are fresh.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { useStack, waitFor, startOfAMinute, PROFILE } from "../support/stack.mjs";
import { event, view } from "../support/events.mjs";

const stack = useStack({ profile: PROFILE });

/**
 * Posts `n` events from `device` and `ip`. X-Real-IP is what the self-hosted profile's TLS proxy sets
 * (Cloudflare sets CF-Connecting-IP; under `wrangler dev` every request is from 127.0.0.1). The
 * events' operation is not allowed, so they are counted and rejected, and nothing is queued.
 */
function post(n, { device = randomUUID(), ip = "198.51.100.9" } = {}) {
  const events = Array.from({ length: n }, () => event("Admin.NotAllowed", {}));
  return stack.post({ deviceUUID: device, events }, { headers: { "x-real-ip": ip } });
}

/**
 * Full batches until one is refused; how many were let through. The limits are fixed one-minute
 * windows, so a run that crossed into the next minute would count two: with less than 20 s of this
 * minute left (a run takes a few seconds), it starts with the next one.
 */
async function batchesUntilLimited(options) {
  await startOfAMinute();
  for (let sent = 0; sent < 60; sent++) {
    const r = await post(100, typeof options === "function" ? options() : options);
    if (r.status === 429) {
      assert.equal(r.headers.get("retry-after"), "60");
      return sent;
    }
    assert.equal(r.status, 422, `batch ${sent + 1}`);
  }
  assert.fail("no 429 within 60 full batches");
}

test("a device's limit counts its events: three full batches a minute, not 120 of them", async () => {
  const device = randomUUID();
  assert.equal(await batchesUntilLimited({ device, ip: "198.51.100.7" }), 3);
  // Another device on the same address is not held back by this one.
  assert.equal((await post(1, { ip: "198.51.100.7" })).status, 422);
  const counters = await waitFor("the refusal counted", async () => {
    const c = await stack.admin("counters");
    return c["rejected.rate_limited"] >= 1 && c;
  });
  assert.equal(counters.accepted, undefined, JSON.stringify(counters));
});

test("an IP's limit counts its events: 3 000 a minute, whatever the number of devices", async () => {
  // Under wrangler dev every request is from 127.0.0.1, which the first test already spent 401 of.
  const before = PROFILE === "self-hosted" ? 0 : 4;
  const let_through = await batchesUntilLimited(() => ({ ip: "198.51.100.9" }));
  assert.ok(let_through >= 26 - before && let_through <= 30, `${let_through} full batches let through`);
  assert.equal((await post(1, { ip: "198.51.100.9" })).status, 429, "then a one-event request is refused too");
});

test("an IPv6 client is one client across its /64", { skip: PROFILE !== "self-hosted" && "only the self-hosted proxy takes the client address from X-Real-IP" }, async () => {
  assert.equal(await batchesUntilLimited(() => ({ ip: "2001:db8:5:6::1" })), 30);
  assert.equal((await post(1, { ip: "2001:db8:5:6:ffff::9" })).status, 429, "another address of the same /64");
  assert.equal((await post(1, { ip: "2001:db8:5:7::1" })).status, 422, "the next /64 is another client");
});

test("fresh batches from new devices are queued, but one address creates at most 600 devices a minute", async () => {
  // A minute of its own: under wrangler dev, the tests above spent this one's budget of the address.
  await startOfAMinute(61000);
  const ip = "198.51.100.79";
  let accepted = 0;
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < 620) {
      next += 1;
      const r = await stack.post({ deviceUUID: randomUUID(), fresh: true, events: [view()] }, { headers: { "x-real-ip": ip } });
      if (r.status === 202) accepted += 1;
    }
  }));
  // Answered before the device is looked up: every event is accepted and queued.
  assert.equal(accepted, 620);
  // After the answers, the 20 devices over the address's creation limit are not kept.
  const counters = await waitFor("the records after the answers", async () => {
    const c = await stack.admin("counters");
    return c.device_not_kept >= 20 && c;
  }, { timeoutMs: 60000, intervalMs: 500 });
  assert.equal(counters.device_not_kept, 20, JSON.stringify(counters));
});
