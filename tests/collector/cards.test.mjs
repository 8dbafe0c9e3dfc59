// Loyalty cards by SMS code and the back-in-stock list, through the collector to the emulator: a
// code texted to a phone, a card bound with it (only Mindbox's processing statuses reach the page),
// the customer's cards with a ticket, and the limits that keep codes from being bombed or guessed.
// Also on the self-hosted profile, where the client address is the proxy's X-Real-IP (under
// `wrangler dev` every request is from 127.0.0.1, so there the per-address limit is raised).
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { useStack, PROFILE } from "../support/stack.mjs";
import { event } from "../support/events.mjs";

const SELF_HOSTED = PROFILE === "self-hosted";
// A small shop-wide budget of texted codes, spent by the tests in this file (CODES_PER_HOUR).
const BUDGET = 30;
const stack = useStack({ profile: PROFILE, vars: { CODES_PER_HOUR: String(BUDGET), ...(SELF_HOSTED ? {} : { CODE_ATTEMPTS_PER_IP: "1000" }) } });

let ipSeq = 10;
/** A fresh client address (self-hosted: each test its own, so the per-address limits start afresh). */
const freshIp = () => `198.51.100.${ipSeq++}`;

/** A page's sync call from `device` at `ip`. */
const ask = (operation, data, { device = randomUUID(), ip = freshIp() } = {}) =>
  stack.sync({ operation, data, deviceUUID: device }, { headers: { "x-real-ip": ip } });
const sendCode = (phone, options) => ask("Website.SendMobilePhoneAuthorizationCode", { customer: { mobilePhone: phone } }, options);
const bind = (phone, number, code, options) =>
  ask("RegCard", { customer: { mobilePhone: phone }, discountCard: { ids: { number } }, authentificationCode: code }, options);
/** The last code the emulator texted to `phone`. */
const smsTo = async (phone) => {
  const sms = (await (await fetch(`${stack.emulatorUrl}/__emulator/sms`, { signal: AbortSignal.timeout(10000) })).json()).filter((s) => s.mobilePhone === phone);
  assert.ok(sms.length, `no code texted to ${phone}`);
  return sms.at(-1).code;
};
const syncCalls = async (operation) => (await stack.emulator.attempts()).filter((a) => a.path === "/v3/operations/sync" && a.operation === operation);

test("a card is bound with the code Mindbox texted: only Mindbox's processing statuses reach the page", async () => {
  await stack.emulator.reset();
  const sent = await sendCode("8 (912) 345-67-01");
  assert.equal(sent.status, 200, sent.text);
  assert.deepEqual(sent.json, { status: "Success" });
  const [call] = await syncCalls("Website.SendMobilePhoneAuthorizationCode");
  assert.deepEqual(call.body, { customer: { mobilePhone: "79123456701" } }, "the phone in Mindbox's spelling, nothing else");
  const bound = await bind("+7 912 345-67-01", "2000000000001", await smsTo("79123456701"));
  assert.equal(bound.status, 200, bound.text);
  assert.deepEqual(bound.json, { status: "Success", discountCard: { processingStatus: "Bound" } });
  assert.doesNotMatch(bound.text, /pin|private|mindboxId|2000000000001|Found/);
  const [regCard] = await syncCalls("RegCard");
  assert.deepEqual(regCard.body, {
    customer: { mobilePhone: "79123456701" },
    discountCard: { ids: { number: "2000000000001" } },
    authentificationCode: await smsTo("79123456701"),
  });
  // Again for the same phone, for another phone, and a card that does not exist.
  await sendCode("79123456701");
  const again = await bind("79123456701", "2000000000001", await smsTo("79123456701"));
  assert.equal(again.json.discountCard.processingStatus, "AlreadyBoundToCurrentCustomer");
  await sendCode("79123456702");
  const other = await bind("79123456702", "2000000000001", await smsTo("79123456702"));
  assert.equal(other.json.discountCard.processingStatus, "AlreadyBoundToAnotherCustomer");
  await sendCode("79123456702");
  const none = await bind("79123456702", "1999", await smsTo("79123456702"));
  assert.equal(none.json.discountCard.processingStatus, "NotFound");
  // A wrong code is Mindbox's ValidationError: refused, and only its status reaches the page.
  await sendCode("79123456702");
  const wrong = await bind("79123456702", "2000000000002", "0000");
  assert.equal(wrong.status, 422, wrong.text);
  assert.equal(wrong.json.error, "code_not_accepted");
  assert.match(wrong.json.reason, /ValidationError/);
  // The customer's cards need a ticket for that customer, and only the card's number, status and type pass.
  const cards = await ask("GetCustomerDiscountCards", { customer: { mobilePhone: "79123456701", authenticationTicket: stack.phoneTicket("79123456701") } });
  assert.equal(cards.status, 200, cards.text);
  assert.deepEqual(cards.json, {
    status: "Success",
    discountCards: [{ ids: { number: "2000000000001" }, status: { ids: { systemName: "Activated" } }, type: { ids: { systemName: "Loyalty" }, name: "Карта лояльности" } }],
  });
  const stranger = await ask("GetCustomerDiscountCards", { customer: { mobilePhone: "79123456701" } });
  assert.equal(stranger.status, 403, stranger.text);
  const otherTicket = await ask("GetCustomerDiscountCards", { customer: { mobilePhone: "79123456701", authenticationTicket: stack.phoneTicket("79123456702") } });
  assert.equal(otherTicket.status, 403, otherTicket.text);
});

