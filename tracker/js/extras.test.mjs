// Unit tests of the calls only some pages make (extras.js): the Mindbox bodies they build, and what
// they refuse, over a fake of the loader's api.
import { test } from "node:test";
import assert from "node:assert/strict";

globalThis.window = globalThis.window || {};
await import("./extras.js");
const run = window.mindboxEdgeExtras;

/** Runs one call; returns what it did: `["event", method, operation, data]`, `["ask", …]` or `["fail", …]`. */
function one(method, arg, settings = {}) {
  const did = [];
  const api = {
    settings,
    event: (m, op, data) => did.push(["event", m, op, JSON.parse(JSON.stringify(data))]),
    ask: (op, data) => did.push(["ask", op, JSON.parse(JSON.stringify(data))]),
    fail: (m, message) => did.push(["fail", m, message]),
  };
  run(method, arg, {}, api);
  assert.equal(did.length, 1, `${method} did one thing`);
  return did[0];
}

test("customer calls send only what is set, in Mindbox's shape; subscribe defaults to Email", () => {
  assert.deepEqual(one("authorize", { ids: { websiteID: 42 }, email: "a@b.ru", authenticationTicket: "t", onSuccess() {} }), [
    "event", "authorize", "Website.AuthorizeCustomer",
    { customer: { ids: { websiteID: "42" }, email: "a@b.ru", authenticationTicket: "t" } },
  ]);
  assert.deepEqual(one("subscribe", { email: "a@b.ru" })[3], {
    customer: { email: "a@b.ru", subscriptions: [{ pointOfContact: "Email", isSubscribed: true }] },
  });
  // An explicit empty list is not "subscribe to Email"; brand and topic are carried; false unsubscribes.
  assert.deepEqual(one("subscribe", { email: "a@b.ru", subscriptions: [] })[3], { customer: { email: "a@b.ru" } });
  assert.deepEqual(
    one("editCustomer", { firstName: "Анна", birthDate: "1990-01-01", subscriptions: [{ pointOfContact: "Sms", isSubscribed: false, brand: "B", topic: "news" }], customFields: { x: [1] } })[3],
    { customer: { firstName: "Анна", birthDate: "1990-01-01", subscriptions: [{ pointOfContact: "Sms", brand: "B", topic: "news", isSubscribed: false }], customFields: { x: [1] } } },
  );
  // Phones and emails go as written: the collector puts them in Mindbox's spelling.
  assert.deepEqual(one("register", { mobilePhone: "8 (912) 345-67-89" })[3], { customer: { mobilePhone: "8 (912) 345-67-89" } });
  assert.equal(one("register", { email: "a@b.ru" }, { operations: { register: "Shop.Register" } })[2], "Shop.Register");
});

test("customer calls say what was expected, and only a boolean subscribes or unsubscribes", () => {
  for (const [arg, why] of [
    [[], /customer object/],
    [{ ids: "u1" }, /ids: expected an object/],
    [{ ids: { websiteID: true } }, /string or number values/],
    [{ ids: { websiteID: "" } }, /websiteID: expected a non-empty id/],
    [{ birthDate: "1990-1-1" }, /YYYY-MM-DD/],
    [{ subscriptions: [{ pointOfContact: "Sms", isSubscribed: "false" }] }, /subscriptions/],
    [{ subscriptions: [{ pointOfContact: "Sms", isSubscribed: 0 }] }, /subscriptions/],
    [{ subscriptions: [{ pointOfContact: "Sms", isSubscribed: null }] }, /subscriptions/],
    [{ subscriptions: { pointOfContact: "Sms" } }, /subscriptions/],
    [{ customFields: 5 }, /customFields/],
  ]) {
    const [what, , message] = one("editCustomer", arg);
    assert.equal(what, "fail", JSON.stringify(arg));
    assert.match(message, why, JSON.stringify(arg));
  }
});

test("loyalty questions ask the collector with Mindbox's bodies", () => {
  const who = { customer: { ids: { websiteID: "u1" }, authenticationTicket: "t" } };
  assert.deepEqual(one("getBalance", who), ["ask", "Website.GetCustomerBalance", who]);
  assert.deepEqual(one("getTier", who, { operations: { getTier: "Shop.Tier" } }), ["ask", "Shop.Tier", who]);
  assert.deepEqual(one("getPointsHistory", { ...who, itemsPerPage: 5 }), [
    "ask", "Website.GetCustomerBonusPointsHistory", { ...who, page: { pageNumber: 1, itemsPerPage: 5 } },
  ]);
  assert.equal(one("getPointsHistory", { ...who, pageNumber: 0 })[0], "fail");
  assert.equal(one("getPointsHistory", { ...who, pageNumber: "2" })[0], "fail");
  assert.match(one("getTier", {})[2], /customer/);
  assert.deepEqual(one("calculateCart", { ...who, items: [{ productId: "7", count: 2, price: 4990 }] }), [
    "ask", "Website.CalculateAuthorizedCart",
    { ...who, order: { lines: [{ lineNumber: 1, quantity: 2, basePricePerItem: 4990, product: { ids: { website: "7" } } }] } },
  ]);
  assert.deepEqual(one("calculateCart", [{ productGroupId: 9, price: 0 }], { productIdSystem: "bitrixId" }), [
    "ask", "Website.CalculateUnauthorizedCart",
    { order: { lines: [{ lineNumber: 1, quantity: 1, basePricePerItem: 0, productGroup: { ids: { bitrixId: "9" } } }] } },
  ]);
  for (const bad of [[{ productId: "7" }], [{ productId: "7", price: -1 }], [{ productId: "7", price: 1, count: 0 }], [{ price: 1 }], {}]) {
    assert.equal(one("calculateCart", bad)[0], "fail", JSON.stringify(bad));
  }
});
