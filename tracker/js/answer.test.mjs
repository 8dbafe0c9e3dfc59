// Unit tests of the reading of the collector's answers (answer.js, contract.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { answer } from "./answer.js";

const made = [{ id: "a" }, { id: "b" }];

test("per-event results settle each event, by id, in any order", () => {
  const body = JSON.stringify({
    deviceUUID: "dev",
    results: [{ id: "b", status: "accepted" }, { id: "a", status: "rejected", path: "events[0].data", reason: "bad" }],
  });
  assert.deepEqual(answer(made, 422, body), { device: "dev", trace: false, reasons: ["events[0].data: bad", null] });
  assert.equal(answer(made, 202, '{"deviceUUID":"dev","trace":true,"results":[]}').trace, true);
  assert.equal(answer(made, 202, '{"deviceUUID":"dev","trace":"yes","results":[]}').trace, false);
});

test("an event the answer has no result for is rejected, never dropped", () => {
  const a = answer(made, 202, '{"results":[]}');
  assert.ok(a.reasons.every((r) => /no result/.test(r)));
  // A result without an id (an event whose id was unreadable) counts by position.
  assert.deepEqual(answer(made, 202, '{"results":[{"status":"rejected","reason":"x"},{"id":"b","status":"accepted"}]}').reasons, [": x", null]);
});

test("400 and 413 ask for a split, never reject every event", () => {
  for (const status of [400, 413]) {
    const a = answer(made, status, '{"error":"body_too_large","reason":"too large"}');
    assert.deepEqual(a, { split: `collector answered HTTP ${status}: too large` });
  }
});

test("no answer, 403, 429 and 5xx are retried; a 202 whose body is not JSON settles nothing as sent", () => {
  for (const status of [0, 403, 429, 500, 503]) {
    const a = answer(made, status, "<html>");
    assert.ok(typeof a.error === "string" && a.reasons === undefined, `HTTP ${status}`);
  }
  assert.equal(answer(made, 0, "").error, "the collector is unreachable");
  assert.ok(answer(made, 202, "<html>").reasons.every((r) => r !== null));
});