test("at most 3 codes per phone in 10 minutes, whatever its spelling; the fourth never reaches Mindbox", async () => {
  await stack.emulator.reset();
  for (const spelling of ["79123456711", "8 (912) 345-67-11", 79123456711]) {
    const r = await sendCode(spelling);
    assert.equal(r.status, 200, r.text);
  }
  const fourth = await sendCode("+7 912 345 67 11");
  assert.equal(fourth.status, 429, fourth.text);
  assert.equal(fourth.json.error, "too_many_codes");
  assert.match(fourth.json.reason, /per phone/);
  const wait = Number(fourth.headers.get("retry-after"));
  assert.ok(wait > 500 && wait <= 600, `Retry-After ${wait}`);
  assert.equal((await syncCalls("Website.SendMobilePhoneAuthorizationCode")).length, 3);
  const another = await sendCode("79123456712");
  assert.equal(another.status, 200, "another phone has its own count");
});

test("at most 3 codes per device, and per address, whatever the phones", async () => {
  await stack.emulator.reset();
  const device = randomUUID();
  for (let i = 0; i < 3; i++) assert.equal((await sendCode(`7912345672${i}`, { device })).status, 200);
  const byDevice = await sendCode("79123456729", { device });
  assert.equal(byDevice.status, 429, byDevice.text);
  assert.match(byDevice.json.reason, /per device/);
  if (!SELF_HOSTED) return; // under wrangler dev every request is from 127.0.0.1: no address to vary
  const ip = freshIp();
  for (let i = 0; i < 3; i++) assert.equal((await sendCode(`7912345673${i}`, { ip })).status, 200);
  const byIp = await sendCode("79123456739", { ip });
  assert.equal(byIp.status, 429, byIp.text);
  assert.match(byIp.json.reason, /per address/);
  assert.equal((await syncCalls("Website.SendMobilePhoneAuthorizationCode")).length, 6);
});

test("codes guessed in a loop: 5 tries per phone and 5 per card, then even the right code is refused", async () => {
  await stack.emulator.reset();
  await sendCode("79123456741");
  const code = await smsTo("79123456741");
  for (let i = 0; i < 5; i++) {
    const guess = await bind("79123456741", "2000000000003", String(1000 + i));
    assert.equal(guess.status, 422, guess.text);
  }
  const right = await bind("79123456741", "2000000000003", code);
  assert.equal(right.status, 429, right.text);
  assert.equal(right.json.error, "too_many_tries");
  assert.match(right.json.reason, /per phone/);
  // One card tried under many phones (each from its own device and address): 5, then refused, in any letter case.
  for (let i = 0; i < 5; i++) assert.equal((await bind(`7912345675${i}`, "cardx", "1234")).status, 422);
  const sixth = await bind("79123456759", "CARDX", "1234");
  assert.equal(sixth.status, 429, sixth.text);
  assert.match(sixth.json.reason, /per card/);
  assert.equal((await syncCalls("RegCard")).length, 10, "refused tries never reach Mindbox");
});

