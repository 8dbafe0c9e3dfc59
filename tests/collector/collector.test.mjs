// The collector's browser route, POST /v1/events, in local workerd against the Mindbox emulator: what
// it accepts, queues and delivers, what it refuses and why; tickets, static files, secrets, admin token.
//
// "Nothing enqueued" is shown without sleeping: after a bad request, a good "sentinel" event is sent;
// once the sentinel reaches the emulator, anything queued before it would have too.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { useStack, waitFor, timedFetch, postChunked, startOfAMinute, CHUNKED_413_SKIP, PROFILE } from "../support/stack.mjs";
import { event, view } from "../support/events.mjs";

const seen = []; // every response body and header block the tests received, for the secret-key check
const stack = useStack({ profile: PROFILE, onAnswer: (a) => seen.push(a.text, JSON.stringify([...a.headers])) });
const drain = () => stack.drain();

test("a valid event is queued, answered 202, and delivered to Mindbox with the key and ids", async () => {
  await stack.emulator.reset();
  const device = randomUUID();
  const event = view();
  const r = await stack.post({ deviceUUID: device, events: [event] }, { headers: { "user-agent": "TestBrowser/1.0" } });
  assert.equal(r.status, 202, r.text);
  assert.deepEqual(r.json.results, [{ id: event.id, status: "accepted" }]);
  assert.equal(r.json.deviceUUID, device);
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
  const r = await stack.post("this is not json");
  assert.equal(r.status, 400);
  assert.equal(r.json.error, "not_json");
  assert.match(r.json.reason, /not JSON/);
  assert.deepEqual(await drain(), []);
});

test("unknown operation: 422 naming the field, nothing enqueued", async () => {
  await stack.emulator.reset();
  const r = await stack.post({ events: [{ ...view(), operation: "Website.DeleteAllCustomers" }] });
  assert.equal(r.status, 422);
  const [result] = r.json.results;
  assert.equal(result.status, "rejected");
  assert.equal(result.path, "events[0].operation");
  assert.match(result.reason, /allowlist/);
  assert.deepEqual(await drain(), []);
});

test("a bad event is rejected by path while the good one in the same batch goes through", async () => {
  await stack.emulator.reset();
  const good = view();
  const r = await stack.post({ events: [good, { ...view(), data: "not an object" }] });
  assert.equal(r.status, 202);
  assert.deepEqual(
    r.json.results.map((x) => [x.status, x.path]),
    [["accepted", undefined], ["rejected", "events[1].data"]],
  );
  const delivered = await drain();
  assert.deepEqual(delivered.map((q) => q.transactionId), [good.id]);
});

test("a batch for another Mindbox endpoint (a pasted wrong snippet): every event rejected with both ids, nothing enqueued", async () => {
  await stack.emulator.reset();
  const events = [view(), view()];
  const r = await stack.post({ endpointId: "other-shop", events });
  assert.equal(r.status, 422, r.text);
  for (const [i, res] of r.json.results.entries()) {
    assert.equal(res.id, events[i].id);
    assert.equal(res.status, "rejected");
    assert.equal(res.path, "endpointId");
    assert.match(res.reason, /"other-shop".*"demo-shop".*data-endpoint-id/);
  }
  // The endpoint id compares exactly: a case variant is another endpoint, as it is to Mindbox.
  assert.equal((await stack.post({ endpointId: "Demo-Shop", events: [view()] })).status, 422);
  for (const bad of [5, "demo shop", "x".repeat(129), ["demo-shop"]]) {
    const b = await stack.post({ endpointId: bad, events: [view()] });
    assert.equal(b.status, 400, `${JSON.stringify(bad).slice(0, 20)}: ${b.text}`);
    assert.equal(b.json.error, "not_a_batch");
  }
  const ok = view();
  assert.equal((await stack.post({ endpointId: stack.endpointId, events: [ok] })).status, 202);
  const others = await drain();
  assert.deepEqual(others.map((q) => q.transactionId), [ok.id], "only the event for this endpoint reached Mindbox");
});

test("body over the size cap: 413 before parsing, nothing enqueued", async () => {
  await stack.emulator.reset();
  const big = { events: [{ ...view(), data: { blob: "x".repeat(70 * 1024) } }] };
  const r = await stack.post(big);
  assert.equal(r.status, 413);
  assert.equal(r.json.error, "body_too_large");
  assert.match(r.json.reason, /65536-byte cap/);
  assert.deepEqual(await drain(), []);
});

