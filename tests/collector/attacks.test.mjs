// The collector as an attacker meets it, in local workerd against the Mindbox emulator: every rule of
// the gate is tried with letter case, numbers for strings, duplicate keys, other customers' ids, clocks
// and unreadable events, and each test checks both the answer and what reached Mindbox.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { useStack, waitFor } from "../support/stack.mjs";
import { event, view, cart } from "../support/events.mjs";

const stack = useStack({}, { resetEach: true });

/** Sends each event alone; returns [code or "accepted", path] per event. */
async function verdicts(events) {
  const out = [];
  for (const e of events) {
    const r = await stack.post({ events: [e] });
    assert.ok([202, 422].includes(r.status), r.text);
    const [x] = r.json.results;
    out.push(x.status === "accepted" ? ["accepted"] : [x.reason, x.path]);
  }
  return out;
}
/** What Mindbox got, besides the sentinel. */
const atMindbox = () => stack.drain();

test("customer keys in any letter case (and .NET's ı, ſ) need the ticket like the canonical ones", async () => {
  const edit = (data) => event("Website.EditCustomer", data);
  const attacks = [
    edit({ Customer: { ids: { websiteID: "victim" }, firstName: "Mallory" } }),
    edit({ CUSTOMER: { Ids: { websiteID: "victim" } } }),
    edit({ customer: { IDS: { websiteID: "victim" } } }),
    edit({ customer: { EMAIL: "victim@example.com" } }),
    edit({ customer: { MobilePhone: "79001112233" } }),
    edit({ customer: { DiscountCard: { ids: { number: "4000" } } } }),
    edit({ "cuſtomer": { "ıds": { websiteID: "victim" } } }),
    edit({ order: { customer: { ids: { websiteID: "victim" } } } }),
  ];
  for (const [reason, path] of await verdicts(attacks)) {
    assert.match(reason, /authenticationTicket/);
    assert.match(path, /^events\[0\]\.data\./);
  }
  assert.deepEqual(await atMindbox(), []);
});

test("two keys that differ only by case are refused as ambiguous, never one of them chosen", async () => {
  const t = stack.ticket("u1");
  const attacks = [
    event("Website.EditCustomer", { customer: { ids: { websiteID: "u1" }, authenticationTicket: t }, Customer: { ids: { websiteID: "victim" } } }),
    event("Website.EditCustomer", { customer: { ids: { websiteID: "u1" }, Ids: { websiteID: "victim" }, authenticationTicket: t } }),
    event("Website.EditCustomer", { customer: { ids: { websiteID: "u1", WebsiteId: "victim" }, authenticationTicket: t } }),
  ];
  for (const [reason] of await verdicts(attacks)) assert.match(reason, /differ only by letter case/);
  // The same key twice in the JSON text: the collector forwards its own reading (the last one), so what
  // it checked is what Mindbox gets: here the victim's id without its ticket, refused.
  const dup = await stack.post(
    `{"events":[{"id":"${randomUUID()}","operation":"Website.EditCustomer","data":{"customer":{"ids":{"websiteID":"u1"},"authenticationTicket":"${t}","ids":{"websiteID":"victim"}}}}]}`,
  );
  assert.equal(dup.status, 422, dup.text);
  assert.match(dup.json.results[0].reason, /vouches for websiteID "u1"/);
  assert.deepEqual(await atMindbox(), []);
});

test("numbers, booleans and objects where an identifier belongs never make an event look anonymous", async () => {
  const edit = (customer) => event("Website.EditCustomer", { customer });
  const [[phone], [id], [bool], [obj], [frac]] = await verdicts([
    edit({ mobilePhone: 79001112233 }),
    edit({ ids: { websiteID: 42 } }),
    edit({ email: true }),
    edit({ email: { value: "victim@example.com" } }),
    edit({ mobilePhone: 79001112233.5 }),
  ]);
  assert.match(phone, /authenticationTicket/);
  assert.match(id, /authenticationTicket/);
  for (const r of [bool, obj, frac]) assert.match(r, /must be text/);
  // A number vouched for by its ticket goes through, and Mindbox gets it as text.
  const ok = event("Website.AuthorizeCustomer", { customer: { ids: { websiteID: 42 }, authenticationTicket: stack.ticket("42") } });
  assert.deepEqual(await verdicts([ok]), [["accepted"]]);
  const [req] = await atMindbox();
  assert.deepEqual(req.body.customer.ids, { websiteID: "42" });
});

