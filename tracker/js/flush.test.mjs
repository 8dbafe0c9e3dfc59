// Unit tests of the flush loop (flush.js) in Node, with mocked timers and clock: a fake outbox, a fake
// Rust half and scripted collector answers stand in for IndexedDB, the wasm and the network.
import { test, beforeEach, afterEach, mock } from "node:test";
import assert from "node:assert/strict";
import { Flusher } from "./flush.js";

beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 }));
afterEach(() => mock.timers.reset());

/** Lets every pending promise callback run (setImmediate is not mocked). */
const settleDown = () => new Promise((r) => setImmediate(r));

const record = (n) => ({
  id: `id-${n}`, operation: "Website.ViewProduct", createdAt: n, data: "{}",
  state: "pending", attempts: 0, lastError: null, reason: null, settledAt: null, replayOf: null,
});

/** A fake outbox, core and collector around a Flusher. `answers` is called per post with the ids. */
function rig(n, answers, { perBatch = 100, unclaimed } = {}) {
  const pending = Array.from({ length: n }, (_, i) => record(i + 1));
  const settled = [];
  const failed = [];
  const warned = [];
  const posts = [];
  let allowed = true;
  const core = {
    batches: (records) => {
      const out = [];
      for (let i = 0; i < records.length; i += perBatch) {
        const part = records.slice(i, i + perBatch);
        out.push({ records: part, body: JSON.stringify(part.map((r) => r.id)) });
      }
      return out;
    },
    evict: () => 0,
    retryDelay: (failures, retryAfter) => Math.max(1000 * 2 ** (failures - 1), retryAfter ? Number(retryAfter) * 1000 : 0),
    warn: (m) => warned.push(m),
  };
  const outbox = {
    settle: async (records) => {
      for (const r of records) {
        pending.splice(pending.findIndex((p) => p.id === r.id), 1);
        settled.push(r);
      }
    },
    failed: async (records, error) => failed.push({ ids: records.map((r) => r.id), error }),
    evict: async () => {},
  };
  const flusher = new Flusher({
    core,
    outbox,
    source: async () => pending.slice(),
    active: () => allowed,
    allowed: () => allowed,
    post: async (body) => {
      const ids = JSON.parse(body);
      posts.push({ ids, at: Date.now() });
      return answers(ids, posts.length);
    },
    device: () => "device",
    adopt: () => {},
    settled: () => {},
    unclaimed,
  });
  return { flusher, pending, settled, failed, warned, posts, withdraw: () => (allowed = false) };
}

const accepted = (ids) => ({ status: 202, retryAfter: null, text: JSON.stringify({ results: ids.map((id) => ({ id, status: "accepted" })) }) });

test("each event is settled by the collector's answer: sent, or rejected with its reason", async () => {
  const r = rig(3, (ids) => ({
    status: 202,
    retryAfter: null,
    text: JSON.stringify({ results: ids.map((id) => (id === "id-2" ? { id, status: "rejected", path: "events[1].data", reason: "bad" } : { id, status: "accepted" })) }),
  }));
  await r.flusher.flush();
  assert.deepEqual(r.settled.map((s) => [s.id, s.state, s.reason]), [["id-1", "sent", null], ["id-2", "rejected", "events[1].data: bad"], ["id-3", "sent", null]]);
  assert.deepEqual(r.pending, []);
  assert.equal(r.warned.length, 1);
  assert.match(r.warned[0], /rejected: events\[1\]\.data: bad/);
});

test("no answer: the events stay, and the next try waits for the backoff", async () => {
  const r = rig(2, (ids, n) => (n === 1 ? { status: 0, retryAfter: null, text: "" } : accepted(ids)));
  await r.flusher.flush();
  assert.equal(r.posts.length, 1);
  assert.deepEqual(r.failed, [{ ids: ["id-1", "id-2"], error: "the collector is unreachable" }]);
  assert.equal(r.pending.length, 2, "nothing leaves the outbox without an answer");
  await r.flusher.flush(); // asked again too soon: waits for the same timer
  mock.timers.tick(999);
  await settleDown();
  assert.equal(r.posts.length, 1, "not before the backoff");
  mock.timers.tick(1);
  await settleDown();
  assert.equal(r.posts.length, 2);
  assert.equal(r.posts[1].at - r.posts[0].at, 1000);
  assert.deepEqual(r.pending, []);
});

test("Retry-After is honoured, and the online event tries at once anyway", async () => {
  const r = rig(1, (ids, n) => (n === 1 ? { status: 429, retryAfter: "30", text: '{"error":"rate_limited"}' } : accepted(ids)));
  await r.flusher.flush();
  mock.timers.tick(29_999);
  await settleDown();
  assert.equal(r.posts.length, 1, "not before Retry-After");
  mock.timers.tick(1);
  await settleDown();
  assert.equal(r.posts.length, 2);

  const o = rig(1, (ids, n) => (n === 1 ? { status: 503, retryAfter: "600", text: "" } : accepted(ids)));
  await o.flusher.flush();
  o.flusher.online();
  mock.timers.tick(0);
  await settleDown();
  assert.equal(o.posts.length, 2, "online skips the wait");
  assert.deepEqual(o.pending, []);
});

