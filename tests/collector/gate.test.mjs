// The gate against what the backend, loyalty and QA routes opened, each rule tried as an attacker (or
// an unlucky shop) would: an anonymous cart calculation that smuggles an order, card or coupons; an
// order status resent after a newer one; a backend order whose id a browser used first; browser junk
// that would push an order's dead letter out; a clock years ahead; nesting and oversized admin bodies;
// personal data in log lines; QA's token beyond its device.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { useStack, waitFor, timedFetch, PROFILE } from "../support/stack.mjs";
import { view, cart, status } from "../support/events.mjs";

/** One dead letter of browser events per ledger shard (there are 32): any two on one shard evict. */
const CAP = 32;
const stack = useStack({ profile: PROFILE, vars: { DEAD_LETTER_CAP: String(CAP) } }, { resetEach: true });
/** `{a: {a: … 1}}`, `levels` objects deep. */
const nested = (levels) => {
  let v = 1;
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
};
/** The ledger shard of a dead letter's key (edge-collector/src/store/ledger.rs `shard_of`: FNV-1a). */
function shardOf(key) {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(key)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h % 32;
}

test("an anonymous cart calculation sends Mindbox only the lines, whatever `customer` says", async () => {
  const lines = [{ lineNumber: 1, quantity: 2, basePricePerItem: 4990, product: { ids: { website: "123" } } }];
  const order = { ids: { websiteID: "someone-elses-order" }, discountCard: { ids: { number: "4242" } }, coupons: [{ ids: { code: "SECRET-10" } }], lines };
  const t = stack.ticket("u1");
  for (const customer of [null, {}, { firstName: "Mallory" }, { authenticationTicket: t }, { Customer: null }]) {
    for (const operation of ["Website.CalculateUnauthorizedCart", "Website.CalculateAuthorizedCart"]) {
      const r = await stack.sync({ operation, data: { customer, order } });
      assert.equal(r.status, 200, `${JSON.stringify(customer)}: ${r.text}`);
      const sent = (await stack.emulator.attempts()).filter((a) => a.path === "/v3/operations/sync").at(-1);
      assert.deepEqual(sent.body, { order: { lines } }, `${operation} with customer ${JSON.stringify(customer)}`);
    }
  }
  // With a valid ticket for the customer it names, someone else's card under the order is still not
  // vouched for: refused, and nothing reaches Mindbox.
  const before = (await stack.emulator.attempts()).length;
  const own = await stack.sync({ operation: "Website.CalculateAuthorizedCart", data: { customer: { ids: { websiteID: "u1" }, authenticationTicket: t }, order: { DiscountCard: { ids: { number: "4242" } }, lines } } });
  assert.equal(own.status, 403, own.text);
  assert.match(own.text, /discount card/);
  assert.equal((await stack.emulator.attempts()).length, before);
});

test("an order status resent after a newer one keeps its first place: Mindbox ends at the newer", async () => {
  const orderId = `o-${randomUUID().slice(0, 8)}`;
  const x = status(orderId, "Paid");
  const y = status(orderId, "Delivered");
  const tries = async (value) =>
    (await stack.emulator.attempts()).filter((a) => a.operation === "Website.UpdateOrderStatus" && a.body?.order?.ids?.websiteID === orderId && a.body.orderLinesStatus === value);
  const [rx] = (await stack.backend({ operations: [x] })).json.results;
  await waitFor("status X at Mindbox", async () => (await tries("Paid")).some((a) => a.answer === "Success"), { timeoutMs: 30000 });
  // Y's first try fails; before its retry, the backend sends X again, unchanged (its own retry).
  await stack.emulator.fail({ count: 1, status: 503, retryAfter: 3 });
  assert.equal((await stack.backend({ operations: [y] })).status, 202);
  await waitFor("status Y's failed try", async () => (await tries("Delivered")).length >= 1, { timeoutMs: 30000 });
  const again = await stack.backend({ operations: [x] });
  assert.equal(again.status, 202);
  await waitFor("status Y at Mindbox", async () => (await tries("Delivered")).some((a) => a.answer === "Success"), { timeoutMs: 30000 });
  await stack.drain();
  const last = (await stack.emulator.attempts())
    .filter((a) => a.operation === "Website.UpdateOrderStatus" && a.body?.order?.ids?.websiteID === orderId)
    .at(-1);
  assert.equal(last.body.orderLinesStatus, "Delivered", "Mindbox's last word on the order is Y");
  assert.equal(again.json.results[0].transactionId, rx.transactionId, "the same id gives the same transactionId");
});

