// Delivery to Mindbox through the queue, in local workerd: every Mindbox answer class gets its outcome
// (ack, retry, dead letter), dead letters can be redriven, and cart snapshots keep their order.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { useStack, waitFor, PROFILE } from "../support/stack.mjs";
import { view, cart } from "../support/events.mjs";

// A short Mindbox timeout keeps the timeout case quick.
const stack = useStack({ profile: PROFILE, vars: { MINDBOX_TIMEOUT_MS: "1500" } });

/** Consumer invocations so far, from the collector's log (one line per batch taken off the queue). */
const consumerBatches = () => (stack.collectorLog().match(/delivering a batch of \d+/g) || []).length;

test("the consumer holds at most six Mindbox calls at once, and a call's timeout starts when the call does", async () => {
  await stack.emulator.reset();
  // Each call takes 0.5 s, the timeout is 1.5 s (a second's margin for a loaded machine): 30 events in
  // waves of six take 2.5 s, and an event whose timeout started while it waited for a connection (the
  // fourth and fifth waves) would time out and be retried.
  await stack.emulator.latency(500);
  const batchesBefore = consumerBatches();
  try {
    const events = Array.from({ length: 30 }, () => view());
    await stack.send(events, randomUUID());
    await waitFor("30 events at the emulator", async () => (await stack.emulator.count()).accepted >= 30, { timeoutMs: 60000 });
    const { maxInFlight, attempts } = await stack.emulator.count();
    // The cap is per consumer invocation (the platform's is): the queue may hand the 30 messages to
    // more than one (a first message alone, then the rest), and those run side by side.
    // wrangler's log of the batches may lag behind the calls, so at least two batches are allowed for.
    const batches = Math.max(consumerBatches() - batchesBefore, 2);
    assert.ok(maxInFlight <= 6 * batches, `${maxInFlight} Mindbox calls at once from ${batches} consumer batches`);
    assert.ok(maxInFlight < 30 && maxInFlight >= 2, `calls run side by side, but not all at once (${maxInFlight})`);
    assert.equal(attempts, 30, "no call timed out waiting for a connection");
  } finally {
    await stack.emulator.latency(0);
    await stack.drain();
  }
});

for (const [name, failure] of [
  ["500 InternalServerError", { status: 500 }],
  ["503 with Retry-After", { status: 503, retryAfter: 1 }],
  ["502 bad gateway", { status: 502 }],
  ["504 gateway timeout", { status: 504 }],
  ["429 rate limit", { status: 429, retryAfter: 1 }],
  ["no answer (timeout)", { mode: "timeout", ms: 4000 }],
  ["408 request timeout", { status: 408, body: "" }],
  ["200 with an empty body (not a verdict)", { status: 200, body: "" }],
  ["200 with an HTML page from a proxy", { status: 200, body: "<html><body>Service temporarily unavailable</body></html>" }],
]) {
  test(`${name}: retried, then delivered exactly once`, async () => {
    await stack.emulator.reset();
    await stack.emulator.fail({ count: 1, ...failure });
    const event = view();
    await stack.send([event]);
    await waitFor("the retried event", async () => (await stack.accepted(event.id)).length === 1, { timeoutMs: 30000 });
    const tries = await stack.attemptsOf(event.id);
    assert.equal(tries.length, 2, JSON.stringify(tries.map((t) => t.answer)));
    assert.equal(tries[1].answer, "Success");
    // Nothing more comes for it later.
    await stack.drain();
    assert.equal((await stack.accepted(event.id)).length, 1);
  });
}

for (const [name, failure, reason] of [
  ["200 ValidationError", { mode: "validation" }, /ValidationError.*emulated validation error/],
  ["400 ProtocolError", { status: 400 }, /HTTP 400/],
  ["401 no key", { status: 401 }, /HTTP 401/],
  ["403 wrong key", { status: 403 }, /HTTP 403/],
  ["404 wrong URL", { status: 404 }, /HTTP 404/],
]) {
  test(`${name}: dead-lettered with the reason, not retried`, async () => {
    await stack.emulator.reset();
    await stack.emulator.fail({ count: 1, ...failure });
    const event = view();
    await stack.send([event]);
    const letter = await waitFor("the dead letter", async () =>
      (await stack.deadLetters()).find((l) => l.delivery?.event.id === event.id),
    );
    assert.match(letter.reason, reason);
    assert.equal(letter.delivery.event.operation, "Website.ViewProduct");
    await stack.drain();
    assert.equal((await stack.attemptsOf(event.id)).length, 1, "tried once");
    assert.equal((await stack.accepted(event.id)).length, 0);
  });
}