test("an over-long body without Content-Length (chunked) is refused with 413 on /v1/events and /v1/sync", { skip: CHUNKED_413_SKIP }, async () => {
  await stack.emulator.reset();
  const headers = { origin: stack.shopUrl, "content-type": "text/plain" };
  const events = await postChunked(`${stack.collectorUrl}/v1/events`, 64 * 1024 + 20000, headers);
  assert.equal(events.status, 413, events.text);
  assert.equal(events.json.error, "body_too_large");
  const sync = await postChunked(`${stack.collectorUrl}/v1/sync`, 16 * 1024 + 20000, headers);
  assert.equal(sync.status, 413, sync.text);
  assert.equal(sync.json.error, "body_too_large");
  // Under the cap, a chunked body is read whole (and here refused for what it is, not its length).
  const small = await postChunked(`${stack.collectorUrl}/v1/sync`, 100, headers);
  assert.equal(small.status, 400, small.text);
  assert.deepEqual(await drain(), []);
});

test("a full batch with a long User-Agent needs several sendBatch calls: all accepted and delivered once", async () => {
  await stack.emulator.reset();
  // 100 events of about 600 bytes and a 3 KB User-Agent: about 360 KB of queue messages, over one
  // sendBatch's 256 KB.
  const events = Array.from({ length: 100 }, () => ({ ...view(), data: { viewProduct: { product: { ids: { website: "1" } } }, note: "n".repeat(400) } }));
  const r = await stack.post({ events }, { headers: { "user-agent": `LongBrowser/1.0 ${"x".repeat(3000)}` } });
  assert.equal(r.status, 202, r.text.slice(0, 300));
  assert.ok(r.json.results.every((x) => x.status === "accepted"));
  // (Waited for by count: the self-hosted queue's shards deliver independently of a drain's sentinel.)
  const ids = new Set(events.map((e) => e.id));
  const ours = async () => (await stack.emulator.requests()).filter((q) => ids.has(q.transactionId));
  await waitFor("the 100 events at Mindbox", async () => (await ours()).length >= 100, { timeoutMs: 60000 });
  await drain();
  const reqs = await ours();
  assert.equal(reqs.length, 100);
  assert.equal(new Set(reqs.map((q) => q.transactionId)).size, 100);
});

test("an event sent again once it is queued is accepted again and not queued again: one Mindbox call", async () => {
  await stack.emulator.reset();
  const device = randomUUID();
  const event = view();
  const first = await stack.post({ deviceUUID: device, events: [event] });
  assert.equal(first.status, 202, first.text);
  await waitFor("the first copy at Mindbox", async () => (await stack.emulator.count()).accepted === 1);
  // The next visit resends it, in a batch with a new event.
  const other = view();
  const again = await stack.post({ deviceUUID: device, events: [event, other] });
  assert.equal(again.status, 202, again.text);
  assert.deepEqual(again.json.results.map((r) => r.status), ["accepted", "accepted"]);
  await waitFor("the new event at Mindbox", async () => (await stack.emulator.requests()).some((q) => q.transactionId === other.id));
  await drain();
  const attempts = (await stack.emulator.attempts()).filter((a) => a.transactionId === event.id);
  assert.equal(attempts.length, 1, "the resent event never reached Mindbox again");
});

test("a batch that says it is fresh is queued without looking for resends: a client that says so falsely only gets its own event twice", async () => {
  await stack.emulator.reset();
  const device = randomUUID();
  const event = view();
  assert.equal((await stack.post({ deviceUUID: device, events: [event] })).status, 202);
  await waitFor("the first copy at Mindbox", async () => (await stack.emulator.count()).accepted === 1);
  // Not fresh: the resend is caught. Fresh (a lie here): queued again, and Mindbox sees the same
  // transactionId twice.
  const caught = await stack.post({ deviceUUID: device, events: [event] });
  assert.deepEqual(caught.json.results.map((r) => r.status), ["accepted"]);
  const lied = await stack.post({ deviceUUID: device, fresh: true, events: [event] });
  assert.equal(lied.status, 202, lied.text);
  await waitFor("the second copy at Mindbox", async () =>
    (await stack.emulator.attempts()).filter((a) => a.transactionId === event.id).length === 2);
  await drain();
  assert.equal((await stack.emulator.attempts()).filter((a) => a.transactionId === event.id).length, 2);
  // Only a boolean says it, in that letter case: another spelling is no flag, so the resend is caught.
  const refused = [];
  for (const bad of ["true", 1, {}]) {
    const e = view();
    refused.push(e.id);
    const r = await stack.post({ deviceUUID: device, fresh: bad, events: [e] });
    assert.equal(r.status, 400, JSON.stringify(bad));
  }
  const upper = await stack.post({ deviceUUID: device, FRESH: true, Fresh: true, events: [event] });
  assert.deepEqual(upper.json.results.map((r) => r.status), ["accepted"]);
  await drain();
  const attempts = await stack.emulator.attempts();
  assert.equal(attempts.filter((a) => a.transactionId === event.id).length, 2, "no third copy");
  assert.ok(!attempts.some((a) => refused.includes(a.transactionId)), "nothing of a refused batch reached Mindbox");
});

