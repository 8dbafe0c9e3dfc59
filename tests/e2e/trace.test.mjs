// QA's trace (edge-collector/src/trace.rs), in local workerd: a device QA switches on with the admin
// token shows what became of each event after the collector (retrying, delivered, dead-lettered,
// redriven, superseded); other devices are not traced, and nothing a browser sends switches it on.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { startStack, waitFor, timedFetch, PROFILE } from "../stack.mjs";

let stack;

before(async () => {
  // A small cap, so that the test can pass it.
  stack = await startStack({ profile: PROFILE, vars: { TRACE_KEEP: "10" } });
}, { timeout: 180000 });
after(async () => {
  await stack?.stop();
}, { timeout: 60000 });

async function post(events, deviceUUID, extra = {}) {
  const res = await timedFetch(`${stack.collectorUrl}/v1/events`, {
    method: "POST",
    headers: { origin: stack.shopUrl, "content-type": "text/plain" },
    body: JSON.stringify({ deviceUUID, events, ...extra }),
  });
  assert.equal(res.status, 202, await res.text());
}

const view = (extra = {}) => ({
  id: randomUUID(),
  operation: "Website.ViewProduct",
  data: { viewProduct: { product: { ids: { website: "7" } } } },
  ...extra,
});

const traceOf = async (device) => stack.admin(`trace?device=${device}`);
const noteOf = async (device, id) => (await traceOf(device)).events.find((n) => n.id === id);
const accepted = async (id) => (await stack.emulator.requests()).filter((q) => q.transactionId === id);

/** Waits until event `id` of `device` is noted in `state`; returns the note. */
function stateOf(device, id, state, timeoutMs = 30000) {
  return waitFor(`event ${id} ${state} in the trace`, async () => {
    const n = await noteOf(device, id);
    return n?.state === state && n;
  }, { timeoutMs, intervalMs: 50 });
}

