// The shop backend's route, POST /v1/backend/operations: orders and statuses through the same durable
// queue as the browser's events, behind BACKEND_TOKEN.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { useStack, waitFor, postChunked, CHUNKED_413_SKIP, PROFILE } from "../support/stack.mjs";
import { event, order, status } from "../support/events.mjs";

const stack = useStack({ profile: PROFILE }, { resetEach: true });

/** Posts operations; their transactionIds, in order. */
async function send(operations) {
  const r = await stack.backend({ operations });
  assert.equal(r.status, 202, r.text);
  return r.json.results.map((x) => x.transactionId);
}

test("the route needs the bearer token: missing or wrong get 401, nothing is queued", async () => {
  for (const token of [null, "wrong", `${stack.backendToken}x`, stack.backendToken.slice(1)]) {
    const r = await stack.backend({ operations: [order()] }, token);
    assert.equal(r.status, 401, `${token}: ${r.text}`);
    assert.equal(r.json.error, "unauthorized");
  }
  assert.deepEqual(await stack.drain(), []);
  assert.ok(!stack.collectorLog().includes(stack.backendToken), "the token appears in no log line");
});

test("an over-long body without Content-Length (chunked) gets 413 after at most the cap is read", { skip: CHUNKED_413_SKIP }, async () => {
  const r = await postChunked(`${stack.collectorUrl}/v1/backend/operations`, 1024 * 1024 + 20000, {
    authorization: `Bearer ${stack.backendToken}`,
    "content-type": "application/json",
  });
  assert.equal(r.status, 413, r.text);
  assert.equal(r.json.error, "body_too_large");
  assert.deepEqual(await stack.drain(), []);
});

test("an order created through two 503s arrives exactly once, also when the backend sends it again", async () => {
  await stack.emulator.fail({ count: 2, status: 503 });
  const o = order();
  const r = await stack.backend({ operations: [o] });
  assert.equal(r.status, 202, r.text);
  const [{ transactionId: tx }] = r.json.results;
  assert.deepEqual(r.json.results, [{ id: o.id, status: "accepted", transactionId: tx }]);
  await waitFor("the order at Mindbox", async () => (await stack.accepted(tx)).length === 1, { timeoutMs: 30000 });
  // The backend's own retry with the same id is idempotent: the same transactionId, which Mindbox
  // answers with TransactionAlreadyProcessed.
  assert.deepEqual(await send([o]), [tx]);
  await stack.drain();
  const [req] = await stack.accepted(tx);
  assert.equal((await stack.accepted(tx)).length, 1);
  assert.equal(req.operation, "Website.CreateAuthorizedOrder");
  assert.equal(req.body.customer.mobilePhone, "79123456789", "the phone reaches Mindbox in one spelling");
  assert.equal(req.body.order.ids.websiteID, o.data.order.ids.websiteID);
  assert.equal(req.headers.authorization, `SecretKey ${stack.secretKey}`);
  const counters = await stack.admin("counters");
  assert.ok(counters["backend.accepted"] >= 2 && counters["backend.delivered"] >= 1, JSON.stringify(counters));
});

test("an id is made when the backend gives none, and returned", async () => {
  const { id, ...noId } = order();
  const r = await stack.backend({ operations: [noId] });
  assert.equal(r.status, 202, r.text);
  const made = r.json.results[0].id;
  assert.match(made, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  await waitFor("the order at Mindbox", async () => (await stack.accepted(r.json.results[0].transactionId)).length === 1);
});

test("order statuses never go back in time: an older status whose first try failed is not sent after a newer one", async () => {
  const orderId = `o-${randomUUID().slice(0, 8)}`;
  const t = Date.now() - 60000;
  const older = status(orderId, "Paid", { createdAt: t });
  const newer = status(orderId, "Delivered", { createdAt: t + 1000 });
  // Mindbox asks the older status to come back in 3 s: by then the newer one has been delivered.
  await stack.emulator.fail({ count: 1, status: 503, retryAfter: 3 });
  const [olderTx] = await send([older]);
  await waitFor("the older status's failed try", async () => (await stack.emulator.attempts()).some((q) => q.transactionId === olderTx));
  const [newerTx] = await send([newer]);
  await waitFor("the newer status at Mindbox", async () => (await stack.accepted(newerTx)).length === 1, { timeoutMs: 30000 });
  // The older one's retry finds a newer status sent: superseded, never sent.
  await waitFor("the older status superseded", async () => (await stack.admin("counters"))["backend.superseded"] >= 1, { timeoutMs: 30000 });
  // Out of order in one request: sent oldest first by the backend's createdAt, so the newer ends last.
  const o2 = `o-${randomUUID().slice(0, 8)}`;
  const [a, b] = [status(o2, "Paid", { createdAt: t }), status(o2, "Delivered", { createdAt: t + 1000 })];
  const [bTx] = await send([b, a]);
  await waitFor("the newer of the second order", async () => (await stack.accepted(bTx)).length === 1, { timeoutMs: 30000 });
  await stack.drain();
  const sent = (await stack.emulator.requests()).filter((q) => q.operation === "Website.UpdateOrderStatus");
  const last = (id) => sent.filter((q) => q.body.order.ids.websiteID === id).at(-1).body.orderLinesStatus;
  assert.equal(last(orderId), "Delivered");
  assert.equal(last(o2), "Delivered");
  assert.equal((await stack.emulator.attempts()).filter((q) => q.transactionId === olderTx).length, 1, "the older status was never sent again");
});

test("bad operations are rejected one by one with a path and reason; a browser may not send a backend operation", async () => {
  const good = order();
  const r = await stack.backend({
    operations: [
      good,
      { ...order(), operation: "Website.DeleteEverything" },
      { ...order(), id: "not-a-uuid" },
      { ...order(), data: [1] },
      { ...order(), customerIp: "6.6.6.6; drop" },
      { ...order(), extra: true },
    ],
  });
  assert.equal(r.status, 202, r.text);
  assert.deepEqual(
    r.json.results.map((x) => [x.status, x.path ?? null]),
    [["accepted", null], ["rejected", "operations[1].operation"], ["rejected", "operations[2].id"], ["rejected", "operations[3].data"], ["rejected", "operations[4].customerIp"], ["rejected", "operations[5]"]],
  );
  assert.equal((await stack.backend("not json")).status, 400);
  assert.equal((await stack.backend({ operations: Array.from({ length: 101 }, () => order()) })).status, 400);
  const browser = await stack.post({ events: [event("Website.CreateAuthorizedOrder", order().data)] });
  assert.equal(browser.status, 422);
  assert.equal(browser.json.results[0].reason.includes("allowlist"), true);
  const others = await stack.drain();
  assert.deepEqual(others.map((q) => q.transactionId), [r.json.results[0].transactionId], "only the good operation reached Mindbox");
});
