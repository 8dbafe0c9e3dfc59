// QA's trace (edge-collector/src/qa_trace.rs) and what QA_TOKEN opens, in local workerd: a device QA
// switches on with the admin token shows what became of each event after the collector (retrying,
// delivered, dead-lettered, redriven, superseded); other devices are not traced, and nothing a browser
// sends switches it on; the QA page's origin reaches QA's admin routes with QA_TOKEN only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { useStack, waitFor, timedFetch, PROFILE } from "../support/stack.mjs";
import { view, cart } from "../support/events.mjs";

// A small cap, so that the test can pass it.
const stack = useStack({ profile: PROFILE, vars: { TRACE_KEEP: "10" } });

const traceOf = async (device) => stack.admin(`trace?device=${device}`);
const noteOf = async (device, id) => (await traceOf(device)).events.find((n) => n.id === id);

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
  const answered = await stack.post({ deviceUUID: device, events: [event] });
  // The answer tells the tracker the device is traced, so it marks no batch fresh (each is looked up).
  assert.equal(answered.json.trace, true, answered.text);
  const retrying = await stateOf(device, event.id, "retrying");
  assert.equal(retrying.operation, "Website.ViewProduct");
  assert.equal(retrying.attempts, 1);
  assert.match(retrying.reason, /HTTP 503.*next try in \d+ s/);
  const delivered = await stateOf(device, event.id, "delivered");
  assert.equal(delivered.attempts, 2);
  assert.equal(delivered.reason, undefined);
  assert.ok(delivered.at >= retrying.at);
  assert.equal((await stack.accepted(event.id)).length, 1);
  // The note holds no event data.
  assert.doesNotMatch(JSON.stringify(await traceOf(device)), /viewProduct|website/);
});

test("a traced event Mindbox refuses shows dead-lettered with Mindbox's reason; a redrive shows, then delivered", async () => {
  await stack.emulator.reset();
  const device = randomUUID();
  await stack.admin("trace", { deviceUUID: device });
  await stack.emulator.fail({ count: 1, mode: "validation" });
  const event = view();
  await stack.send([event], device);
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
  assert.equal((await stack.accepted(event.id)).length, 1);
});

test("an older cart sent after a newer one shows superseded; the newer one delivered", async () => {
  await stack.emulator.reset();
  const device = randomUUID();
  await stack.admin("trace", { deviceUUID: device });
  const t = Date.now();
  const older = cart(1, { createdAt: t, price: 100 });
  const newer = cart(2, { createdAt: t + 1000, price: 100 });
  await stack.emulator.fail({ count: 1, status: 503, retryAfter: 3 });
  await stack.send([older], device);
  await stateOf(device, older.id, "retrying");
  await stack.send([newer], device);
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
  const refused = await stack.post({ deviceUUID: device, events: [view({ trace: true })] });
  assert.equal(refused.status, 422);
  assert.match(refused.text, /events\[0\]\.trace/);
  const sneaky = view();
  await stack.send([sneaky], device, { trace: true });
  await waitFor("the untraced event at the emulator", async () => (await stack.accepted(sneaky.id)).length === 1);
  const untraced = await traceOf(device);
  assert.equal(untraced.until, 0);
  assert.deepEqual(untraced.events, []);

  // Traced, then switched off: events after that are not noted.
  const traced = randomUUID();
  await stack.admin("trace", { deviceUUID: traced });
  const first = view();
  await stack.send([first], traced);
  await stateOf(traced, first.id, "delivered");
  await stack.admin("trace", { deviceUUID: traced, hours: 0 });
  const later = view();
  await stack.send([later], traced);
  await waitFor("the later event at the emulator", async () => (await stack.accepted(later.id)).length === 1);
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
  for (const b of batches) await stack.send(b, device);
  const ids = new Set(batches.flat().map((e) => e.id));
  const ours = async () => (await stack.emulator.requests()).filter((q) => ids.has(q.transactionId)).length;
  await waitFor("120 events at the emulator", async () => (await ours()) >= 120, { timeoutMs: 60000 });
  await stack.drain();
  const notes = (await traceOf(device)).events;
  assert.ok(notes.length >= 10 && notes.length <= 20, `kept ${notes.length} notes with a cap of 10`);
  assert.ok(notes.every((n) => ids.has(n.id)));
  // The ids were still recorded: the same batch again is answered, not queued again.
  const before = (await stack.admin("counters")).resent || 0;
  await stack.send(batches[2], device);
  await waitFor("the resend counted", async () => ((await stack.admin("counters")).resent || 0) >= before + 40);
  await stack.drain();
  assert.equal(await ours(), 120, "nothing sent twice");
});