test("every identifier is bound to the ticket: email, phone, ids anywhere, discount card; non-ASCII digits are not digits", async () => {
  const email = stack.emailTicket("anna@example.com");
  const phone = stack.phoneTicket("79001112233");
  const id = stack.ticket("u1");
  const c = (customer) => event("Website.EditCustomer", { customer });
  const results = await verdicts([
    c({ email: "anna@example.com", mobilePhone: "79990000000", authenticationTicket: email }),
    c({ mobilePhone: "79001112233", email: "victim@example.com", authenticationTicket: phone }),
    c({ email: "anna@example.com", ids: { websiteID: "victim" }, authenticationTicket: email }),
    c({ ids: { websiteID: "u1" }, email: "victim@example.com", authenticationTicket: id }),
    c({ ids: { websiteID: "u1" }, area: { ids: { externalId: "victim" } }, authenticationTicket: id }),
    c({ ids: { websiteID: "u1" }, discountCard: { ids: { number: "4000" } }, authenticationTicket: id }),
    c({ mobilePhone: "79001112233٥", authenticationTicket: phone }),
    c({ mobilePhone: "７９００１１１２２３３", authenticationTicket: phone }),
  ]);
  const reasons = results.map(([r]) => r);
  for (const r of reasons.slice(0, 6)) assert.match(r, /the ticket vouches/);
  for (const r of reasons.slice(6)) assert.match(r, /only the digits 0-9/);
  assert.deepEqual(await atMindbox(), []);
  // The ticket's own phone and email, in any spelling, go through in one spelling.
  const good = [
    c({ mobilePhone: "8 (900) 111-22-33", firstName: "Анна", authenticationTicket: phone }),
    c({ Email: " Anna@Example.com ", authenticationTicket: email }),
  ];
  assert.deepEqual(await verdicts(good), [["accepted"], ["accepted"]]);
  const reqs = await atMindbox();
  assert.equal(reqs.find((q) => q.transactionId === good[0].id).body.customer.mobilePhone, "79001112233");
  assert.equal(reqs.find((q) => q.transactionId === good[1].id).body.customer.email, "anna@example.com");
});

test("without a ticket a subscription form only subscribes an email or phone", async () => {
  const sub = (customer) => event("Website.SubscribeCustomer", { customer });
  const yes = [{ pointOfContact: "Email", isSubscribed: true }];
  const attacks = await verdicts([
    sub({ email: "victim@example.com", subscriptions: [{ pointOfContact: "Email", isSubscribed: false }] }),
    sub({ email: "victim@example.com", subscriptions: [{ pointOfContact: "Email", isSubscribed: "false" }] }),
    sub({ email: "victim@example.com", ids: { websiteID: "victim" }, subscriptions: yes }),
    sub({ email: "victim@example.com", firstName: "Mallory", subscriptions: yes }),
    sub({ email: "victim@example.com", customFields: { vip: false }, subscriptions: yes }),
    sub({ Email: "victim@example.com", Subscriptions: [{ PointOfContact: "Email", IsSubscribed: false }] }),
  ]);
  for (const [reason, path] of attacks) {
    assert.match(reason, /may only subscribe an email or phone/);
    assert.match(path, /^events\[0\]\.data\.customer\./);
  }
  assert.deepEqual(await atMindbox(), []);
  const ok = sub({ email: "Fan@Example.com", subscriptions: [{ pointOfContact: "Email", brand: "shop", topic: "news", isSubscribed: true }] });
  const unsub = sub({ email: "anna@example.com", subscriptions: [{ pointOfContact: "Email", isSubscribed: false }], authenticationTicket: stack.emailTicket("anna@example.com") });
  assert.deepEqual(await verdicts([ok, unsub]), [["accepted"], ["accepted"]]);
  const reqs = await atMindbox();
  assert.equal(reqs.find((q) => q.transactionId === ok.id).body.customer.email, "fan@example.com");
  assert.ok(reqs.some((q) => q.transactionId === unsub.id), "an unsubscription with the customer's ticket goes through");
});

/** Asks /v1/sync for the balance of the customer in `data`. */
async function sync(data) {
  const r = await stack.sync({ operation: "Website.GetCustomerBalance", data });
  return { status: r.status, body: r.json };
}

test("/v1/sync: email and phone tickets work, and the same rules refuse other customers", async () => {
  const byEmail = await sync({ customer: { email: "anna@example.com", authenticationTicket: stack.emailTicket("anna@example.com") } });
  assert.equal(byEmail.status, 200, JSON.stringify(byEmail.body));
  const byPhone = await sync({ customer: { mobilePhone: "+7 900 111-22-33", authenticationTicket: stack.phoneTicket("79001112233") } });
  assert.equal(byPhone.status, 200, JSON.stringify(byPhone.body));
  for (const data of [
    { Customer: { Ids: { websiteID: "victim" }, authenticationTicket: stack.ticket("u1") } },
    { customer: { email: "victim@example.com", authenticationTicket: stack.phoneTicket("79001112233") } },
    { customer: { mobilePhone: 79001112233 } },
  ]) {
    const r = await sync(data);
    assert.equal(r.status, 403, JSON.stringify(r.body));
  }
  const calls = (await stack.emulator.attempts()).filter((a) => a.path === "/v3/operations/sync");
  assert.equal(calls.length, 2, "only the two verified calls reached Mindbox");
  assert.equal(calls[1].body.customer.mobilePhone, "79001112233");
});

