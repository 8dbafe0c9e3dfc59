// A collector whose own configuration is broken loses nothing: the tracker files and health still
// answer, events it can check are accepted and wait on the queue (never dead-lettered for it), and
// without the secret key nothing is accepted, so events wait in the shoppers' outboxes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { startStack, waitFor, timedFetch } from "../stack.mjs";

let broken; // a malformed var that only delivery needs
let keyless; // the secret key deleted
before(async () => {
  broken = await startStack({ vars: { MINDBOX_TIMEOUT_MS: "ten seconds" } });
  keyless = await startStack({ omitSecretKey: true });
}, { timeout: 240000 });
after(async () => {
  await broken?.stop();
  await keyless?.stop();
}, { timeout: 60000 });

const view = () => ({ id: randomUUID(), operation: "Website.ViewProduct", data: { viewProduct: { product: { ids: { website: "1" } } } } });
const post = (stack, events, deviceUUID) =>
  timedFetch(`${stack.collectorUrl}/v1/events`, {
    method: "POST",
    headers: { origin: stack.shopUrl, "content-type": "text/plain" },
    body: JSON.stringify({ deviceUUID, events }),
  });

for (const [name, get] of [["a malformed var", () => broken], ["no secret key", () => keyless]]) {
  test(`${name}: the tracker is served and health says "misconfigured" without naming the setting`, async () => {
    const stack = get();
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
  const res = await post(broken, events, device);
  assert.equal(res.status, 202, await res.text());
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
  const res = await post(keyless, [view()]);
  assert.equal(res.status, 503);
  assert.equal(res.headers.get("retry-after"), "60");
  assert.equal((await res.json()).error, "misconfigured");
  assert.deepEqual(await keyless.emulator.attempts(), []);
});
