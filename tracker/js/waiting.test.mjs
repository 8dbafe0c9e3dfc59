// Unit tests of the calls waiting for consent (waiting.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Waiting, MAX_WAITING, ask } from "./waiting.js";

test("held calls run in order on consent, or are dropped with their onError; past the cap the oldest go first", () => {
  const ran = [];
  const errors = [];
  const w = new Waiting();
  for (let i = 0; i < MAX_WAITING + 2; i++) {
    w.add({ at: i, method: "viewProduct", operation: "Website.ViewProduct", run: () => ran.push(i), onError: (e) => errors.push([i, e]) });
  }
  assert.equal(w.dropped, 2);
  assert.deepEqual(errors.map((e) => e[0]), [0, 1]);
  assert.match(errors[0][1], /more than 100 calls/);
  assert.equal(w.list().length, MAX_WAITING);
  assert.deepEqual(w.list()[0], { at: 2, method: "viewProduct", operation: "Website.ViewProduct" });
  w.run();
  assert.deepEqual(ran, Array.from({ length: MAX_WAITING }, (_, i) => i + 2));
  assert.equal(w.list().length, 0);
  w.add({ at: 1, method: "x", run: () => ran.push("x"), onError: (e) => errors.push(["x", e]) });
  w.drop();
  assert.deepEqual(errors.at(-1), ["x", "dropped: the visitor did not consent"]);
  assert.ok(!ran.includes("x"));
});

test("QA hears every tab's waiting calls over the channel", async () => {
  const other = new Waiting();
  other.listen();
  other.add({ at: 5, method: "setCart", operation: "Website.SetCart", run() {} });
  const mine = new Waiting();
  mine.listen();
  mine.add({ at: 1, method: "viewProduct", operation: "Website.ViewProduct", run() {} });
  const all = await ask(mine);
  assert.deepEqual(all.calls.map((c) => c.method), ["viewProduct", "setCart"]);
  assert.equal(all.dropped, 0);
  other.channel_.close();
  mine.channel_.close();
});
