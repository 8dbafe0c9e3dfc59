// Unit tests of the calls kept before the Rust half is in (kept.js), over a fake outbox.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Kept, STALE_MS } from "./kept.js";
import { CALL } from "./outbox.js";

/** An outbox that keeps calls in a map; `fail` makes IndexedDB refuse them. */
function fakeOutbox({ fail = false } = {}) {
  const rows = new Map();
  const writes = [];
  return {
    rows,
    writes,
    keep: async (calls) => {
      writes.push(calls.length);
      if (fail) return false;
      for (const c of calls) rows.set(c.id, structuredClone(c));
      return true;
    },
    calls: async () => [...rows.values()].filter((r) => r.state === CALL).sort((a, b) => a.createdAt - b.createdAt),
    drop: async (ids) => ids.forEach((id) => rows.delete(id)),
  };
}
const allowed = { allowed: () => true };

test("calls that may be events are written in one transaction with their time and random numbers; the rest wait in memory", async () => {
  const o = fakeOutbox();
  const k = Kept(() => Promise.resolve(o), allowed);
  const before = Date.now();
  k.add(["create", { endpointId: "x" }]);
  k.add(["viewProduct", { productId: "1", onSuccess() {} }]);
  k.add(["async", { operation: "Website.X", data: { a: 1 } }]);
  k.add(["getBalance", { customer: {} }]);
  k.add(["bindCard", {}]);
  k.add(["authorize", { email: "a@b.ru" }]);
  const cyclic = {};
  cyclic.self = cyclic;
  k.add(["async", cyclic]);
  assert.equal(k.size(), 7);
  const list = await k.take();
  assert.equal(k.size(), 0);
  assert.deepEqual(list.map((e) => e.args[0]), ["create", "viewProduct", "async", "getBalance", "bindCard", "authorize", "async"]);
  assert.deepEqual(o.writes, [3], "one transaction for the task's three events");
  const rows = [...o.rows.values()];
  assert.deepEqual(rows.map((r) => [r.operation, r.data, r.state]), [
    ["viewProduct", '{"productId":"1"}', CALL],
    ["async", '{"operation":"Website.X","data":{"a":1}}', CALL],
    ["authorize", '{"email":"a@b.ru"}', CALL],
  ]);
  for (const [i, e] of [[1, list[1]], [2, list[2]]]) {
    assert.equal(e.kept, rows[i - 1].id);
    assert.ok(e.when.at >= before && e.when.at <= Date.now());
    assert.deepEqual(rows[i - 1].rand, [...e.when.rand]);
    assert.equal(rows[i - 1].createdAt, e.when.at);
  }
  assert.equal(list[0].kept, undefined);
  assert.equal(list[6].kept, undefined, "an argument that is not JSON is not kept");
});

test("nothing is written without consent, nor when IndexedDB refuses; the calls still wait in memory", async () => {
  const o = fakeOutbox();
  const k = Kept(() => Promise.resolve(o), { allowed: () => false });
  k.add(["viewProduct", { productId: "1" }]);
  const failing = fakeOutbox({ fail: true });
  const k2 = Kept(() => Promise.resolve(failing), allowed);
  k2.add(["viewProduct", { productId: "2" }]);
  const noOutbox = Kept(() => Promise.resolve(null), allowed);
  noOutbox.add(["viewProduct", { productId: "3" }]);
  const [a, b, c] = [await k.take(), await k2.take(), await noOutbox.take()];
  assert.equal(o.writes.length, 0);
  assert.deepEqual(failing.writes, [1]);
  assert.deepEqual([a[0].kept, b[0].kept, c[0].kept], [undefined, undefined, undefined]);
  assert.deepEqual([a.length, b.length, c.length], [1, 1, 1]);
});

test("take waits for the write of every call it returns, across tasks until the outbox opens", async () => {
  const o = fakeOutbox();
  let open;
  const k = (() => { const p = new Promise((r) => (open = r)); return Kept(() => p, allowed); })();
  k.add(["viewProduct", { productId: "1" }]);
  await new Promise((r) => setTimeout(r, 0));
  k.add(["viewProduct", { productId: "2" }]);
  const taking = k.take();
  let done = false;
  taking.then(() => (done = true));
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(done, false, "not before the outbox has them");
  open(o);
  const list = await taking;
  assert.deepEqual(o.writes, [2]);
  assert.ok(list.every((e) => e.kept));
});

test("adopt makes other pages' stale calls into events and forgets those that make none; this page's and fresh ones stay", async () => {
  const o = fakeOutbox();
  const k = Kept(() => Promise.resolve(o), allowed);
  k.add(["viewProduct", { productId: "mine" }]);
  await k.take();
  const old = Date.now() - STALE_MS - 1;
  const row = (id, operation, createdAt) => ({ id, operation, createdAt, data: "{}", state: CALL, rand: [1, 2, 3, 4] });
  o.rows.set("call-a", row("call-a", "viewProduct", old));
  o.rows.set("call-b", row("call-b", "nonsense", old));
  o.rows.set("call-c", row("call-c", "viewProduct", Date.now()));
  // This page's own call, however old.
  const mine = [...o.rows.values()].find((r) => r.data.includes("mine"));
  mine.createdAt = old;
  const made = [];
  await k.adopt(await o.calls(), o, (method, text, when, kept) => {
    made.push([method, text, when.at, [...when.rand], kept]);
    return method === "viewProduct";
  });
  assert.deepEqual(made, [
    ["viewProduct", "{}", old, [1, 2, 3, 4], "call-a"],
    ["nonsense", "{}", old, [1, 2, 3, 4], "call-b"],
  ]);
  assert.deepEqual([...o.rows.keys()].sort(), [mine.id, "call-a", "call-c"].sort(), "the one that made nothing is dropped");
});
