// Unit tests of the dropped-call log (dropped.js) in Node, over a fake localStorage and a mocked clock.
import { test, beforeEach, afterEach, mock } from "node:test";
import assert from "node:assert/strict";
import { dropped, remember, forget } from "./dropped.js";

/** A localStorage over a Map; `broken` makes every call throw (blocked storage). */
function fakeStorage({ broken = false } = {}) {
  const m = new Map();
  const check = () => {
    if (broken) throw new DOMException("denied", "SecurityError");
  };
  return {
    getItem: (k) => (check(), m.has(k) ? m.get(k) : null),
    setItem: (k, v) => (check(), m.set(k, String(v))),
    removeItem: (k) => (check(), m.delete(k)),
  };
}

beforeEach(() => {
  mock.timers.enable({ apis: ["Date"], now: 1_000 });
  globalThis.localStorage = fakeStorage();
});
afterEach(() => {
  mock.timers.reset();
  delete globalThis.localStorage;
});

test("keeps the method, the console's message and the time, oldest first", () => {
  remember("viewProduct", 'mindbox("viewProduct"): expected {productId}');
  mock.timers.tick(5);
  remember("setCart", "count: expected a positive number");
  assert.deepEqual(dropped(), [
    { at: 1_000, method: "viewProduct", message: 'mindbox("viewProduct"): expected {productId}' },
    { at: 1_005, method: "setCart", message: "count: expected a positive number" },
  ]);
});

test("keeps only the newest 20, and cuts an outsized message or method name", () => {
  for (let i = 0; i < 25; i++) remember(`m${i}`, `message ${i}`);
  const kept = dropped();
  assert.equal(kept.length, 20);
  assert.equal(kept[0].method, "m5");
  assert.equal(kept[19].method, "m24");
  remember("x".repeat(1000), "y".repeat(10_000));
  const last = dropped().at(-1);
  assert.equal(last.method.length, 100);
  assert.equal(last.message.length, 500);
});

test("forget empties it; a page's own junk under the key reads as nothing", () => {
  remember("viewProduct", "bad");
  forget();
  assert.deepEqual(dropped(), []);
  localStorage.setItem("mindbox.dropped", "{not json");
  assert.deepEqual(dropped(), []);
  localStorage.setItem("mindbox.dropped", '{"a":1}');
  assert.deepEqual(dropped(), []);
  localStorage.setItem("mindbox.dropped", '[null, 7, {"at": "x"}, {"at": 1, "method": "m", "message": "ok"}]');
  assert.deepEqual(dropped(), [{ at: 1, method: "m", message: "ok" }], "only well-formed entries");
  remember("viewProduct", "bad");
  assert.deepEqual(dropped().map((d) => d.method), ["m", "viewProduct"], "the junk is dropped when the list is written");
  assert.equal(JSON.parse(localStorage.getItem("mindbox.dropped")).length, 2);
});

test("blocked or missing storage: nothing throws into the page, nothing is kept", () => {
  globalThis.localStorage = fakeStorage({ broken: true });
  assert.doesNotThrow(() => remember("viewProduct", "bad"));
  assert.doesNotThrow(() => forget());
  assert.deepEqual(dropped(), []);
  delete globalThis.localStorage;
  assert.doesNotThrow(() => remember("viewProduct", "bad"));
  assert.deepEqual(dropped(), []);
});

test("nothing is kept while the visitor's consent is withdrawn", () => {
  localStorage.setItem("mindboxEdgeConsent", "0");
  remember("viewProduct", "bad");
  assert.deepEqual(dropped(), []);
  localStorage.setItem("mindboxEdgeConsent", "1");
  remember("viewProduct", "bad");
  assert.equal(dropped().length, 1);
});
