// Collector tests in local workerd (wrangler dev), against the Mindbox emulator.
//
// "Nothing enqueued" is shown without sleeping: after a bad request, a good "sentinel" event is sent;
// once the sentinel reaches the emulator, anything queued before it would have too.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { startStack, waitFor } from "../stack.mjs";

let stack;
const seen = []; // every response body and header block the tests received, for the secret-key check

before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

async function post(body, { origin = stack.shopUrl, headers = {} } = {}) {
  const res = await fetch(`${stack.collectorUrl}/v1/events`, {
    method: "POST",
    headers: { "content-type": "text/plain;charset=UTF-8", ...(origin ? { origin } : {}), ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  seen.push(text, JSON.stringify([...res.headers]));
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
}

const view = (id = randomUUID()) => ({
  id,
  operation: "Website.ViewProduct",
  data: { viewProduct: { product: { ids: { website: "123" } } } },
});

const drain = () => stack.drain();

test("a valid event is queued, answered 202, and delivered to Mindbox with the key and ids", async () => {
  await stack.emulator.reset();
  const device = randomUUID();
  const event = view();
  const r = await post({ deviceUUID: device, events: [event] }, { headers: { "user-agent": "TestBrowser/1.0" } });
  assert.equal(r.status, 202, r.text);
  assert.deepEqual(r.json().results, [{ id: event.id, status: "accepted" }]);
  assert.equal(r.json().deviceUUID, device);
  assert.equal(r.headers.get("access-control-allow-origin"), stack.shopUrl);
  assert.match(r.headers.get("set-cookie"), new RegExp(`mindboxDeviceUUID=${device}; Path=/; Max-Age=31536000`));
  const [req] = await waitFor("the event at the emulator", async () => {
    const reqs = await stack.emulator.requests();
    return reqs.length ? reqs : null;
  });
  assert.equal(req.path, "/v3/operations/async");
  assert.equal(req.operation, "Website.ViewProduct");
  assert.equal(req.endpointId, stack.endpointId);
  assert.equal(req.deviceUUID, device);
  assert.equal(req.transactionId, event.id);
  assert.equal(req.headers.authorization, `SecretKey ${stack.secretKey}`);
  assert.equal(req.headers["user-agent"], "TestBrowser/1.0");
  assert.deepEqual(req.body, event.data);
});

test("not JSON: 400 with a reason, nothing enqueued", async () => {
  await stack.emulator.reset();
  const r = await post("this is not json");
  assert.equal(r.status, 400);
  assert.equal(r.json().error, "not_json");
  assert.match(r.json().reason, /not JSON/);
  assert.deepEqual(await drain(), []);
});

test("unknown operation: 422 naming the field, nothing enqueued", async () => {
  await stack.emulator.reset();
  const r = await post({ events: [{ ...view(), operation: "Website.DeleteAllCustomers" }] });
  assert.equal(r.status, 422);
  const [result] = r.json().results;
  assert.equal(result.status, "rejected");
  assert.equal(result.path, "events[0].operation");
  assert.match(result.reason, /allowlist/);
  assert.deepEqual(await drain(), []);
});

test("a bad event is rejected by path while the good one in the same batch goes through", async () => {
  await stack.emulator.reset();
  const good = view();
  const r = await post({ events: [good, { ...view(), data: "not an object" }] });
  assert.equal(r.status, 202);
  assert.deepEqual(
    r.json().results.map((x) => [x.status, x.path]),
    [["accepted", undefined], ["rejected", "events[1].data"]],
  );
  const delivered = await drain();
  assert.deepEqual(delivered.map((q) => q.transactionId), [good.id]);
});

test("body over the size cap: 413 before parsing, nothing enqueued", async () => {
  await stack.emulator.reset();
  const big = { events: [{ ...view(), data: { blob: "x".repeat(70 * 1024) } }] };
  const r = await post(big);
  assert.equal(r.status, 413);
  assert.equal(r.json().error, "body_too_large");
  assert.match(r.json().reason, /65536-byte cap/);
  assert.deepEqual(await drain(), []);
});

test("an origin not on ALLOWED_ORIGINS gets 403, nothing enqueued", async () => {
  await stack.emulator.reset();
  const r = await post({ events: [view()] }, { origin: "https://evil.example" });
  assert.equal(r.status, 403);
  assert.match(r.json().reason, /ALLOWED_ORIGINS/);
  assert.equal(r.headers.get("access-control-allow-origin"), null);
  assert.deepEqual(await drain(), []);
});

test("after a Mindbox 5xx outage every event arrives exactly once", async () => {
  await stack.emulator.reset();
  await stack.emulator.fail({ count: 3, status: 503 });
  const events = [view(), view(), view()];
  const r = await post({ events });
  assert.equal(r.status, 202);
  const delivered = await waitFor(
    "all three events after the outage",
    async () => {
      const reqs = await stack.emulator.requests();
      return reqs.length >= 3 && reqs;
    },
    { timeoutMs: 30000 },
  );
  assert.deepEqual(delivered.map((q) => q.transactionId).sort(), events.map((e) => e.id).sort());
  const attempts = await stack.emulator.attempts();
  assert.equal(attempts.filter((a) => a.status === 503).length, 3, "the outage was seen");
});

test("the secret key appears in no response, tracker file or log line", async () => {
  for (const path of ["/tracker.js", "/tracker.wasm", "/v1/health", "/nope"]) {
    const res = await fetch(`${stack.collectorUrl}${path}`);
    assert.equal(res.status, path === "/nope" ? 404 : 200, path);
    seen.push(Buffer.from(await res.arrayBuffer()).toString("latin1"), JSON.stringify([...res.headers]));
  }
  const all = seen.join("\n");
  assert.ok(all.length > 10000, "the tracker files were read");
  assert.ok(!all.includes(stack.secretKey), "secret key in a response");
  assert.ok(!stack.collectorLog().includes(stack.secretKey), "secret key in the collector's log");
});