test("an event the collector's JSON reader refuses costs only itself", async () => {
  const good = view();
  const half = randomUUID();
  const deep = randomUUID();
  const nest = "[".repeat(200) + "1" + "]".repeat(200);
  const body = `{"events":[${JSON.stringify(good)},{"id":"${half}","operation":"Website.ViewProduct","data":{"name":"cut \\ud83d"}},{"id":"${deep}","operation":"Website.ViewProduct","data":{"x":${nest}}}]}`;
  const r = await stack.post(body);
  assert.equal(r.status, 202, r.text);
  const results = r.json.results;
  assert.deepEqual(results.map((x) => [x.id, x.status]), [[good.id, "accepted"], [half, "rejected"], [deep, "rejected"]]);
  assert.match(results[1].reason, /cannot be read/);
  assert.deepEqual((await atMindbox()).map((q) => q.transactionId), [good.id]);
});

test("a request refused as a whole says which kind: too big, or not a batch", async () => {
  const notJson = await stack.post("{not json");
  assert.equal(notJson.status, 400);
  assert.equal(notJson.json.error, "not_json");
  const big = await stack.post({ events: [event("Website.ViewProduct", { pad: "x".repeat(70000) })] });
  assert.equal(big.status, 413);
  assert.equal(big.json.error, "body_too_large");
});

const carts = async (device) => {
  await atMindbox();
  return (await stack.emulator.requests()).filter((q) => q.deviceUUID === device && q.operation.startsWith("Website.") && q.path.endsWith("async"));
};

test("a cart from a clock hours or years ahead does not make later carts 'superseded'", async () => {
  for (const ahead of [3 * 3600e3, 80 * 365 * 86400e3]) {
    for (const withSentAt of [true, false]) {
      const device = randomUUID();
      const future = Date.now() + ahead;
      // The poisoned snapshot: from a wrong clock (with sentAt), or a raw client lying about createdAt.
      const first = await stack.post({ deviceUUID: device, ...(withSentAt ? { sentAt: future } : {}), events: [cart(1, { createdAt: future })] });
      assert.equal(first.status, 202, first.text);
      await waitFor("the first cart", async () => (await carts(device)).length === 1);
      // The shopper's next cart, seconds later, from a correct clock.
      await new Promise((r) => setTimeout(r, 2100)); // past the collector's 2 s "near" window
      const next = cart(2, { createdAt: Date.now() });
      const r = await stack.post({ deviceUUID: device, sentAt: Date.now(), events: [next] });
      assert.equal(r.status, 202, r.text);
      const got = await waitFor("the next cart at Mindbox", async () => {
        const c = await carts(device);
        return c.some((q) => q.transactionId === next.id) && c;
      });
      assert.equal(got.at(-1).transactionId, next.id, `ahead ${ahead} ms, sentAt ${withSentAt}`);
    }
  }
});

test("clearCart then setCart made in the same millisecond end as the set cart, every time", async () => {
  const devices = [];
  for (let i = 0; i < 12; i++) {
    const device = randomUUID();
    const t = Date.now();
    // Exactly what the tracker writes: call times 1 µs apart, same millisecond, random ids.
    const clear = event("Website.ClearCart", {}, { createdAt: t + 0.001 });
    const set = cart(3, { createdAt: t + 0.002 });
    const r = await stack.post({ deviceUUID: device, sentAt: t + 5, events: [clear, set] });
    assert.equal(r.status, 202, r.text);
    devices.push([device, set.id]);
  }
  // A snapshot waits (2 s) while another of its list is in flight, so poll rather than drain.
  const lastOf = (reqs, device) => reqs.filter((q) => q.deviceUUID === device).at(-1)?.transactionId;
  const reqs = await waitFor("every device's set cart", async () => {
    const r = await stack.emulator.requests();
    return devices.every(([device, setId]) => lastOf(r, device) === setId) && r;
  }, { timeoutMs: 30000 }).catch(() => null);
  const final = reqs || (await stack.emulator.requests());
  for (const [device, setId] of devices) {
    const list = final.filter((q) => q.deviceUUID === device);
    assert.equal(lastOf(final, device), setId, `device ${device}: ${list.map((q) => q.operation)}`);
  }
  // Nothing older follows later.
  await atMindbox();
  const after = await stack.emulator.requests();
  for (const [device, setId] of devices) assert.equal(lastOf(after, device), setId);
});

test("the event's own time reaches Mindbox: made two hours before delivery, dateTimeOffset says two hours", async () => {
  const sentAt = Date.now() + 3 * 86400e3; // the tracker's clock is three days fast; only the age counts
  const old = view({ createdAt: sentAt - 2 * 3600e3 }, "1");
  const now = view({ createdAt: sentAt }, "2");
  const r = await stack.post({ sentAt, events: [old, now] });
  assert.equal(r.status, 202, r.text);
  const reqs = await atMindbox();
  const offset = (id) => reqs.find((q) => q.transactionId === id).dateTimeOffset;
  assert.ok(Math.abs(offset(old.id) - 2 * 3600e3) < 15000, `dateTimeOffset ${offset(old.id)}`);
  assert.ok(offset(now.id) >= 0 && offset(now.id) < 15000, `dateTimeOffset ${offset(now.id)}`);
});