test("the QA page's origin may call QA's admin routes (CORS) with QA_TOKEN only; the admin token is never taken from a page", async () => {
  const preflight = (origin) =>
    timedFetch(`${stack.collectorUrl}/v1/admin/dead-letters`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "GET", "access-control-request-headers": "authorization" },
    });
  const ok = await preflight(stack.shopUrl);
  assert.equal(ok.status, 204);
  assert.equal(ok.headers.get("access-control-allow-origin"), stack.shopUrl);
  assert.match(ok.headers.get("access-control-allow-headers"), /Authorization/);
  assert.equal((await preflight("https://evil.example")).status, 403);
  const device = randomUUID();
  const get = (path, token, origin = stack.shopUrl, cookie = `mindboxDeviceUUID=${device}`) =>
    timedFetch(`${stack.collectorUrl}/v1/admin/${path}`, { headers: { origin, cookie, ...(token ? { authorization: `Bearer ${token}` } : {}) } });
  const noToken = await get(`dead-letters?ids=x&device=${device}`);
  assert.equal(noToken.status, 401);
  assert.equal(noToken.headers.get("access-control-allow-origin"), stack.shopUrl, "the page can read why");
  const qa = await get(`dead-letters?ids=x&device=${device}`, stack.qaToken);
  assert.equal(qa.status, 200);
  assert.equal(qa.headers.get("access-control-allow-origin"), stack.shopUrl);
  assert.deepEqual((await qa.json()).deadLetters, []);
  // QA's token opens one device's letters and trace, nothing else; routes that are not QA's answer
  // no CORS at all.
  for (const path of ["counters", "dead-letters", "dead-letters?ids=x", "health"]) {
    const r = await get(path, stack.qaToken);
    assert.equal(r.status, 403, path);
    if (!path.startsWith("dead-letters")) assert.equal(r.headers.get("access-control-allow-origin"), null, `${path}: no CORS outside QA's routes`);
    assert.match((await r.json()).reason, /QA_TOKEN/);
  }
  // The admin token from a page (any Origin, the shop's too) is refused; from a terminal it works.
  for (const origin of [stack.shopUrl, "https://evil.example"]) {
    const r = await get(`dead-letters?ids=x&device=${device}`, stack.adminToken, origin);
    assert.equal(r.status, 403, origin);
    assert.match((await r.json()).reason, /never taken from a web page/);
  }
  const foreign = await get(`dead-letters?ids=x&device=${device}`, stack.qaToken, "https://evil.example");
  assert.equal(foreign.headers.get("access-control-allow-origin"), null);
  // QA's token follows only the device of the browser it comes from (its cookie).
  for (const cookie of ["", `mindboxDeviceUUID=${randomUUID()}`]) {
    for (const path of [`dead-letters?ids=x&device=${device}`, `trace?device=${device}`]) {
      const r = await get(path, stack.qaToken, stack.shopUrl, cookie);
      assert.equal(r.status, 403, `${path} with ${cookie || "no cookie"}`);
      assert.match((await r.json()).reason, /browser it comes from/);
    }
  }
  // The admin token from a same-origin page (no Origin, but Sec-Fetch-*) is refused too.
  const sameOrigin = await timedFetch(`${stack.collectorUrl}/v1/admin/counters`, { headers: { authorization: `Bearer ${stack.adminToken}`, "sec-fetch-site": "same-origin", "sec-fetch-mode": "cors" } });
  assert.equal(sameOrigin.status, 403);
  assert.ok((await stack.admin("counters")).accepted >= 0);
});
