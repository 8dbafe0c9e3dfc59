// Mindbox's per-operation rate limit, in its own stack with a budget of 2 calls a minute: what is
// over the budget waits on the queue for the next minute, and still arrives exactly once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { useStack, waitFor, PROFILE } from "../support/stack.mjs";
import { event } from "../support/events.mjs";

const stack = useStack({ profile: PROFILE, vars: { MINDBOX_RATE_LIMIT_PER_MINUTE: "2" } });

test("over Mindbox's per-minute budget: the rest waits for the next minute, then arrives once", async () => {
  const minute = () => Math.floor(Date.now() / 60000);
  const events = Array.from({ length: 3 }, (_, i) => event("Website.ViewCategory", { viewProductCategory: { productCategory: { ids: { website: String(i) } } } }));
  const before = minute();
  await stack.send(events, randomUUID());
  const ids = events.map((e) => e.id);
  const arrived = async () =>
    (await stack.emulator.requests()).filter((q) => ids.includes(q.transactionId));

  await waitFor("two of the three events at Mindbox", async () => (await arrived()).length >= 2);
  const counters = await waitFor("the third counted as rate limited", async () => {
    const c = await stack.admin("counters");
    return c.rate_limited >= 1 && c;
  });
  assert.ok(counters.rate_limited >= 1, JSON.stringify(counters));

  const all = await waitFor("the third event, a minute later", async () => {
    const a = await arrived();
    return a.length >= 3 && a;
  }, { timeoutMs: 90000, intervalMs: 500 });
  // The budget is per calendar minute: the third cannot have gone in the minute the batch was posted
  // (the first two took that minute's budget, or the next one's if the minute turned meanwhile).
  assert.ok(minute() > before, "the third waited for a later minute");
  assert.deepEqual(all.map((q) => q.transactionId).sort(), ids.slice().sort(), "each exactly once");
  // Nothing more follows: a budget never makes an event arrive twice.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await arrived()).length, 3);
});
