// Unit tests of the shell's view of the Rust half (core.js over wasm.js), against the real
// tracker/dist/tracker.wasm (built by `cargo xtask build`), in Node.
import { test, mock } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { rust } from "./wasm.js";
import { core } from "./core.js";

const bytes = readFileSync(new URL("../dist/tracker.wasm", import.meta.url));
async function fresh(endpointId) {
  const { instance } = await WebAssembly.instantiate(bytes, {});
  const w = rust(instance.exports);
  w.init(endpointId);
  return core(w);
}
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("a typed call makes an event: a v4 id, the operation, the time and the Mindbox payload; text survives the boundary", async () => {
  const c = await fresh("shop");
  const before = Date.now();
  const { made } = c.call("viewProduct", { productId: "Ёжик 😀", price: 1.5, onSuccess() {} });
  assert.match(made[0], UUID);
  assert.equal(made[1], "Website.ViewProduct");
  assert.ok(made[2] >= before && made[2] <= Date.now() + 1);
  assert.deepEqual(JSON.parse(made[3]), { viewProduct: { product: { ids: { website: "Ёжик 😀" } }, price: 1.5 } });
  const second = c.call("viewProduct", { productId: "1" }).made;
  assert.notEqual(second[0], made[0]);
  assert.ok(second[2] > made[2], "strictly later, so call order is kept");
});

test("a bad call is dropped with a message, on the console once", async () => {
  const c = await fresh();
  const warn = mock.method(console, "warn", () => {});
  try {
    const a = c.call("setCart", [{ productId: "1", count: -1 }]);
    const b = c.call("setCart", [{ productId: "1", count: -1 }]);
    assert.match(a.error, /count: expected a positive number/);
    assert.equal(b.error, a.error);
    const cyclic = {};
    cyclic.self = cyclic;
    assert.match(c.call("async", cyclic).error, /not JSON/);
    assert.deepEqual(c.call("create", { endpointId: "x" }), {});
    assert.equal(warn.mock.calls.length, 2, "each message once");
  } finally {
    warn.mock.restore();
  }
});

test("batches: records in, bodies the collector can read out, in order; an oversize event apart", async () => {
  const c = await fresh("shop");
  const rec = (data) => {
    const [id, operation, createdAt, d] = c.call("async", { operation: "Website.X", data }).made;
    return { id, operation, createdAt, data: d };
  };
  const big = "x".repeat(40_000);
  // The call itself refuses an event no batch can carry; an older stored one is set apart here.
  assert.match(c.call("async", { operation: "Website.X", data: { big: big + big } }).error, /64 KiB/);
  const stored = { ...rec({}), data: JSON.stringify({ big: big + big }) };
  const records = [rec({ a: 1 }), rec({ big }), stored, rec({ big }), rec({ z: "ё" })];
  const out = c.batches(records, "0f8fad5b-d9cb-469f-a165-70867728950e");
  assert.equal(out.length, 3, "the oversize event, then [0, 1] and [3, 4]");
  assert.match(out[0].reason, /64 KiB/);
  assert.deepEqual(out[0].records.map((r) => r.id), [records[2].id]);
  const sent = [];
  for (const b of out.slice(1)) {
    const body = JSON.parse(b.body);
    assert.equal(body.endpointId, "shop");
    assert.equal(body.deviceUUID, "0f8fad5b-d9cb-469f-a165-70867728950e");
    assert.deepEqual(body.events.map((e) => e.id), b.records.map((r) => r.id));
    sent.push(...body.events.map((e) => e.id));
  }
  assert.deepEqual(sent, [0, 1, 3, 4].map((i) => records[i].id));
  assert.deepEqual(c.batches([], "d"), []);
});

test("eviction, retry delays and QA's record check come from the Rust half", async () => {
  const c = await fresh();
  const r = { operation: "Website.X", data: "{}" };
  assert.equal(c.evict(Array(1005).fill(r)), 5);
  assert.equal(c.evict([{ operation: "Website.X", data: "x".repeat(3 * 1024 * 1024) }]), 1);
  assert.ok(c.retryDelay(1, "30") >= 30_000);
  assert.ok(c.retryDelay(1, null) <= 1000);
  const ok = { id: "0f8fad5b-d9cb-469f-a165-70867728950e", operation: "Website.X", createdAt: 1, data: "{}" };
  assert.equal(c.isEvent(ok), true);
  for (const bad of [{ ...ok, id: "nope" }, { ...ok, operation: "not one" }, { ...ok, createdAt: "1" }, { ...ok, data: "{}\u0000" }, null]) {
    assert.equal(c.isEvent(bad), false, JSON.stringify(bad));
  }
});
