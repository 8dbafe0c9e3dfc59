// The self-hosted profile as a cluster: two workerd nodes on one PostgreSQL, each accepting and each
// delivering. What must hold when a machine goes: a node killed with SIGKILL in the middle of a burst,
// PostgreSQL restarted in the middle of one, and two nodes racing one device's carts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { useStack, waitFor, timedFetch } from "../support/stack.mjs";
import { view, cart } from "../support/events.mjs";

const stack = useStack({ profile: "self-hosted", nodes: 2, vars: { MINDBOX_TIMEOUT_MS: "1500" } }, { resetEach: true });

/** Posts a batch to one node as a shop page does; the answer's status, or 0 when the node is gone. */
async function postTo(url, events, deviceUUID = randomUUID(), extra = {}) {
  try {
    const res = await timedFetch(`${url}/v1/events`, {
      method: "POST",
      headers: { "content-type": "text/plain", origin: stack.shopUrl, "x-real-ip": "198.51.100.9" },
      body: JSON.stringify({ deviceUUID, events, ...extra }),
      timeoutMs: 10000,
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/**
 * Sends `batches` as shoppers' trackers and a load balancer would, `width` at a time: each to the
 * next node in turn, and one that fails (the node gone, 503 while the database is away) again to the
 * next, until it is accepted. `during(i)` runs before batch `i` is sent (a kill, a restart), while
 * the other senders go on. Returns the ids accepted and how many sends were refused.
 */
async function burst(batches, during = async () => {}, width = 4) {
  const urls = stack.nodes.map((n) => n.url);
  const accepted = [];
  let turn = 0;
  let refused = 0;
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < batches.length) {
      const i = next++;
      await during(i);
      const device = randomUUID();
      await waitFor(`batch ${i} accepted by a node`, async () => {
        const status = await postTo(urls[turn++ % urls.length], batches[i], device);
        if (status !== 202) refused += 1;
        return status === 202;
      }, { timeoutMs: 60000, intervalMs: 100 });
      accepted.push(...batches[i].map((e) => e.id));
    }
  }));
  return { accepted, refused };
}

/** Waits until each id is at Mindbox, then asserts each was taken exactly once; the attempts made. */
async function exactlyOnce(ids) {
  await waitFor(`all ${ids.length} events at Mindbox`, async () => (await stack.acceptedCounts(ids)).every((n) => n >= 1), { timeoutMs: 150000, intervalMs: 1000 });
  await stack.drain();
  const counts = await stack.acceptedCounts(ids);
  assert.deepEqual(counts.filter((n) => n !== 1), [], "each event taken by Mindbox exactly once");
  return (await stack.emulator.count()).attempts;
}

test("SIGKILL one of two nodes in the middle of a 2 000-event burst: every accepted event reaches Mindbox exactly once", async () => {
  // Mindbox hangs on some tries, so the killed node holds claimed messages in flight.
  await stack.emulator.fail({ count: 30, mode: "timeout", ms: 2500 });
  const batches = Array.from({ length: 40 }, () => Array.from({ length: 50 }, () => view()));
  let killedAfter = null;
  const { accepted, refused } = await burst(batches, async (i) => {
    if (i === 20) {
      await waitFor("deliveries in flight", async () => (await stack.emulator.attempts()).length >= 10, { timeoutMs: 30000 });
      killedAfter = (await stack.emulator.count()).accepted;
      await stack.nodes[1].kill();
    }
  });
  assert.equal(accepted.length, 2000);
  assert.ok(killedAfter < 2000, `killed before the burst was delivered (${killedAfter})`);
  const attempts = await exactlyOnce(accepted);
  console.log(`# node killed after ${killedAfter} delivered; ${refused} batches sent again to the other node; ${attempts} Mindbox calls for 2 000 events`);
  await stack.nodes[1].start();
});

test("PostgreSQL restarted in the middle of a burst: nothing answered 202 is lost or taken twice, the nodes recover by themselves", async () => {
  // Mindbox answers slowly, so deliveries are in flight when the database goes.
  await stack.emulator.latency(30);
  const batches = Array.from({ length: 30 }, () => Array.from({ length: 50 }, () => view()));
  let down = null;
  const { accepted, refused } = await burst(batches, async (i) => {
    if (i === 15) {
      await stack.postgres.stop({ mode: "immediate" });
      // While it is away, a batch is refused with 503 (it waits in the shopper's outbox).
      down = await postTo(stack.nodes[0].url, [view()]);
      await stack.postgres.start();
    }
  });
  await stack.emulator.latency(0);
  assert.equal(down, 503, "a batch is refused while PostgreSQL is away");
  assert.equal(accepted.length, 1500);
  const attempts = await exactlyOnce(accepted);
  const health = await (await timedFetch(`${stack.nodes[1].url}/v1/health`)).json();
  assert.equal(health.ok, true);
  console.log(`# PostgreSQL restarted: ${refused} batches sent again; ${attempts} Mindbox calls for 1 500 events`);
});

test("two nodes racing one device's carts: Mindbox ends at the newest", async () => {
  const [a, b] = stack.nodes.map((n) => n.url);
  const lastCart = async (device) => {
    const carts = (await stack.emulator.requests()).filter((q) => q.deviceUUID === device && q.operation === "Website.SetCart");
    return carts.sort((x, y) => x.receivedAt - y.receivedAt).at(-1)?.body.productList[0].count;
  };
  const queueEmpty = async () => (await stack.postgres.sql("SELECT count(*) FROM queue")) === "0";
  const finals = [];
  // Each round: a device's older cart to one node and its newer cart to the other at once, and
  // Mindbox fails whichever call comes first (so it is sent again after the other). Without one
  // order across the nodes, half the rounds would end at the older cart.
  for (let round = 0; round < 8; round++) {
    const device = randomUUID();
    const base = Date.now() - 1000;
    const older = cart(1, { createdAt: base });
    const newer = cart(2, { createdAt: base + 10 });
    const [first, second] = round % 2 ? [a, b] : [b, a];
    await stack.emulator.fail({ count: 1, status: 503 });
    const sentAt = Date.now();
    const statuses = await Promise.all([postTo(first, [older], device, { sentAt }), postTo(second, [newer], device, { sentAt })]);
    assert.deepEqual(statuses, [202, 202]);
    // Each message leaves the queue with its outcome: once it is empty, nothing more is coming.
    await waitFor(`round ${round} settled`, queueEmpty, { timeoutMs: 60000, intervalMs: 200 });
    finals.push(await lastCart(device));
  }
  assert.deepEqual(finals, Array(8).fill(2), "Mindbox's last cart is the newer in every round");
});

test("two nodes started at once on a fresh database applied each migration once", async () => {
  const rows = (await stack.postgres.sql("SELECT version || ':' || count(*) FROM schema_migrations GROUP BY version ORDER BY version")).split("\n");
  assert.ok(rows.length >= 1 && rows.every((r) => r.endsWith(":1")), rows.join(", "));
  assert.doesNotMatch(stack.collectorLog(), /migration failed/);
});