test("a batch over the count cap: 400, nothing enqueued", async () => {
  await stack.emulator.reset();
  const r = await stack.post({ events: Array.from({ length: 101 }, () => view()) });
  assert.equal(r.status, 400);
  assert.equal(r.json.error, "too_many_events");
  assert.match(r.json.reason, /cap of 100/);
  assert.deepEqual(await drain(), []);
});

test("the shopper's cookies and headers never reach Mindbox; the client IP is not taken from the client", async () => {
  await stack.emulator.reset();
  const event = view();
  const r = await stack.post(
    { events: [event] },
    {
      headers: {
        cookie: "session=shop-session-secret; mindboxDeviceUUID=not-a-uuid",
        "x-customer-ip": "6.6.6.6",
        "x-forwarded-for": "6.6.6.6",
        "x-shop-header": "private",
      },
    },
  );
  assert.equal(r.status, 202, r.text);
  const [req] = (await drain()).filter((q) => q.transactionId === event.id);
  // Cloudflare (wrangler dev) sets CF-Connecting-IP; self-hosted, only the TLS proxy's header counts,
  // and the test stack, with no proxy in front, stands in for it with this machine's address
  // (selfhosted.test.mjs and devicestate.test.mjs test the header). Never the client's 6.6.6.6.
  assert.equal(req.headers["x-customer-ip"], "127.0.0.1");
  assert.equal(req.headers.cookie, undefined);
  assert.equal(req.headers["x-forwarded-for"], undefined);
  assert.equal(req.headers["x-shop-header"], undefined);
  assert.match(req.deviceUUID, /^[0-9a-f-]{36}$/, "a malformed device cookie is replaced");
});

test("an origin not on ALLOWED_ORIGINS gets 403, nothing enqueued", async () => {
  await stack.emulator.reset();
  const r = await stack.post({ events: [view()] }, { origin: "https://evil.example" });
  assert.equal(r.status, 403);
  assert.match(r.json.reason, /ALLOWED_ORIGINS/);
  assert.equal(r.headers.get("access-control-allow-origin"), null);
  assert.deepEqual(await drain(), []);
});

test("after a Mindbox 5xx outage every event arrives exactly once", async () => {
  await stack.emulator.reset();
  await stack.emulator.fail({ count: 3, status: 503 });
  const events = [view(), view(), view()];
  const r = await stack.post({ events });
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

test("a preflight from an allowed origin is answered with credentials; others get 403", async () => {
  const pre = (origin) =>
    timedFetch(`${stack.collectorUrl}/v1/events`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
    });
  const ok = await pre(stack.shopUrl);
  assert.equal(ok.status, 204);
  assert.equal(ok.headers.get("access-control-allow-origin"), stack.shopUrl);
  assert.equal(ok.headers.get("access-control-allow-credentials"), "true");
  assert.match(ok.headers.get("access-control-allow-methods"), /POST/);
  const bad = await pre("https://evil.example");
  assert.equal(bad.status, 403);
  assert.equal(bad.headers.get("access-control-allow-origin"), null);
});

const authorize = (customer) => event("Website.AuthorizeCustomer", { customer });

test("a customer with a valid authentication ticket goes through to Mindbox", async () => {
  await stack.emulator.reset();
  const event = authorize({ ids: { websiteID: "u1" }, authenticationTicket: stack.ticket("u1") });
  const r = await stack.post({ events: [event] });
  assert.equal(r.status, 202, r.text);
  const delivered = await drain();
  assert.deepEqual(delivered.map((q) => [q.operation, q.transactionId]), [["Website.AuthorizeCustomer", event.id]]);
});

test("forged, expired, mismatched or missing tickets are rejected and nothing reaches Mindbox", async () => {
  await stack.emulator.reset();
  const cases = [
    [{ ids: { websiteID: "u1" }, authenticationTicket: stack.ticket("u1", { key: "a-guessed-key" }) }, /signature/],
    [{ ids: { websiteID: "u1" }, authenticationTicket: stack.ticket("u1", { issued: new Date(Date.now() - 31 * 60000) }) }, /expired/],
    [{ ids: { websiteID: "victim" }, authenticationTicket: stack.ticket("u1") }, /vouches/],
    [{ ids: { websiteID: "u1" } }, /authenticationTicket/],
    [{ email: "victim@example.com" }, /authenticationTicket/],
  ];
  for (const [customer, reason] of cases) {
    const r = await stack.post({ events: [authorize(customer)] });
    assert.equal(r.status, 422, r.text);
    const [result] = r.json.results;
    assert.equal(result.status, "rejected");
    assert.match(result.path, /^events\[0\]\.data\.customer/);
    assert.match(result.reason, reason);
  }
  assert.deepEqual(await drain(), []);
});

test("a subscription form needs no ticket (UNVERIFIED_OPERATIONS)", async () => {
  await stack.emulator.reset();
  const subscribe = event("Website.SubscribeCustomer", { customer: { email: "a@example.com" } });
  const r = await stack.post({ events: [subscribe] });
  assert.equal(r.status, 202, r.text);
  assert.deepEqual((await drain()).map((q) => q.transactionId), [subscribe.id]);
});

test("the tracker files are served as static assets for any page, cached five minutes; other paths are 404", async () => {
  for (const [path, type] of [["/tracker.js", /javascript/], ["/tracker.wasm", /application\/wasm/], ["/tracker-extras.js", /javascript/], ["/tracker-qa.js", /javascript/]]) {
    const res = await timedFetch(`${stack.collectorUrl}${path}`, { headers: { origin: "https://any-shop-page.example" } });
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get("content-type"), type, path);
    assert.equal(res.headers.get("access-control-allow-origin"), "*", path);
    assert.equal(res.headers.get("cache-control"), "public, max-age=300", path);
    await res.arrayBuffer();
  }
  for (const path of ["/_headers", "/nope", "/v1/nope"]) {
    const res = await timedFetch(`${stack.collectorUrl}${path}`);
    assert.equal(res.status, 404, path);
    await res.arrayBuffer();
  }
});

