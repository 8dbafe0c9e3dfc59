// A collector broken in its own parts loses no accepted event: break it, send events, restore it,
// and every one arrives at Mindbox exactly once.
//
// On Cloudflare a fixed deploy finds the events still on the queue (they wait minutes to an hour
// apart, for days). Local queues live in memory and a restart empties them, so here the main queue
// gives up at once (`max_retries = 0`): what it gives up on goes through the dead-letter queue into
// the ledger (a Durable Object, kept across the restart), and the operator's "redrive" brings it back.
// That is the path a message takes on Cloudflare, too, when a fix comes later than the retries.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { useStack, waitFor } from "../support/stack.mjs";
import { view, cart } from "../support/events.mjs";

/** The main queue dead-letters on its first retry (see above). */
const givesUpAtOnce = (toml) => {
  const out = toml.replace(/max_retries = 100\nretry_delay = 1\n/, "max_retries = 0\nretry_delay = 1\n");
  assert.notEqual(out, toml, "wrangler.toml's main queue settings changed: update this test");
  return out;
};
/** Also, the snapshot-order Durable Object is unreachable (bound to a worker that is not running). */
const snapshotObjectDown = (toml) => {
  const out = givesUpAtOnce(toml).replace(
    '{ name = "SNAPSHOT_ORDER", class_name = "SnapshotOrder" }',
    '{ name = "SNAPSHOT_ORDER", class_name = "SnapshotOrder", script_name = "mindbox-edge-not-running" }',
  );
  assert.match(out, /mindbox-edge-not-running/, "wrangler.toml's SNAPSHOT_ORDER binding changed: update this test");
  return out;
};

/** The collector's settings by name; each test asks for the ones it needs, whatever ran before it. */
const SETTINGS = {
  malformed: { vars: { MINDBOX_TIMEOUT_MS: "ten seconds" }, config: givesUpAtOnce },
  snapshotObjectDown: { config: snapshotObjectDown },
  fixed: { config: givesUpAtOnce },
};
const stack = useStack(SETTINGS.malformed);
let current = "malformed";

/** Posts `events` (from a new device unless `deviceUUID`); each must be accepted. */
const post = (events, deviceUUID = randomUUID()) => stack.sendAccepted(events, deviceUUID);
/** A cart snapshot made now. */
const cartNow = (n) => cart(n, { createdAt: Date.now(), price: 100 });
const letters = async () => stack.admin("dead-letters");
/** Runs the collector with the named settings, restarting it (its Durable Objects kept) unless it runs them. */
const use = async (name) => {
  if (current === name) return;
  await stack.stopCollector();
  await stack.startCollector(SETTINGS[name]);
  current = name;
};

test("a malformed setting: accepted events are kept under their ids through the dead-letter queue, and all arrive once it is fixed", async () => {
  await use("malformed");
  await stack.emulator.reset();
  const events = [view(), view(), cartNow(1), view()];
  await post(events.slice(0, 2));
  await post(events.slice(2));
  // The dead-letter queue's consumer keeps them although the configuration is broken.
  const kept = await waitFor("every event kept in the ledger", async () => {
    const l = await letters();
    return l.deadLetters.length === events.length && l;
  }, { timeoutMs: 30000 });
  assert.deepEqual(kept.deadLetters.map((l) => l.key).sort(), events.map((e) => e.id).sort(), "kept under the event ids");
  for (const l of kept.deadLetters) {
    assert.equal(l.delivery.event.id, l.key);
    assert.match(l.reason, /the queue gave up/);
  }
  assert.deepEqual(kept.unreadable, []);
  assert.deepEqual(await stack.emulator.attempts(), [], "nothing was sent with the broken configuration");
  assert.match(stack.collectorLog(), /configuration error, delivery waits/);

  // Fixed (a restart keeps the ledger): redrive one by its event id, then the rest.
  await use("fixed");
  assert.equal((await stack.admin("health")).ok, true);
  const byId = await stack.admin("dead-letters/redrive", { ids: [events[2].id] });
  assert.deepEqual(byId.redriven, [events[2].id]);
  await waitFor("the redriven cart at Mindbox", async () => (await stack.acceptedCounts([events[2].id]))[0] === 1);
  const rest = await stack.admin("dead-letters/redrive", { all: true });
  assert.equal(rest.redriven.length, events.length - 1);
  await waitFor("every event at Mindbox", async () => (await stack.acceptedCounts(events.map((e) => e.id))).every((n) => n >= 1));
  await stack.drain();
  assert.deepEqual(await stack.acceptedCounts(events.map((e) => e.id)), events.map(() => 1), "each exactly once");
  assert.deepEqual((await letters()).deadLetters, []);
});

test("the snapshot-order Durable Object unreachable: other events go on, snapshots wait and arrive once it is back", async () => {
  await use("snapshotObjectDown");
  await stack.emulator.reset();
  const device = randomUUID();
  const [v, c] = [view(), cartNow(2)];
  await post([v, c], device);
  await waitFor("the view at Mindbox", async () => (await stack.acceptedCounts([v.id]))[0] === 1);
  const letter = await waitFor("the cart kept in the ledger", async () =>
    (await letters()).deadLetters.find((l) => l.key === c.id),
  );
  assert.match(letter.reason, /the queue gave up/);
  assert.equal((await stack.emulator.attempts()).filter((q) => q.transactionId === c.id).length, 0, "the cart was never sent out of order");
  assert.match(stack.collectorLog(), /snapshot order unavailable for Website\.SetCart/);

  await use("fixed");
  assert.deepEqual((await stack.admin("dead-letters/redrive", { all: true })).redriven, [c.id]);
  await waitFor("the cart at Mindbox", async () => (await stack.acceptedCounts([c.id]))[0] === 1);
  const sent = (await stack.emulator.requests()).find((q) => q.transactionId === c.id);
  assert.equal(sent.deviceUUID, device, "for the device it was made on");
});