test("a Success or TransactionAlreadyProcessed body is an ack whatever the HTTP status", async () => {
  await stack.emulator.reset();
  await stack.emulator.fail({ count: 1, status: 500, body: '{"status":"TransactionAlreadyProcessed"}' });
  await stack.emulator.fail({ count: 1, status: 202, body: '{"status":"Success"}' });
  const events = [view(), view()];
  await stack.send(events);
  // Wait for both to be tried before draining: the sentinel must not take one of the failures.
  await waitFor("both events tried", async () => (await Promise.all(events.map((e) => stack.attemptsOf(e.id)))).every((a) => a.length === 1));
  await stack.drain();
  for (const e of events) assert.equal((await stack.attemptsOf(e.id)).length, 1, "tried once, not retried");
  const letters = await stack.deadLetters();
  assert.ok(!letters.some((l) => events.some((e) => e.id === l.key)), "not dead-lettered");
});

test("a Retry-After beyond the queue's longest delay is capped, not an error", async () => {
  await stack.emulator.reset();
  const before = (await stack.admin("counters")).retried || 0;
  await stack.emulator.fail({ count: 1, status: 503, retryAfter: 10 * 86400 });
  const event = view();
  await stack.send([event]);
  await waitFor("the retry to be scheduled", async () => ((await stack.admin("counters")).retried || 0) > before);
  await stack.drain();
  assert.equal((await stack.attemptsOf(event.id)).length, 1, "waiting (12 hours at most), not retried at once");
  assert.ok(!(await stack.deadLetters()).some((l) => l.key === event.id), "not dead-lettered");
  assert.doesNotMatch(stack.collectorLog(), /delay|DelaySeconds/i);
});

test("a redriven dead letter is delivered and leaves the list", async () => {
  await stack.emulator.reset();
  await stack.emulator.fail({ count: 1, status: 403 });
  const event = view();
  await stack.send([event]);
  await waitFor("the dead letter", async () => (await stack.deadLetters()).some((l) => l.key === event.id));
  const answer = await stack.admin("dead-letters/redrive", { ids: [event.id] });
  assert.deepEqual(answer.redriven, [event.id]);
  await waitFor("the redriven event", async () => (await stack.accepted(event.id)).length === 1);
  assert.ok(!(await stack.deadLetters()).some((l) => l.key === event.id));
  const counters = await stack.admin("counters");
  assert.ok(counters.redriven >= 1 && counters.dead_lettered >= 1 && counters.delivered >= 1, JSON.stringify(counters));
});

test("stale cart: an older SetCart whose first delivery failed is never sent after a newer one", async () => {
  await stack.emulator.reset();
  const device = randomUUID();
  const t = Date.now();
  const older = cart(1, { createdAt: t, price: 100 });
  const newer = cart(2, { createdAt: t + 1000, price: 100 });
  // Mindbox asks the older cart to come back in 3 s: by then the newer one has been delivered.
  await stack.emulator.fail({ count: 1, status: 503, retryAfter: 3 });
  await stack.send([older], device);
  await waitFor("the older cart's failed attempt", async () => (await stack.attemptsOf(older.id)).length === 1);
  await stack.send([newer], device);
  await waitFor("the newer cart", async () => (await stack.accepted(newer.id)).length === 1);
  await waitFor("the older cart to be superseded", async () => (await stack.admin("counters")).superseded >= 1, {
    timeoutMs: 30000,
  });
  await stack.drain();
  const carts = (await stack.emulator.requests()).filter((q) => q.operation === "Website.SetCart");
  assert.deepEqual(carts.map((q) => q.transactionId), [newer.id], "Mindbox's final cart is the newer one");
  assert.equal((await stack.attemptsOf(older.id)).length, 1, "the older cart was never sent again");
});

test("stale cart: two snapshots that both fail first still end in the newer state", async () => {
  await stack.emulator.reset();
  const device = randomUUID();
  const t = Date.now();
  const a = cart(1, { createdAt: t });
  const b = cart(2, { createdAt: t + 1 });
  await stack.emulator.fail({ count: 2, status: 500 });
  await stack.send([b, a], device); // out of order in the batch, too
  await waitFor("the newer cart", async () => (await stack.accepted(b.id)).length === 1, { timeoutMs: 30000 });
  await stack.drain();
  const carts = (await stack.emulator.requests()).filter((q) => q.operation === "Website.SetCart");
  assert.equal(carts.at(-1).transactionId, b.id, "the last cart Mindbox took is the newer one");
  const sentAfterB = (await stack.emulator.attempts()).slice(
    (await stack.emulator.attempts()).findIndex((q) => q.transactionId === b.id && q.answer === "Success") + 1,
  );
  assert.ok(!sentAfterB.some((q) => q.transactionId === a.id), "the older cart was not sent after the newer one");
});