test("attacks on the code calls: other phones, other fields, letter case and types are refused before Mindbox", async () => {
  await stack.emulator.reset();
  const refused = [
    [{ customer: { mobilePhone: ["79123456761", "79123456762"] } }, 400, "invalid_identifier"],
    [{ customer: { mobilePhone: "79123456761", ids: { websiteID: "victim" } } }, 400, "unexpected_field"],
    [{ customer: { mobilePhone: "79123456761", email: "victim@example.com" } }, 400, "unexpected_field"],
    [{ customer: { mobilePhone: "79123456761", MobilePhone: "79123456762" } }, 400, "ambiguous_key"],
    [{ customer: { mobilePhone: "79123456761" }, Customer: { mobilePhone: "79123456762" } }, 400, "ambiguous_key"],
    [{ customer: { mobilePhone: "７９１２３４５６７６１" } }, 400, "invalid_identifier"],
    [{ customer: { mobilePhone: true } }, 400, "invalid_identifier"],
    [{ customer: { mobilePhone: "79123456761", authenticationTicket: stack.phoneTicket("79123456761") } }, 400, "unexpected_field"],
    [{ customer: {} }, 400, "unexpected_field"],
    // Only +7 numbers by default (CODE_PHONE_PREFIXES): no premium-rate numbers abroad, and a +7
    // number is 11 digits (a trunk 8 too many would text another spelling of one phone).
    [{ customer: { mobilePhone: "+44 20 7946 0958" } }, 400, "phone_not_allowed"],
    [{ customer: { mobilePhone: "+7 8 912 345-67-61" } }, 400, "invalid_identifier"],
  ];
  for (const [data, status, code] of refused) {
    const r = await ask("Website.SendMobilePhoneAuthorizationCode", data);
    assert.equal(r.status, status, `${JSON.stringify(data)}: ${r.text}`);
    assert.equal(r.json.error, code, JSON.stringify(data));
  }
  const bindRefused = [
    { customer: { mobilePhone: "79123456761" }, discountCard: { ids: { number: "2000000000004", externalId: "x" } }, authentificationCode: "1234" },
    { customer: { mobilePhone: "79123456761" }, discountCard: { ids: { number: "2000000000004" } }, authentificationCode: "12 34" },
    { customer: { mobilePhone: "79123456761" }, discountCard: { ids: { number: "2000000000004" } }, authenticationCode: "1234" },
    { customer: { mobilePhone: "79123456761" }, discountCard: { ids: { number: "2000000000004" } }, authentificationCode: "1234", AUTHENTIFICATIONCODE: "9999" },
    { customer: { mobilePhone: "79123456761" }, discountCard: { ids: { number: "2000000000004" }, customer: { ids: { websiteID: "victim" } } }, authentificationCode: "1234" },
  ];
  for (const data of bindRefused) {
    const r = await ask("RegCard", data);
    assert.equal(r.status, 400, `${JSON.stringify(data)}: ${r.text}`);
  }
  assert.deepEqual(await syncCalls("Website.SendMobilePhoneAuthorizationCode"), []);
  assert.deepEqual(await syncCalls("RegCard"), []);
  // A code texted to one phone does not bind a card to another.
  await sendCode("79123456763");
  const stolen = await bind("79123456764", "2000000000004", await smsTo("79123456763"));
  assert.equal(stolen.status, 422, stolen.text);
});

test("back-in-stock without a ticket may only ask about a product for an email or phone", async () => {
  await stack.emulator.reset();
  const ok = event("Website.AddToWaitingList", {
    customer: { email: " Fan@Example.COM " },
    addProductToList: { product: { ids: { website: "201" } }, count: 1 },
  });
  const bad = [
    event("Website.AddToWaitingList", { customer: { email: "a@b.ru", ids: { websiteID: "victim" } }, addProductToList: { product: { ids: { website: "201" } } } }),
    event("Website.AddToWaitingList", { customer: { email: "a@b.ru", firstName: "Mallory" }, addProductToList: { product: { ids: { website: "201" } } } }),
    event("Website.AddToWaitingList", { customer: { email: "a@b.ru" }, addProductToList: { product: { ids: { website: "201" } }, pricePerItem: 1 } }),
    event("Website.AddToWaitingList", { customer: { email: "a@b.ru" }, addProductToList: { product: { ids: { website: "201" }, name: "x" } } }),
    event("Website.AddToWaitingList", { customer: { email: "a@b.ru" }, order: { ids: { websiteID: "o1" } } }),
  ];
  const r = await stack.post({ events: [ok, ...bad] });
  assert.equal(r.status, 202, r.text);
  assert.deepEqual(r.json.results.map((x) => x.status), ["accepted", "rejected", "rejected", "rejected", "rejected", "rejected"]);
  assert.ok(r.json.results.slice(1).every((x) => x.reason.includes("ticket")), r.text);
  const delivered = (await stack.drain()).filter((q) => q.operation === "Website.AddToWaitingList");
  assert.deepEqual(delivered.map((q) => q.body), [{ customer: { email: "fan@example.com" }, addProductToList: { product: { ids: { website: "201" } }, count: 1 } }]);
});

test("a call refused on a later key gives the earlier ones back: a phone a stranger keeps busy costs the shopper's device nothing", async () => {
  await stack.emulator.reset();
  for (let i = 0; i < 3; i++) assert.equal((await sendCode("79123456771")).status, 200);
  const device = randomUUID();
  const busy = await sendCode("79123456771", { device });
  assert.equal(busy.status, 429, busy.text);
  assert.match(busy.json.reason, /per phone/);
  // The device's own three codes are all still there.
  for (let i = 0; i < 3; i++) assert.equal((await sendCode(`7912345678${i}`, { device })).status, 200, `code ${i + 1}`);
  assert.equal((await sendCode("79123456789", { device })).status, 429);
});

test("the shop's hourly budget of texted codes holds for all phones together: the last test in this file", async () => {
  await stack.emulator.reset();
  // Earlier tests in this file spent part of it; spend the rest, each code from its own phone.
  let sent = 0;
  for (let i = 0; i < BUDGET + 1; i++) {
    const r = await sendCode(`791234568${String(i).padStart(2, "0")}`);
    if (r.status === 429) {
      assert.equal(r.json.error, "too_many_codes");
      assert.match(r.json.reason, /per shop an hour/);
      assert.ok(Number(r.headers.get("retry-after")) > 0);
      break;
    }
    assert.equal(r.status, 200, r.text);
    sent++;
  }
  assert.ok(sent < BUDGET, `the budget was hit after ${sent} more codes`);
  assert.equal((await syncCalls("Website.SendMobilePhoneAuthorizationCode")).length, sent);
});