test("a backend order never shares a transactionId with a browser event, and its retries keep theirs", async () => {
  const u = randomUUID();
  assert.equal((await stack.post({ deviceUUID: randomUUID(), events: [view({ id: u })] })).status, 202);
  await waitFor("the browser event at Mindbox", async () => (await stack.attemptsOf(u)).length === 1);
  const order = {
    id: u,
    operation: "Website.CreateAuthorizedOrder",
    data: { customer: { ids: { websiteID: "u1" } }, order: { ids: { websiteID: `o-${u.slice(0, 8)}` }, lines: [] } },
  };
  const r = await stack.backend({ operations: [order] });
  assert.equal(r.status, 202, r.text);
  const [result] = r.json.results;
  assert.equal(result.id, u, "the backend's own id comes back");
  assert.notEqual(result.transactionId, u);
  assert.match(result.transactionId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  await waitFor("the order processed by Mindbox", async () => (await stack.attemptsOf(result.transactionId)).some((a) => a.answer === "Success"), { timeoutMs: 30000 });
  const retry = await stack.backend({ operations: [order] });
  assert.equal(retry.json.results[0].transactionId, result.transactionId);
  await stack.drain();
  assert.deepEqual((await stack.attemptsOf(u)).map((a) => a.operation), ["Website.ViewProduct"], "the browser's id was never used for the order");
});

test("browser dead letters never evict a backend order's dead letter", async () => {
  await stack.emulator.fail({ count: 1, mode: "validation" });
  const order = { operation: "Website.CreateAuthorizedOrder", data: { order: { ids: { websiteID: `o-${randomUUID().slice(0, 8)}` }, lines: [] } } };
  const [r] = (await stack.backend({ operations: [order] })).json.results;
  const key = r.transactionId ?? r.id;
  const letterOf = (id) => stack.deadLetters(`?ids=${id}`);
  await waitFor("the order's dead letter", async () => (await letterOf(key)).length === 1, { timeoutMs: 30000 });
  // Browser junk past the cap: on Cloudflare, on the order's ledger shard (one letter per shard); in
  // PostgreSQL (the self-hosted profile), the cap is the whole table's, so more junk than the cap.
  const perShard = PROFILE !== "self-hosted";
  const junk = [];
  while (junk.length < (perShard ? 3 : CAP + 3)) {
    const id = randomUUID();
    if (!perShard || shardOf(id) === shardOf(key)) junk.push(id);
  }
  const evicted = async () => (await stack.admin("counters")).dead_letters_evicted ?? 0;
  const before = await evicted();
  await stack.emulator.fail({ count: junk.length, mode: "validation" });
  for (const id of junk) {
    assert.equal((await stack.post({ deviceUUID: randomUUID(), events: [view({ id })] })).status, 202);
    await waitFor(`junk ${id} refused by Mindbox`, async () => (await stack.attemptsOf(id)).length === 1, { timeoutMs: 30000 });
  }
  // The shard (or the table) keeps its cap of browser letters: the junk evicts its own kind.
  const kept = perShard ? 1 : CAP;
  await waitFor("browser letters evicted among themselves", async () => (await evicted()) >= before + junk.length - kept, { timeoutMs: 30000 });
  const [letter] = await letterOf(key);
  assert.ok(letter, "the order's dead letter is still there");
  assert.equal(letter.delivery.backendId, r.id, "the letter names the backend's own id");
  assert.equal((await stack.admin("counters"))["backend.dead_letters_evicted"] ?? 0, 0);
});

test("a clock years ahead in a batch without sentAt does not silence the device's later carts", async () => {
  const device = randomUUID();
  const [a, b] = [randomUUID(), randomUUID()];
  const yearsAhead = Date.now() + 5 * 365 * 24 * 3600 * 1000;
  assert.equal((await stack.post({ deviceUUID: device, events: [cart(1, { id: a, createdAt: yearsAhead })] })).status, 202);
  const now = Date.now();
  assert.equal((await stack.post({ deviceUUID: device, sentAt: now, events: [cart(2, { id: b, createdAt: now })] })).status, 202);
  // The later cart may wait on the queue while the first is in flight: wait for it, then for the rest.
  await waitFor("the later cart at Mindbox", async () => (await stack.acceptedCounts([b]))[0] === 1, { timeoutMs: 30000 });
  await stack.drain();
  const carts = (await stack.emulator.requests()).filter((q) => [a, b].includes(q.transactionId)).map((q) => q.transactionId);
  assert.equal(carts.at(-1), b, `the later cart is Mindbox's last (sent: ${JSON.stringify(carts)})`);
});

test("nesting and sizes are capped on every route: backend and sync data, admin bodies, a redrive's ids", async () => {
  const deep = { operation: "Website.CreateAuthorizedOrder", data: { order: nested(70) } };
  const r = await stack.backend({ operations: [deep] });
  assert.equal(r.status, 422, r.text);
  assert.equal(r.json.results[0].path, "operations[0].data");
  assert.match(r.json.results[0].reason, /deeper than 64/);
  const s = await stack.sync({ operation: "Website.CalculateUnauthorizedCart", data: { order: nested(70) } });
  assert.equal(s.status, 400, s.text);
  assert.match(s.text, /too_deep/);
  const admin = (path, body) =>
    timedFetch(`${stack.collectorUrl}/v1/admin/${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/json" },
      body,
    });
  const many = await admin("dead-letters/redrive", JSON.stringify({ ids: Array.from({ length: 1001 }, () => randomUUID()) }));
  assert.equal(many.status, 400);
  assert.match(await many.text(), /at most 1000/);
  const huge = await admin("trace", JSON.stringify({ deviceUUID: randomUUID(), hours: 1, pad: "x".repeat(70 * 1024) }));
  assert.equal(huge.status, 413);
  await huge.arrayBuffer();
  assert.deepEqual(await stack.drain(), []);
});

test("dead-letter log lines carry no email or phone; QA's token reads only its own device's letters", async () => {
  const device = randomUUID();
  const id = randomUUID();
  await stack.emulator.fail({ count: 1, mode: "validation", message: "Клиент victim@example.com с телефоном +7 (912) 345-67-89 уже существует" });
  assert.equal((await stack.post({ deviceUUID: device, events: [view({ id })] })).status, 202);
  await waitFor("the dead letter", async () => (await stack.deadLetters(`?ids=${id}`)).length === 1, { timeoutMs: 30000 });
  await waitFor("the dead-letter log line", () => stack.collectorLog().includes(`dead-lettering Website.ViewProduct ${id}`));
  const log = stack.collectorLog();
  assert.ok(!log.includes("victim@example.com") && !log.includes("345-67-89"), "personal data in the collector's log");
  const [letter] = await stack.deadLetters(`?ids=${id}`);
  assert.match(letter.answer, /victim@example.com/, "the ledger (admin only) keeps Mindbox's answer as it was");
  const asQa = async (query) => {
    const r = await timedFetch(`${stack.collectorUrl}/v1/admin/dead-letters?${query}`, { headers: { authorization: `Bearer ${stack.qaToken}`, cookie: `mindboxDeviceUUID=${device}` } });
    return { status: r.status, letters: (await r.json()).deadLetters };
  };
  assert.equal((await asQa(`ids=${id}&device=${device}`)).letters.length, 1);
  assert.equal((await asQa(`ids=${id}&device=${randomUUID()}`)).status, 403, "another device's letter is not QA's to read");
});
