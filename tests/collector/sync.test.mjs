// The collector's sync route, POST /v1/sync, in local workerd against the Mindbox emulator: what a
// verified customer and any visitor may ask Mindbox, and what of its answer reaches the page.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useStack, PROFILE } from "../support/stack.mjs";

const stack = useStack({ profile: PROFILE });

test("/v1/sync answers a verified customer's balance with only the fields the page needs", async () => {
  await stack.emulator.reset();
  const r = await stack.sync({
    operation: "Website.GetCustomerBalance",
    data: { customer: { ids: { websiteID: "u1" }, authenticationTicket: stack.ticket("u1") } },
  });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, {
    status: "Success",
    balances: [{ systemName: "Main", name: "Бонусные баллы", total: 150, available: 100, blocked: 50 }],
  });
  const [call] = (await stack.emulator.attempts()).filter((a) => a.path === "/v3/operations/sync");
  assert.equal(call.operation, "Website.GetCustomerBalance");
  assert.equal(call.headers.authorization, `SecretKey ${stack.secretKey}`);
  assert.ok(!r.text.includes("private@example.com") && !r.text.includes("emulator-private-field"));
});

test("/v1/sync: any visitor may ask what a cart earns; a cart that names a customer needs the ticket", async () => {
  await stack.emulator.reset();
  const lines = [{ lineNumber: 1, quantity: 2, basePricePerItem: 4990, product: { ids: { website: "123" } } }];
  const guest = await stack.sync({ operation: "Website.CalculateUnauthorizedCart", data: { order: { lines } } });
  assert.equal(guest.status, 200, guest.text);
  assert.equal(guest.json.earnedPoints, 499);
  assert.equal(guest.json.order.totalPrice, 9980);
  assert.deepEqual(guest.json.order.lines[0].appliedPromotions, [{ type: "earnedBonusPoints", amount: 499 }]);
  assert.doesNotMatch(guest.text, /emulator-private|product|processingStatus/);
  const named = await stack.sync({ operation: "Website.CalculateAuthorizedCart", data: { customer: { ids: { websiteID: "u1" } }, order: { lines } } });
  assert.equal(named.status, 403, named.text);
  assert.match(named.json.reason, /authenticationTicket/);
  // The attacks on the anonymous path: the customer in another letter case, an id as a number, nested
  // under the order; all need the ticket, and none reaches Mindbox.
  for (const data of [
    { CUSTOMER: { IDS: { websiteID: "u1" } }, order: { lines } },
    { customer: { mobilePhone: 79001112233 }, order: { lines } },
    { order: { lines, customer: { email: "victim@example.com" } } },
  ]) {
    const r = await stack.sync({ operation: "Website.CalculateUnauthorizedCart", data });
    assert.equal(r.status, 403, `${JSON.stringify(data)}: ${r.text}`);
  }
  // Anything but the lines (another customer's order id, a card, coupons) never reaches Mindbox.
  const probe = await stack.sync({
    operation: "Website.CalculateUnauthorizedCart",
    data: { order: { ids: { websiteID: "someone-elses-order" }, discountCard: { ids: { number: "1" } }, coupons: [{ ids: { code: "X" } }], lines } },
  });
  assert.equal(probe.status, 200, probe.text);
  const sent = (await stack.emulator.attempts()).filter((a) => a.path === "/v3/operations/sync").at(-1);
  assert.deepEqual(sent.body, { order: { lines } });
  const verified = await stack.sync({
    operation: "Website.CalculateAuthorizedCart",
    data: { customer: { ids: { websiteID: "u1" }, authenticationTicket: stack.ticket("u1") }, order: { lines } },
  });
  assert.equal(verified.status, 200, verified.text);
  // Points history and tier, for a verified customer, trimmed to their projections.
  const who = { customer: { ids: { websiteID: "u1" }, authenticationTicket: stack.ticket("u1") } };
  const history = await stack.sync({ operation: "Website.GetCustomerBonusPointsHistory", data: { ...who, page: { pageNumber: 1, itemsPerPage: 20 } } });
  assert.equal(history.status, 200, history.text);
  assert.deepEqual(history.json.customerActions[1], {
    dateTimeUtc: "2026-11-22T12:30:00Z",
    actionTemplate: { name: "Оплата баллами" },
    customerBalanceChanges: [{ changeAmount: -20, balanceChangeKind: { systemName: "RetailOrderPayment" }, balanceType: { name: "Бонусные баллы" } }],
  });
  const tier = await stack.sync({ operation: "Website.GetCustomerSegments", data: who });
  assert.deepEqual(tier.json, {
    status: "Success",
    customerSegmentations: [{ segmentation: { ids: { externalId: "LoyaltyLevel" }, name: "Уровень лояльности" }, segment: { ids: { externalId: "Gold" }, name: "Золотой" } }],
  });
  const asked = (await stack.emulator.attempts()).filter((a) => a.path === "/v3/operations/sync").map((a) => a.operation);
  assert.deepEqual(asked, ["Website.CalculateUnauthorizedCart", "Website.CalculateUnauthorizedCart", "Website.CalculateAuthorizedCart", "Website.GetCustomerBonusPointsHistory", "Website.GetCustomerSegments"]);
});

test("/v1/sync refuses unverified customers and operations off SYNC_OPERATIONS, without calling Mindbox", async () => {
  await stack.emulator.reset();
  const cases = [
    [{ operation: "Website.GetCustomerBalance", data: { customer: { ids: { websiteID: "u1" } } } }, 403, /authenticationTicket/],
    [{ operation: "Website.GetCustomerBalance", data: {} }, 403, /verified customer/],
    [
      { operation: "Website.GetCustomerBalance", data: { customer: { ids: { websiteID: "u1" }, authenticationTicket: stack.ticket("u1", { key: "guess" }) } } },
      403,
      /signature/,
    ],
    [{ operation: "Website.EditCustomer", data: { customer: { ids: { websiteID: "u1" }, authenticationTicket: stack.ticket("u1") } } }, 403, /SYNC_OPERATIONS/],
    [{ operation: "Website.GetCustomerBalance", data: {}, extra: 1 }, 400, /expected/],
    [{ operation: "Website.GetCustomerSegments", data: {} }, 403, /verified customer/],
    [{ operation: "Website.CalculateUnauthorizedCart", data: { customer: { email: "someone@example.com" }, order: { lines: [] } } }, 403, /authenticationTicket/],
  ];
  for (const [body, status, reason] of cases) {
    const r = await stack.sync(body);
    assert.equal(r.status, status, r.text);
    assert.match(r.json.reason, reason);
  }
  assert.deepEqual((await stack.emulator.attempts()).filter((a) => a.path === "/v3/operations/sync"), []);
});
