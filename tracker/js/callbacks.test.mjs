// Unit tests of the page's callbacks (callbacks.js) and consent (consent.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Callbacks, call } from "./callbacks.js";
import { Consent, CONSENT_KEY } from "./consent.js";

test("each event's callback is called once when it settles; a throwing callback stays out of the tracker", () => {
  const calls = [];
  const cbs = new Callbacks();
  cbs.add("a", () => calls.push("a ok"), (e) => calls.push(`a err ${e}`));
  cbs.add("b", () => { throw new Error("page bug"); }, (e) => calls.push(`b err ${e}`));
  cbs.add("c", undefined, undefined);
  assert.equal(cbs.size, 2, "nothing kept for an event without callbacks");
  cbs.settle([{ id: "a", state: "sent" }, { id: "b", state: "sent" }, { id: "x", state: "rejected" }]);
  cbs.settle([{ id: "a", state: "sent" }]);
  assert.deepEqual(calls, ["a ok"]);
  assert.equal(cbs.size, 0);
  cbs.add("d", null, (e) => calls.push(`d err ${e}`));
  cbs.settle([{ id: "d", state: "rejected", reason: null }]);
  assert.deepEqual(calls, ["a ok", "d err rejected"]);
  call("not a function");
});

test("consent lives in localStorage, so every tab reads the same; without it, each tab keeps its own and hears others", () => {
  const m = new Map();
  const store = { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => m.set(k, v) };
  const one = new Consent(store);
  const other = new Consent(store);
  assert.equal(other.allowed(), true);
  one.set(false);
  assert.equal(m.get(CONSENT_KEY), "0");
  assert.equal(other.allowed(), false, "another tab sees it at once");
  other.heard(true);
  assert.equal(other.allowed(), false, "localStorage decides where there is one");
  one.set(true);
  assert.equal(other.allowed(), true);

  const alone = new Consent(undefined);
  alone.heard(false);
  assert.equal(alone.allowed(), false);
  const broken = new Consent({ getItem: () => { throw new Error("SecurityError"); }, setItem: () => { throw new Error("SecurityError"); } });
  broken.set(false);
  assert.equal(broken.allowed(), false, "falls back to this tab's choice");
});

test("opt-in: nothing is allowed or written until the visitor consents; the choice is then remembered", () => {
  const m = new Map();
  const writes = [];
  const store = { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => (writes.push([k, v]), m.set(k, v)) };
  const page = new Consent(store, true);
  assert.equal(page.allowed(), false);
  assert.equal(page.state(), "opt-in");
  page.set(false);
  assert.deepEqual(writes, [], "a refusal before any consent is written nowhere");
  assert.equal(page.state(), "opt-in");
  page.set(true);
  assert.deepEqual(writes, [[CONSENT_KEY, "1"]]);
  assert.equal(new Consent(store, true).allowed(), true, "remembered for the next page");
  assert.equal(new Consent(store).allowed(), true, "a page without opt-in reads it too");
  page.set(false);
  assert.equal(page.state(), "withdrawn");
  assert.equal(new Consent(store, true).allowed(), false);
  const alone = new Consent(undefined, true);
  assert.equal(alone.allowed(), false);
  alone.set(true);
  assert.equal(alone.allowed(), true, "without localStorage, this tab's choice");
});