test("a batch refused as a whole is halved until only the bad event is rejected", async () => {
  const r = rig(5, (ids) =>
    ids.includes("id-4") ? { status: 400, retryAfter: null, text: '{"error":"not_json","reason":"request body is not JSON"}' } : accepted(ids),
  );
  await r.flusher.flush();
  const bySate = Object.fromEntries(r.settled.map((s) => [s.id, s.state]));
  assert.deepEqual(bySate, { "id-1": "sent", "id-2": "sent", "id-3": "sent", "id-4": "rejected", "id-5": "sent" });
  assert.match(r.settled.find((s) => s.id === "id-4").reason, /HTTP 400: request body is not JSON/);
  assert.deepEqual(r.failed, [], "never treated as a failure to retry");
  // [1..5] → [1,2,3] ok, [4,5] → [4] rejected, [5] ok.
  assert.deepEqual(r.posts.map((p) => p.ids.join()), ["id-1,id-2,id-3,id-4,id-5", "id-1,id-2,id-3", "id-4,id-5", "id-4", "id-5"]);
});

test("batches go in order, and a failure stops the later ones", async () => {
  const r = rig(5, (ids, n) => (n === 2 ? { status: 500, retryAfter: null, text: "" } : accepted(ids)), { perBatch: 2 });
  await r.flusher.flush();
  assert.deepEqual(r.posts.map((p) => p.ids.join()), ["id-1,id-2", "id-3,id-4"]);
  assert.deepEqual(r.pending.map((p) => p.id), ["id-3", "id-4", "id-5"]);
  mock.timers.tick(1000);
  await settleDown();
  assert.deepEqual(r.pending, []);
});

test("a flush asked for while one runs runs after it, and sends what arrived meanwhile", async () => {
  let release;
  const r = rig(1, (ids, n) => (n === 1 ? new Promise((res) => (release = () => res(accepted(ids)))) : accepted(ids)));
  const first = r.flusher.flush();
  await settleDown();
  r.pending.push(record(9));
  await r.flusher.flush(); // returns at once: one flush at a time
  assert.equal(r.posts.length, 1);
  release();
  await first;
  assert.deepEqual(r.posts.map((p) => p.ids.join()), ["id-1", "id-9"]);
  assert.deepEqual(r.pending, []);
});

test("consent withdrawn between batches: the next batch is not sent", async () => {
  let r;
  r = rig(4, (ids) => {
    r.withdraw();
    return accepted(ids);
  }, { perBatch: 2 });
  await r.flusher.flush();
  assert.equal(r.posts.length, 1);
  assert.deepEqual(r.pending.map((p) => p.id), ["id-3", "id-4"]);
});

test("kick: a sooner flush replaces a later one; a later one leaves the sooner standing", async () => {
  const r = rig(1, accepted);
  r.flusher.kick(5000);
  r.flusher.kick(100);
  r.flusher.kick(3000);
  mock.timers.tick(100);
  await settleDown();
  assert.equal(r.posts.length, 1);
  mock.timers.tick(5000);
  await settleDown();
  assert.equal(r.posts.length, 1, "the replaced timers do not fire");
});

test("events a beacon took while a round was under way are left to it, not posted again", async () => {
  const beaconed = new Set();
  const r = rig(4, (ids, n) => {
    // While the first batch is posted, the page hides and a beacon takes events 3 and 4.
    if (n === 1) ["id-3", "id-4"].forEach((id) => beaconed.add(id));
    return accepted(ids);
  }, { perBatch: 2, unclaimed: (records) => records.filter((x) => !beaconed.has(x.id)) });
  await r.flusher.flush();
  assert.deepEqual(r.posts.map((p) => p.ids), [["id-1", "id-2"]]);
  assert.deepEqual(r.pending.map((p) => p.id), ["id-3", "id-4"], "still pending: a beacon gets no answer");
});

test("a body sent again after its keepalive request failed is not fresh; event data that looks like the flag is left alone", async () => {
  const { notFresh } = await import("./flush.js");
  const frame = '{"deviceUUID":"d","consent":true,"fresh":true,"sentAt":1,"events":[{"data":{"fresh":true,"sentAt":2}}]}';
  assert.equal(notFresh(frame), '{"deviceUUID":"d","consent":true,"sentAt":1,"events":[{"data":{"fresh":true,"sentAt":2}}]}');
  const plain = '{"deviceUUID":"d","sentAt":1,"events":[{"data":{"x":1,"fresh":true,"sentAt":2}}]}';
  assert.equal(notFresh(plain), plain);
});
