// A collector whose own configuration is broken loses nothing: the tracker files and health still
// answer, events it can check are accepted and wait on the queue (never dead-lettered for it), and
// without the secret key nothing is accepted, so events wait in the shoppers' outboxes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { useStack, waitFor, timedFetch } from "../support/stack.mjs";
import { view } from "../support/events.mjs";

const broken = useStack({ vars: { MINDBOX_TIMEOUT_MS: "ten seconds" } }); // a malformed var that only delivery needs
const keyless = useStack({ omitSecretKey: true }); // the secret key deleted

for (const [name, stack] of [["a malformed var", broken], ["no secret key", keyless]]) {
  test(`${name}: the tracker is served and health says "misconfigured" without naming the setting`, async () => {
    for (const path of ["/tracker.js", "/tracker.wasm"]) {
      const res = await timedFetch(`${stack.collectorUrl}${path}`);
      assert.equal(res.status, 200, path);
      await res.arrayBuffer();
    }
    const health = await timedFetch(`${stack.collectorUrl}/v1/health`);
    assert.equal(health.status, 503);
    const text = await health.text();
    assert.deepEqual(JSON.parse(text), { ok: false, status: "misconfigured" });
    assert.doesNotMatch(text, /MINDBOX|SECRET|TIMEOUT/);
    const admin = await stack.admin("health");
    assert.equal(admin.ok, false);
    assert.match(admin.problem, name === "no secret key" ? /MINDBOX_SECRET_KEY/ : /MINDBOX_TIMEOUT_MS/);
  });
}

test("a malformed var: events are accepted and wait on the queue, neither delivered wrong nor dead-lettered; QA's trace says why", async () => {
  const events = [view(), view()];
  const device = randomUUID();
  await broken.admin("trace", { deviceUUID: device });
  await broken.send(events, device);
  await waitFor("the consumer to hold the events back", async () => (await broken.admin("counters")).waited_misconfigured >= 2);
  const notes = await waitFor("the trace to say they wait", async () => {
    const t = (await broken.admin(`trace?device=${device}`)).events;
    return t.length === 2 && t.every((n) => n.state === "waiting") && t;
  });
  assert.match(notes[0].reason, /configuration is broken: .*MINDBOX_TIMEOUT_MS/);
  assert.deepEqual((await broken.emulator.attempts()).length, 0, "nothing went to Mindbox");
  const letters = await broken.admin("dead-letters");
  assert.deepEqual(letters.deadLetters, []);
  assert.match(broken.collectorLog(), /configuration error, delivery waits/);
});

test("no secret key: nothing is accepted (503 with Retry-After), so the events stay with the tracker", async () => {
  const res = await keyless.post({ events: [view()] });
  assert.equal(res.status, 503);
  assert.equal(res.headers.get("retry-after"), "60");
  assert.equal(res.json.error, "misconfigured");
  assert.deepEqual(await keyless.emulator.attempts(), []);
});