test("the trace routes need the admin token and a device id; hours are capped at 72", async () => {
  const device = randomUUID();
  const res = await timedFetch(`${stack.collectorUrl}/v1/admin/trace?device=${device}`);
  assert.equal(res.status, 401);
  for (const body of [{ deviceUUID: "not-a-uuid" }, { deviceUUID: device, hours: -1 }, { deviceUUID: 7 }, "x"]) {
    const r = await timedFetch(`${stack.collectorUrl}/v1/admin/trace`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack.adminToken}` },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    assert.equal(r.status, 400, JSON.stringify(body));
  }
  const before = Date.now();
  // Letter case does not make another device.
  const on = await stack.admin("trace", { deviceUUID: device.toUpperCase(), hours: 1000 });
  assert.equal(on.deviceUUID, device);
  const hours = (on.until - before) / 3600000;
  assert.ok(hours > 71.9 && hours <= 72.01, `capped at 72 h, got ${hours}`);
  const off = await stack.admin("trace", { deviceUUID: device, hours: 0 });
  assert.equal(off.until, 0);
  assert.equal((await traceOf(device)).until, 0);
});

test("a traced device shows retrying (with the reason), then delivered, with the Mindbox calls made", async () => {
  await stack.emulator.reset();
  const device = randomUUID();
  await stack.admin("trace", { deviceUUID: device, hours: 1 });
  await stack.emulator.fail({ count: 1, status: 503, retryAfter: 2 });
  const event = view();
  await post([event], device);
  const retrying = await stateOf(device, event.id, "retrying");
  assert.equal(retrying.operation, "Website.ViewProduct");
  assert.equal(retrying.attempts, 1);
  assert.match(retrying.reason, /HTTP 503.*next try in \d+ s/);
  const delivered = await stateOf(device, event.id, "delivered");
  assert.equal(delivered.attempts, 2);
  assert.equal(delivered.reason, undefined);
  assert.ok(delivered.at >= retrying.at);
  assert.equal((await accepted(event.id)).length, 1);
  // The note holds no event data.
  assert.doesNotMatch(JSON.stringify(await traceOf(device)), /viewProduct|website/);
});

test("a traced event Mindbox refuses shows dead-lettered with Mindbox's reason; a redrive shows, then delivered", async () => {
  await stack.emulator.reset();
  const device = randomUUID();
  await stack.admin("trace", { deviceUUID: device });
  await stack.emulator.fail({ count: 1, mode: "validation" });
  const event = view();
  await post([event], device);
  const dead = await stateOf(device, event.id, "dead_lettered");
  assert.match(dead.reason, /ValidationError.*emulated validation error/);
  const answer = await stack.admin("dead-letters/redrive", { ids: [event.id] });
  assert.deepEqual(answer.redriven, [event.id]);
  // "redriven" may be overtaken by "delivered" before the poll sees it: either is after the letter.
  const after = await waitFor("the redriven event in the trace", async () => {
    const n = await noteOf(device, event.id);
    return ["redriven", "delivered", "queued"].includes(n?.state) && n.at > dead.at && n;
  });
  assert.notEqual(after.state, "queued");
  await stateOf(device, event.id, "delivered");
  assert.equal((await accepted(event.id)).length, 1);
});

test("an older cart sent after a newer one shows superseded; the newer one delivered", async () => {
  await stack.emulator.reset();
  const device = randomUUID();
  await stack.admin("trace", { deviceUUID: device });
  const cart = (n, createdAt) => ({
    id: randomUUID(),
    operation: "Website.SetCart",
    createdAt,
    data: { productList: [{ product: { ids: { website: "7" } }, count: n, pricePerItem: 100 }] },
  });
  const t = Date.now();
  const older = cart(1, t);
  const newer = cart(2, t + 1000);
  await stack.emulator.fail({ count: 1, status: 503, retryAfter: 3 });
  await post([older], device);
  await stateOf(device, older.id, "retrying");
  await post([newer], device);
  await stateOf(device, newer.id, "delivered");
  const superseded = await stateOf(device, older.id, "superseded");
  assert.match(superseded.reason, /newer cart/);
  const trace = await traceOf(device);
  assert.deepEqual(trace.events.map((n) => n.id).sort(), [older.id, newer.id].sort(), "only this device's events");
});

test("untraced devices are not traced, whatever the browser sends; a trace switched off stops noting", async () => {
  await stack.emulator.reset();
  const device = randomUUID();
  // A hostile page asks for a trace in the batch and in the event: an event has no such field (it is
  // rejected), and the batch's is ignored.
  const refused = await timedFetch(`${stack.collectorUrl}/v1/events`, {
    method: "POST",
    headers: { origin: stack.shopUrl, "content-type": "text/plain" },
    body: JSON.stringify({ deviceUUID: device, events: [view({ trace: true })] }),
  });
  assert.equal(refused.status, 422);
  assert.match(await refused.text(), /events\[0\]\.trace/);
  const sneaky = view();
  await post([sneaky], device, { trace: true });
  await waitFor("the untraced event at the emulator", async () => (await accepted(sneaky.id)).length === 1);
  const untraced = await traceOf(device);
  assert.equal(untraced.until, 0);
  assert.deepEqual(untraced.events, []);

  // Traced, then switched off: events after that are not noted.
  const traced = randomUUID();
  await stack.admin("trace", { deviceUUID: traced });
  const first = view();
  await post([first], traced);
  await stateOf(traced, first.id, "delivered");
  await stack.admin("trace", { deviceUUID: traced, hours: 0 });
  const later = view();
  await post([later], traced);
  await waitFor("the later event at the emulator", async () => (await accepted(later.id)).length === 1);
  await stack.drain();
  const t = await traceOf(traced);
  assert.equal(t.until, 0);
  assert.deepEqual(t.events.map((n) => n.id), [first.id], "kept what was noted, noted nothing after");
});

test("a traced device keeps only its newest notes (TRACE_KEEP), and resends are still caught", async () => {
  await stack.emulator.reset();
  const device = randomUUID();
  await stack.admin("trace", { deviceUUID: device });
  const batches = [0, 1, 2].map(() => Array.from({ length: 40 }, () => view()));
  for (const b of batches) await post(b, device);
  const ids = new Set(batches.flat().map((e) => e.id));
  const ours = async () => (await stack.emulator.requests()).filter((q) => ids.has(q.transactionId)).length;
  await waitFor("120 events at the emulator", async () => (await ours()) >= 120, { timeoutMs: 60000 });
  await stack.drain();
  const notes = (await traceOf(device)).events;
  assert.ok(notes.length >= 10 && notes.length <= 20, `kept ${notes.length} notes with a cap of 10`);
  assert.ok(notes.every((n) => ids.has(n.id)));
  // The ids were still recorded: the same batch again is answered, not queued again.
  const before = (await stack.admin("counters")).resent || 0;
  await post(batches[2], device);
  await waitFor("the resend counted", async () => ((await stack.admin("counters")).resent || 0) >= before + 40);
  await stack.drain();
  assert.equal(await ours(), 120, "nothing sent twice");
});
