// The ledger spread over its shards: counters stay exact under concurrent senders, dead letters are
// paged with a cursor, and past DEAD_LETTER_CAP the oldest are evicted and counted.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { useStack, waitFor, PROFILE } from "../support/stack.mjs";
import { view } from "../support/events.mjs";

/** 64 letters in all: two per shard (the ledger has 32). */
const CAP = 64;
const stack = useStack({ profile: PROFILE, vars: { DEAD_LETTER_CAP: String(CAP) } });

/** Every page of dead letters, `limit` at a time. */
async function allPages(limit) {
  const letters = [];
  let cursor;
  for (let pages = 0; pages < 100; pages++) {
    const page = await stack.admin(`dead-letters?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    assert.ok(page.deadLetters.length <= limit);
    letters.push(...page.deadLetters);
    if (!page.next) return letters;
    cursor = page.next;
  }
  assert.fail("more than 100 pages");
}

test("counters stay exact under concurrent senders: accepted and delivered match what Mindbox saw", async () => {
  await stack.emulator.reset();
  const before = await stack.admin("counters");
  // Eight senders, five batches of twenty events each, all at once.
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      const device = randomUUID();
      for (let i = 0; i < 5; i++) await stack.send(Array.from({ length: 20 }, () => view()), device);
    }),
  );
  // (The self-hosted queue's shards deliver independently: a drain's sentinel proves nothing there.)
  await waitFor("800 events at Mindbox", async () => (await stack.emulator.count()).accepted >= 800, { timeoutMs: 60000 });
  const grew = (c, name) => (c[name] || 0) - (before[name] || 0);
  const counters = await waitFor("the counters to catch up", async () => {
    const c = await stack.admin("counters");
    return grew(c, "delivered") >= 800 && c;
  });
  assert.equal((await stack.emulator.count()).accepted, 800);
  assert.equal(grew(counters, "accepted"), 800);
  assert.equal(grew(counters, "delivered"), 800);
  assert.equal(grew(counters, "dead_lettered"), 0);
});

test("dead letters: paged with a cursor across the shards, and past the cap the oldest are evicted and counted", async () => {
  await stack.emulator.reset();
  const before = await stack.admin("counters");
  // 100 events Mindbox refuses (ValidationError): each becomes a dead letter.
  await stack.emulator.fail({ count: 100, mode: "validation" });
  const events = Array.from({ length: 100 }, () => view());
  for (let i = 0; i < 100; i += 25) await stack.send(events.slice(i, i + 25), randomUUID());
  const grew = (c, name) => (c[name] || 0) - (before[name] || 0);
  const counters = await waitFor("100 dead letters counted", async () => {
    const c = await stack.admin("counters");
    return grew(c, "dead_lettered") >= 100 && c;
  }, { timeoutMs: 60000 });
  assert.equal(grew(counters, "dead_lettered"), 100);
  const kept = await allPages(7);
  const keys = kept.map((l) => l.key);
  assert.equal(new Set(keys).size, keys.length, "no letter listed twice across pages");
  assert.ok(kept.length <= CAP, `${kept.length} letters kept, over the cap of ${CAP}`);
  const evicted = (await stack.admin("counters")).dead_letters_evicted || 0;
  assert.equal(kept.length + evicted, 100, `kept ${kept.length} + evicted ${evicted}`);
  assert.ok(keys.every((k) => events.some((e) => e.id === k)));
  // One page with no limit holds them all, and "redrive all" takes them all back.
  assert.equal((await stack.deadLetters()).length, kept.length);
  const redriven = await stack.admin("dead-letters/redrive", { all: true });
  assert.equal(redriven.redriven.length, kept.length);
  assert.equal(redriven.more, false);
  assert.deepEqual(await stack.deadLetters(), []);
  await waitFor("the redriven letters at Mindbox", async () => (await stack.emulator.count()).accepted >= kept.length, { timeoutMs: 60000 });
});
