// The per-IP rate limit, in its own stack (it spends a whole minute's budget for 127.0.0.1).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { startStack, waitFor, timedFetch, PROFILE } from "../stack.mjs";

let stack;
before(async () => {
  stack = await startStack({ profile: PROFILE });
}, { timeout: 180000 });
after(async () => {
  await stack?.stop();
}, { timeout: 60000 });

test("too many requests from one client IP get 429 with Retry-After, nothing enqueued", async () => {
  const post = (events) =>
    timedFetch(`${stack.collectorUrl}/v1/events`, {
      method: "POST",
      // X-Real-IP is what the self-hosted profile's TLS proxy sets (Cloudflare sets CF-Connecting-IP).
      headers: { origin: stack.shopUrl, "content-type": "text/plain", "x-real-ip": "198.51.100.9" },
      // A new device each time, so only the IP limit (600/min) can stop it, not the device one.
      body: JSON.stringify({ deviceUUID: randomUUID(), events }),
    });
  let limited;
  let sent = 0;
  while (!limited && sent < 800) {
    const batch = await Promise.all(Array.from({ length: 20 }, () => post([])));
    sent += batch.length;
    for (const r of batch) {
      if (r.status === 429) limited = r;
      else assert.equal(r.status, 202);
      await r.arrayBuffer();
    }
  }
  assert.ok(limited, `no 429 within ${sent} requests`);
  assert.ok(sent > 500, `limited after only ${sent} requests`);
  assert.equal(limited.headers.get("retry-after"), "60");
  const r = await post([{ id: randomUUID(), operation: "Website.ViewProduct", data: {} }]);
  assert.equal(r.status, 429);
  // The collector counts each request's outcome in one ledger write: once the refused ones are
  // counted, an accepted event would have been counted with them.
  const counters = await waitFor("the refusals counted", async () => {
    const c = await stack.admin("counters");
    return c["rejected.rate_limited"] >= 2 && c;
  });
  assert.equal(counters.accepted, undefined, JSON.stringify(counters));
});