test("the secret key appears in no response, tracker file or log line", async () => {
  // Its own requests of every kind (accepted, rejected, refused, sync), besides what earlier tests saw.
  await stack.post({ events: [view()] });
  await stack.post({ events: [{ ...view(), operation: "Admin.Nope" }] });
  await stack.post("not json");
  await stack.sync({ operation: "Website.GetCustomerBalance", data: { customer: { ids: { websiteID: "u1" } } } });
  await drain(); // nothing of this test left in flight for the next one
  for (const path of ["/tracker.js", "/tracker.wasm", "/v1/health", "/nope"]) {
    const res = await timedFetch(`${stack.collectorUrl}${path}`);
    assert.equal(res.status, path === "/nope" ? 404 : 200, path);
    seen.push(Buffer.from(await res.arrayBuffer()).toString("latin1"), JSON.stringify([...res.headers]));
  }
  const all = seen.join("\n");
  assert.ok(all.length > 10000, "the tracker files were read");
  assert.ok(!all.includes(stack.secretKey), "secret key in a response");
  assert.ok(!stack.collectorLog().includes(stack.secretKey), "secret key in the collector's log");
});

test("admin routes need the bearer token, and the token appears in no log line", async () => {
  for (const auth of [undefined, "Bearer wrong-token", stack.adminToken]) {
    const res = await timedFetch(`${stack.collectorUrl}/v1/admin/counters`, { headers: auth ? { authorization: auth } : {} });
    assert.equal(res.status, 401, `with ${auth}`);
    seen.push(await res.text());
  }
  const counters = await stack.admin("counters");
  assert.ok(counters.accepted >= 1, JSON.stringify(counters));
  assert.ok(counters["rejected.not_json"] >= 1, JSON.stringify(counters));
  assert.ok(counters["rejected.ticket_invalid"] >= 1, JSON.stringify(counters));
  assert.ok(!stack.collectorLog().includes(stack.adminToken), "admin token in the collector's log");
  assert.ok(!seen.join("\n").includes(stack.adminToken), "admin token in a response");
});

test("too many events from one device get 429 with Retry-After, nothing enqueued", async () => {
  await stack.emulator.reset();
  const deviceUUID = randomUUID();
  // Events the gate rejects still count: the limit is on what a device sends (300 a minute).
  const refused = () => Array.from({ length: 50 }, () => ({ ...view(), operation: "Admin.Nope" }));
  await startOfAMinute();
  let limited;
  let sent = 0;
  for (; sent < 20 && !limited; sent++) {
    const r = await stack.post({ deviceUUID, events: refused() });
    if (r.status === 429) limited = r;
    else assert.equal(r.status, 422, r.text);
  }
  assert.ok(limited, "the device limit was reached within 20 batches of 50");
  assert.equal(sent, 7, "six batches of 50 are the minute's 300 events");
  assert.equal(limited.headers.get("retry-after"), "60");
  assert.equal(limited.json.error, "rate_limited");
  const r = await stack.post({ deviceUUID, events: [view()] });
  assert.equal(r.status, 429);
  assert.deepEqual(await drain(), []);
});
