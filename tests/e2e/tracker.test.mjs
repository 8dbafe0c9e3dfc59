// End to end in a real browser: Debian's Chromium (driven by playwright-core) opens the demo shop,
// whose one script tag loads the tracker from the collector in local workerd; the Mindbox emulator must
// then hold every event exactly once, counted by transactionId.
import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { startStack, waitFor, timedFetch } from "../stack.mjs";

const CHROMIUM_ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

let stack;
let browser;

before(async () => {
  stack = await startStack();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_BIN || "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
  });
}, { timeout: 180000 });
after(async () => {
  await browser?.close();
  await stack?.stop();
}, { timeout: 60000 });
beforeEach(async () => {
  await stack.emulator.reset();
});

/** Opens a page of the shop and waits until the tracker has started. */
async function open(context, path) {
  const page = await context.newPage();
  await page.goto(`${stack.shopUrl}${path}`);
  await page.waitForFunction(() => window.mindbox && window.mindbox.qa);
  return page;
}

/**
 * Accepted requests, waiting until there are at least `n` (not counting the drain's sentinels, which a
 * test may have sent already), then checking nothing more is queued.
 */
async function delivered(n, { timeoutMs = 30000 } = {}) {
  const events = async () => (await stack.emulator.requests()).filter((q) => !q.body?.sentinel);
  await waitFor(`${n} events at the emulator`, async () => (await events()).length >= n, { timeoutMs });
  return (await stack.drain()).filter((q) => !q.body?.sentinel);
}

function exactlyOnce(requests) {
  const ids = requests.map((q) => q.transactionId);
  assert.equal(new Set(ids).size, ids.length, `a transactionId arrived twice: ${ids}`);
}

test("the product page delivers exactly one Website.ViewProduct with the page's device id", async () => {
  const context = await browser.newContext();
  const batches = [];
  context.on("request", (r) => r.url() === `${stack.collectorUrl}/v1/events` && batches.push(JSON.parse(r.postData())));
  const page = await open(context, "/product.html?id=123");
  await page.waitForFunction(() => document.getElementById("status").textContent.endsWith("sent"));
  const [req] = await delivered(1);
  const cookie = (await context.cookies(stack.shopUrl)).find((c) => c.name === "mindboxDeviceUUID");
  assert.match(cookie.value, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(await page.evaluate(() => localStorage.getItem("mindboxDeviceUUID")), cookie.value);
  const event = batches.flatMap((b) => b.events).find((e) => e.operation === "Website.ViewProduct");
  assert.equal(req.operation, "Website.ViewProduct");
  assert.equal(req.endpointId, stack.endpointId);
  assert.equal(req.deviceUUID, cookie.value);
  assert.equal(req.transactionId, event.id);
  assert.equal(req.headers.authorization, `SecretKey ${stack.secretKey}`);
  assert.deepEqual(req.body, { viewProduct: { product: { ids: { website: "123" } }, price: 4990 } });
  await context.close();
});

test("every page of the demo shop sends its event kind with the Mindbox payload shape", async () => {
  const context = await browser.newContext();
  let page = await open(context, "/category.html?id=42");
  await page.goto(`${stack.shopUrl}/product.html?id=124`);
  await page.click("#add");
  await page.click("#wish");
  await page.goto(`${stack.shopUrl}/cart.html`);
  await page.click("#clear");
  await page.goto(`${stack.shopUrl}/login.html`);
  await page.click("#login button");
  await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("authorize"));
  await page.click("#register button");
  await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("register"));
  await page.goto(`${stack.shopUrl}/profile.html`);
  await page.waitForFunction(() => !/загрузка/.test(document.getElementById("me").textContent));
  await page.click("#edit button");
  await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("editCustomer"));
  await page.goto(`${stack.shopUrl}/`);
  await page.fill("#subscribe input", "fan@example.com");
  await page.click("#subscribe button");
  await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("subscribe"));
  const all = await delivered(13);
  const asked = all.filter((q) => q.path === "/v3/operations/sync").map((q) => q.operation).sort();
  assert.deepEqual(asked, [
    "Website.CalculateUnauthorizedCart", // the cart page, before login
    "Website.GetCustomerBalance",
    "Website.GetCustomerBonusPointsHistory",
    "Website.GetCustomerSegments",
  ]);
  const reqs = all.filter((q) => q.path === "/v3/operations/async");
  exactlyOnce(reqs);
  assert.equal(reqs.length, 9, reqs.map((q) => q.operation).join());
  const by = (op) => reqs.filter((q) => q.operation === op).map((q) => q.body);
  assert.deepEqual(by("Website.ViewCategory"), [{ viewProductCategory: { productCategory: { ids: { website: "42" } } } }]);
  assert.deepEqual(by("Website.ViewProduct"), [{ viewProduct: { product: { ids: { website: "124" } }, price: 3990 } }]);
  assert.deepEqual(by("Website.SetCart"), [{ productList: [{ product: { ids: { website: "124" } }, count: 1, pricePerItem: 3990 }] }]);
  assert.deepEqual(by("Website.SetWishList"), [{ productList: [{ product: { ids: { website: "124" } }, count: 1, pricePerItem: 3990 }] }]);
  assert.deepEqual(by("Website.ClearCart"), [{}]);
  const [auth] = by("Website.AuthorizeCustomer");
  assert.deepEqual(auth.customer.ids, { websiteID: "u1" });
  assert.match(auth.customer.authenticationTicket, /^[0-9a-f]+\|[0-9a-f]{128}$/);
  const [reg] = by("Website.RegisterCustomer");
  assert.equal(reg.customer.email, "u2@example.com");
  assert.deepEqual(reg.customer.subscriptions, [{ pointOfContact: "Email", isSubscribed: true }]);
  assert.equal(by("Website.EditCustomer")[0].customer.firstName, "Анна");
  assert.deepEqual(by("Website.SubscribeCustomer"), [
    { customer: { email: "fan@example.com", subscriptions: [{ pointOfContact: "Email", isSubscribed: true }] } },
  ]);
  await context.close();
});

test("my points: balance, tier and history show what Mindbox answered, and nothing else of its answer", async () => {
  const context = await browser.newContext();
  const page = await open(context, "/login.html");
  const answers = [];
  page.on("response", async (r) => {
    if (r.url().endsWith("/v1/sync")) answers.push(await r.text());
  });
  await page.click("#login button");
  await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("authorize"));
  await page.goto(`${stack.shopUrl}/profile.html`);
  await page.waitForFunction(() => !/загрузка/.test(document.getElementById("me").textContent));
  assert.equal(await page.textContent("#balance"), "Бонусные баллы: доступно 100, всего 150, заблокировано 50");
  assert.equal(await page.textContent("#tier"), "Золотой");
  const history = await page.$$eval("#history td:nth-child(3)", (tds) => tds.map((td) => td.textContent.trim()));
  assert.deepEqual(history, ["+120", "-20"]);
  await waitFor("three answers", () => answers.length === 3);
  for (const text of answers) {
    assert.doesNotMatch(text, /private@example\.com|emulator-private|mindboxId|processingStatus/, text);
  }
  await context.close();
});

test("the cart shows the points it will earn, and checkout creates the order through the shop's backend and the backend route", async () => {
  const context = await browser.newContext();
  const page = await open(context, "/product.html?id=200");
  await page.click("#add");
  await page.click("#add");
  await page.goto(`${stack.shopUrl}/cart.html`);
  // 2 × 9 990 ₽ = 19 980 ₽ at the emulator's 5 %: 999 points, asked as a guest.
  await page.waitForFunction(() => document.getElementById("points").textContent === "999");
  assert.match(await page.textContent("#total"), /^19\s980 ₽$/);
  const device = await page.evaluate(() => window.mindbox.deviceUUID());
  await page.click("#checkout button");
  await page.waitForFunction(() => document.getElementById("done").textContent !== "");
  const done = await page.textContent("#done");
  assert.match(done, /^Заказ demo-\S+ оформлен на 19\s980 ₽\.$/, done);
  const orderId = done.split(" ")[1];
  await page.waitForSelector("#empty", { state: "visible" });
  // Two cart snapshots, the cart calculation, the order and the cleared cart.
  const all = await delivered(5);
  const orders = all.filter((q) => q.operation === "Website.CreateUnauthorizedOrder");
  assert.equal(orders.length, 1, all.map((q) => q.operation).join());
  const [order] = orders;
  assert.equal(order.deviceUUID, device, "the backend passed the shopper's device");
  assert.deepEqual(order.body.customer, { mobilePhone: "79123456789", email: "anna@example.com", firstName: "Анна" });
  assert.deepEqual(order.body.order.ids, { websiteID: orderId });
  assert.equal(order.body.order.totalPrice, 19980);
  assert.deepEqual(order.body.order.lines, [{ lineNumber: 1, quantity: 2, basePricePerItem: 9990, product: { ids: { website: "200" } } }]);
  assert.ok(all.some((q) => q.operation === "Website.ClearCart"), "the cart is cleared after the order");
  await context.close();
});

test("the demo backend's checkout: the customer comes from a ticket it signed, JSON only, and one checkout id is one order", async () => {
  const checkout = (body, type = "application/json") =>
    timedFetch(`${stack.shopUrl}/api/checkout`, { method: "POST", headers: { "content-type": type }, body: JSON.stringify(body) });
  const checkoutId = "7d444840-9dc0-41c9-a8d5-a1f2b0f0a0c1";
  const cart = { checkoutId, lines: [{ productId: "123", count: 1, price: 1 }], phone: "+7 912 345-67-89" };
  // A forged ticket (someone else's id, not signed by the shop) and a form post are refused.
  const forged = `${Buffer.from("ExternalIdentityAuthentication|websiteID|victim|2026-11-26 10:00:00").toString("hex")}|${"0".repeat(128)}`;
  const refused = await checkout({ ...cart, ticket: forged });
  assert.equal(refused.status, 400);
  assert.match((await refused.json()).error, /sign in again/);
  assert.equal((await checkout(cart, "text/plain")).status, 415);
  // Sent twice (a double click, a retry): one order, priced from the shop's catalog, not the page.
  for (let i = 0; i < 2; i++) {
    const res = await checkout(cart);
    assert.equal(res.status, 200, await res.text());
  }
  const orders = (await delivered(1)).filter((q) => q.operation === "Website.CreateUnauthorizedOrder");
  assert.equal(orders.length, 1);
  // The checkout id is the backend's operation id; Mindbox's transactionId is made from it.
  assert.notEqual(orders[0].transactionId, checkoutId);
  assert.equal(orders[0].body.order.totalPrice, 4990);
  const attempts = (await stack.emulator.attempts()).filter((a) => a.operation === "Website.CreateUnauthorizedOrder");
  assert.ok(attempts.every((a) => a.transactionId === orders[0].transactionId), "the retry reused the transactionId");
  // A phone that is not one comes back to the shopper with the collector's reason.
  const bad = await checkout({ ...cart, checkoutId: "7d444840-9dc0-41c9-a8d5-a1f2b0f0a0c2", phone: "позвоните мне" });
  assert.equal(bad.status, 422);
  assert.match((await bad.json()).error, /a phone holds only the digits/);
});

test("a phone typed as 8 (912) 345-67-89 reaches Mindbox as 79123456789 from the typed API and a raw snippet call", async () => {
  const context = await browser.newContext();
  const page = await open(context, "/");
  await page.evaluate(() => {
    mindbox("subscribe", { mobilePhone: "8 (912) 345-67-89", subscriptions: [{ pointOfContact: "Sms" }] });
    mindbox("async", {
      operation: "Website.SubscribeCustomer",
      data: { customer: { mobilePhone: "+7 912 345-67-89", email: " Fan@Example.COM ", subscriptions: [{ pointOfContact: "Sms", isSubscribed: true }] } },
    });
  });
  const reqs = (await delivered(2)).filter((q) => q.operation === "Website.SubscribeCustomer");
  const phones = reqs.map((q) => q.body.customer.mobilePhone);
  assert.deepEqual(phones, ["79123456789", "79123456789"]);
  assert.deepEqual(reqs.map((q) => q.body.customer.email).filter(Boolean), ["fan@example.com"]);
  // What cannot be a phone is dropped with a message, not sent.
  const warned = [];
  page.on("console", (m) => warned.push(m.text()));
  await page.evaluate(() => mindbox("subscribe", { mobilePhone: "call me" }));
  await waitFor("the console message", () => warned.some((w) => /mobilePhone: a phone holds only the digits/.test(w)));
  await context.close();
});

test("the official snippet with calls queued before load keeps working, in order", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const sent = [];
  page.on("request", (r) => r.url() === `${stack.collectorUrl}/v1/events` && sent.push(...JSON.parse(r.postData()).events));
  await page.goto(`${stack.shopUrl}/snippet.html`);
  await page.waitForFunction(() => document.getElementById("status").textContent === "sent");
  const reqs = await delivered(2);
  assert.deepEqual(sent.map((e) => e.operation), ["Website.ViewProduct", "Website.ViewCategory"], "replayed in call order");
  assert.deepEqual(reqs.map((q) => q.operation).sort(), ["Website.ViewCategory", "Website.ViewProduct"]);
  const device = await page.evaluate(() => window.snippetDevice);
  assert.equal(reqs[0].deviceUUID, device);
  await context.close();
});

test("bad arguments are reported once on the console and nothing is sent", async () => {
  const context = await browser.newContext();
  const page = await open(context, "/snippet.html");
  await delivered(2);
  await stack.emulator.reset();
  const warnings = [];
  page.on("console", (m) => m.type() === "warning" && warnings.push(m.text()));
  await page.evaluate(() => {
    mindbox("viewProduct", {});
    mindbox("viewProduct", {});
    mindbox("setCart", [{ productId: "1", count: -1 }]);
    mindbox("async", { operation: "not an operation" });
    mindbox("noSuchMethod", {});
  });
  await waitFor("the console warnings", () => warnings.length >= 4);
  assert.equal(warnings.filter((w) => w.includes("viewProduct")).length, 1, warnings.join("\n"));
  assert.ok(warnings.some((w) => w.includes("count: expected a positive number")), warnings.join("\n"));
  assert.ok(warnings.some((w) => w.includes("noSuchMethod")));
  assert.deepEqual(await stack.drain(), []);
  await context.close();
});

test("the collector is down while the shopper browses: everything arrives once it is back", async () => {
  const context = await browser.newContext();
  const page = await open(context, "/index.html");
  await stack.stopCollector();
  try {
    for (const id of ["123", "124", "200"]) {
      await page.goto(`${stack.shopUrl}/product.html?id=${id}`);
      // The tracker is served by the collector too: while it is down, the page reuses the cached copy.
      await page.waitForFunction(() => window.mindbox && window.mindbox.qa).catch(() => {});
    }
  } finally {
    await stack.startCollector();
  }
  // A later page load (the script is back) sends what earlier pages left in the outbox.
  await page.goto(`${stack.shopUrl}/category.html?id=43`);
  await page.waitForFunction(() => window.mindbox && window.mindbox.qa);
  const outbox = await page.evaluate(() => mindbox.qa.list());
  const reqs = await delivered(4, { timeoutMs: 60000 }).catch((e) => {
    throw new Error(`${e.message}; outbox: ${JSON.stringify(outbox.events.map((r) => [r.operation, r.state, r.lastError]))}`);
  });
  exactlyOnce(reqs);
  const products = reqs.filter((q) => q.operation === "Website.ViewProduct").map((q) => q.body.viewProduct.product.ids.website);
  assert.deepEqual(products.sort(), ["123", "124", "200"]);
  await context.close();
});

test("offline and back online: the online event sends the outbox", async () => {
  const context = await browser.newContext();
  const page = await open(context, "/index.html");
  await context.setOffline(true);
  await page.evaluate(() => {
    mindbox("viewProduct", { productId: "123" });
    mindbox("viewCategory", { categoryId: "42" });
  });
  await page.waitForFunction(async () => (await mindbox.qa.list()).events.some((e) => e.attempts > 0));
  assert.equal((await stack.emulator.count()).accepted, 0);
  await context.setOffline(false);
  const reqs = await delivered(2);
  exactlyOnce(reqs);
  assert.deepEqual(reqs.map((q) => q.operation).sort(), ["Website.ViewCategory", "Website.ViewProduct"]);
  await context.close();
});

test("the tab is closed right after an event: delivered exactly once", async () => {
  const context = await browser.newContext();
  const page = await open(context, "/index.html");
  const marker = `closed-${Date.now()}`;
  await page.evaluate((m) => mindbox("viewProduct", { productId: m }), marker);
  await page.close({ runBeforeUnload: true });
  const reqs = await delivered(1);
  // A later visit finds the event still in the outbox (a beacon gets no answer) and resends it:
  // Mindbox sees the same transactionId and does not count it again.
  const again = await open(context, "/index.html");
  await again.waitForFunction(async () => (await mindbox.qa.list()).events.every((e) => e.state !== "pending"));
  const all = (await stack.drain()).filter((q) => q.body?.viewProduct?.product?.ids?.website === marker);
  assert.equal(all.length, 1, JSON.stringify(reqs));
  await context.close();
});

test("the tab is closed right after 20 events: every event reaches Mindbox, with at most 1.05 Mindbox calls per event", async () => {
  const context = await browser.newContext();
  const page = await open(context, "/index.html");
  await stack.drain();
  await stack.emulator.reset();
  const marker = `leave-${Date.now()}`;
  await page.evaluate((m) => {
    for (let i = 0; i < 20; i++) mindbox("viewProduct", { productId: `${m}-${i}` });
  }, marker);
  await page.close({ runBeforeUnload: true });
  // The next visit resends whatever the outbox still holds (no answer reached the closed page).
  const again = await open(context, "/index.html");
  await again.waitForFunction(async () => (await mindbox.qa.list()).events.every((e) => e.state !== "pending"), null, { timeout: 30000 });
  await stack.drain();
  const ours = (q) => String(q.body?.viewProduct?.product?.ids?.website || "").startsWith(marker);
  const delivered20 = (await stack.emulator.requests()).filter(ours);
  exactlyOnce(delivered20);
  assert.equal(delivered20.length, 20, "every event at Mindbox");
  const calls = (await stack.emulator.attempts()).filter(ours).length;
  console.log(`tab closed after 20 events: ${calls} Mindbox calls, ${(calls / 20).toFixed(2)} per event`);
  assert.ok(calls <= 21, `${calls} Mindbox calls for 20 events`);
  await context.close();
});

/**
 * Three tabs emit five events each; the events must arrive exactly once, all sent by one tab.
 * `locks`: whether the pages have the Web Locks API.
 */
async function threeTabs(context, locks) {
  const senders = new Set();
  const pages = [];
  for (let i = 0; i < 3; i++) {
    const p = await open(context, "/index.html");
    p.on("request", (r) => r.url() === `${stack.collectorUrl}/v1/events` && senders.add(i));
    pages.push(p);
  }
  assert.equal(await pages[0].evaluate(() => !!navigator.locks), locks);
  await Promise.all(
    pages.map((p, i) =>
      p.evaluate((i) => {
        for (let n = 0; n < 5; n++) mindbox("viewProduct", { productId: `tab${i}-${n}` });
      }, i),
    ),
  );
  const all = await delivered(15);
  // Only this test's events count (a late request of an earlier test's closed tab is not its business).
  const reqs = all.filter((q) => /^tab\d-\d$/.test(q.body?.viewProduct?.product?.ids?.website));
  exactlyOnce(reqs);
  assert.equal(reqs.length, 15, JSON.stringify(all.map((q) => [q.operation, q.body])));
  assert.equal(senders.size, 1, `tabs that sent: ${[...senders]}`);
}

test("three tabs emit at once: one tab sends, every event arrives exactly once", async () => {
  const context = await browser.newContext();
  await threeTabs(context, true);
  await context.close();
});

test("three tabs without Web Locks: a localStorage lease picks the one sending tab", async () => {
  const context = await browser.newContext();
  await context.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, "locks", { get: () => undefined });
  });
  await threeTabs(context, false);
  await context.close();
});

test("a tab that does not send still hears its callbacks when the sending tab delivers", async () => {
  const context = await browser.newContext();
  const first = await open(context, "/index.html");
  const second = await open(context, "/index.html");
  await first.waitForFunction(async () => (await mindbox.qa.list()).sender);
  assert.equal((await second.evaluate(() => mindbox.qa.list())).sender, false);
  await second.evaluate(() => {
    mindbox("viewProduct", { productId: "from-second" }, { onSuccess: () => (window.delivered = true) });
    mindbox("async", {
      operation: "Website.NotAllowed",
      data: {},
      onError: (reason) => (window.rejected = reason),
    });
  });
  await second.waitForFunction(() => window.delivered === true && typeof window.rejected === "string");
  assert.match(await second.evaluate(() => window.rejected), /operation/);
  const reqs = await delivered(1);
  assert.equal(reqs[0].body.viewProduct.product.ids.website, "from-second");
  await context.close();
});

test("IndexedDB unavailable: the tracker keeps working from memory, in every tab", async () => {
  const context = await browser.newContext();
  await context.addInitScript(() => {
    Object.defineProperty(window, "indexedDB", {
      get() {
        throw new DOMException("IndexedDB is disabled", "InvalidStateError");
      },
    });
  });
  const errors = [];
  // Two tabs: the second is not the sending tab, but no other tab can see its memory, so it sends its
  // own events (while both stay open: no page hide, no beacon).
  const pages = [];
  for (const id of ["200", "124"]) {
    const page = await context.newPage();
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${stack.shopUrl}/product.html?id=${id}`);
    await page.waitForFunction(() => window.mindbox && window.mindbox.qa);
    assert.equal((await page.evaluate(() => mindbox.qa.list())).storage, "memory");
    pages.push(page);
  }
  const reqs = await delivered(2);
  exactlyOnce(reqs);
  assert.deepEqual(reqs.map((q) => q.body.viewProduct.product.ids.website).sort(), ["124", "200"]);
  assert.deepEqual(errors, []);
  await context.close();
});

test("consent withdrawn: nothing is collected and the outbox is cleared; granted again: collection resumes", async () => {
  const context = await browser.newContext();
  const page = await open(context, "/index.html");
  await context.setOffline(true);
  await page.evaluate(() => mindbox("viewProduct", { productId: "kept-offline" }));
  await page.waitForFunction(async () => (await mindbox.qa.list()).events.length === 1);
  await page.evaluate(() => mindbox("consent", false));
  await page.waitForFunction(async () => (await mindbox.qa.list()).events.length === 0);
  await page.evaluate(() => mindbox("viewProduct", { productId: "not-collected" }));
  await context.setOffline(false);
  await page.evaluate(() => mindbox("consent", true));
  await page.evaluate(() => mindbox("viewProduct", { productId: "after-consent" }));
  const reqs = await delivered(1);
  assert.deepEqual(reqs.map((q) => q.body.viewProduct.product.ids.website), ["after-consent"]);
  await context.close();
});

test("consent withdrawn in one tab stops every tab, the sending one too, and survives a reload", async () => {
  const context = await browser.newContext();
  const sender = await open(context, "/index.html");
  await sender.waitForFunction(() => mindbox.qa && window.mindbox);
  const other = await open(context, "/index.html");
  await context.setOffline(true);
  await sender.evaluate(() => mindbox("viewProduct", { productId: "pending-before" }));
  await other.evaluate(() => mindbox("consent", false));
  await sender.waitForFunction(async () => (await mindbox.qa.list()).events.length === 0);
  const refused = await sender.evaluate(
    () => new Promise((resolve) => mindbox("viewProduct", { productId: "after" }, { onError: resolve, onSuccess: () => resolve("sent") })),
  );
  assert.match(refused, /consent/);
  await context.setOffline(false);
  await sender.reload();
  await sender.waitForFunction(() => window.mindbox && window.mindbox.qa);
  const afterReload = await sender.evaluate(
    () => new Promise((resolve) => mindbox("viewProduct", { productId: "after-reload" }, { onError: resolve, onSuccess: () => resolve("sent") })),
  );
  assert.match(afterReload, /consent/, "withdrawal survives a reload");
  await sender.evaluate(() => mindbox.qa.flush());
  assert.deepEqual(await sender.evaluate(async () => (await mindbox.qa.list()).events.length), 0);
  assert.deepEqual(await stack.drain(), [], "nothing was sent after consent was withdrawn");
  await other.evaluate(() => mindbox("consent", true));
  await sender.evaluate(() => mindbox("viewProduct", { productId: "granted" }));
  const reqs = await delivered(1);
  assert.deepEqual(reqs.map((q) => q.body.viewProduct.product.ids.website), ["granted"]);
  await context.close();
});

test("clearCart then setCart in one handler, or queued in the snippet before load, end as the set cart every time", async () => {
  const lines = [{ productId: "124", count: 3, price: 3990 }];
  const runs = [];
  for (let i = 0; i < 16; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    if (i % 2) {
      // The official snippet's queue, filled before the tracker loads, with raw calls.
      await page.addInitScript(() => {
        window.mindbox = function () { window.mindbox.queue.push(arguments); };
        window.mindbox.queue = [];
        mindbox("async", { operation: "Website.ClearCart", data: {} });
        mindbox("async", { operation: "Website.SetCart", data: { productList: [{ product: { ids: { website: "124" } }, count: 3 }] } });
      });
      await page.goto(`${stack.shopUrl}/index.html`);
      await page.waitForFunction(() => window.mindbox && window.mindbox.qa);
    } else {
      await page.goto(`${stack.shopUrl}/index.html`);
      await page.waitForFunction(() => window.mindbox && window.mindbox.qa);
      await page.evaluate((l) => {
        mindbox("clearCart");
        mindbox("setCart", l);
      }, lines);
    }
    runs.push(await page.evaluate(() => mindbox.deviceUUID()));
    // Both accepted by the collector (a superseded clear is accepted too) before the tab goes.
    await page.waitForFunction(async () => (await mindbox.qa.list()).events.filter((e) => e.state === "sent").length >= 2);
    await context.close();
  }
  // A snapshot waits (2 s) while another of its list is in flight, so poll rather than drain.
  const lastCart = (reqs, device) => reqs.filter((q) => q.deviceUUID === device && /Cart$/.test(q.operation)).at(-1);
  const reqs =
    (await waitFor("every device's set cart", async () => {
      const r = await stack.emulator.requests();
      return runs.every((d) => lastCart(r, d)?.operation === "Website.SetCart") && r;
    }, { timeoutMs: 30000 }).catch(() => null)) || (await stack.emulator.requests());
  for (const device of runs) {
    const last = lastCart(reqs, device);
    assert.equal(last?.operation, "Website.SetCart", `device ${device}`);
    assert.equal(last.body.productList[0].count, 3);
  }
});

test("a raw call with half an emoji or too-deep data costs only itself", async () => {
  const context = await browser.newContext();
  const page = await open(context, "/index.html");
  const warnings = [];
  page.on("console", (m) => m.type() === "warning" && warnings.push(m.text()));
  await page.evaluate(() => {
    let deep = 1;
    for (let i = 0; i < 80; i++) deep = [deep];
    mindbox("viewProduct", { productId: "before" });
    mindbox("async", { operation: "Website.ViewProduct", data: { viewProduct: { product: { ids: { website: "half" } } }, note: "😀".slice(0, 1) } });
    mindbox("async", { operation: "Website.ViewProduct", data: { deep } });
    mindbox("viewProduct", { productId: "after" });
  });
  const reqs = (await delivered(3)).filter((q) => q.operation === "Website.ViewProduct");
  exactlyOnce(reqs);
  const ids = reqs.map((q) => q.body.viewProduct.product.ids.website).sort();
  assert.deepEqual(ids, ["after", "before", "half"]);
  assert.equal(reqs.find((q) => q.body.viewProduct.product.ids.website === "half").body.note, "\ufffd");
  assert.ok(warnings.some((w) => /nests too deeply/.test(w)), warnings.join("\n"));
  const rejected = await page.evaluate(async () => (await mindbox.qa.list()).events.filter((e) => e.state === "rejected"));
  assert.deepEqual(rejected, []);
  await context.close();
});

test("a batch the collector refuses as a whole is split until only the bad event is rejected", async () => {
  const context = await browser.newContext();
  const page = await open(context, "/index.html");
  await context.setOffline(true);
  await page.evaluate(() => {
    for (let i = 0; i < 5; i++) mindbox("viewProduct", { productId: "good-" + i });
  });
  await page.waitForFunction(async () => (await mindbox.qa.list()).events.length === 5);
  // A corrupted record in the outbox (its data is not JSON), so the batch holding it is not JSON either
  // and the collector refuses the whole request.
  await page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open("mindbox-edge");
        open.onsuccess = () => {
          const tx = open.result.transaction("outbox", "readwrite");
          tx.objectStore("outbox").put({
            id: crypto.randomUUID(), operation: "Website.ViewProduct", createdAt: Date.now() - 1,
            data: '{"broken":', state: "pending", attempts: 0, lastError: null, reason: null, settledAt: null, replayOf: null,
          });
          tx.oncomplete = () => { open.result.close(); resolve(); };
          tx.onerror = () => reject(tx.error);
        };
      }),
  );
  const bodies = [];
  page.on("request", (r) => r.url() === `${stack.collectorUrl}/v1/events` && bodies.push(r.postData()));
  await context.setOffline(false);
  await page.evaluate(() => mindbox.qa.flush());
  const reqs = await delivered(5);
  exactlyOnce(reqs);
  const rejected = await page.waitForFunction(async () => {
    const r = (await mindbox.qa.list()).events.filter((e) => e.state === "rejected");
    return r.length === 1 && r;
  });
  const [bad] = await rejected.jsonValue();
  assert.match(bad.reason, /not JSON/);
  assert.ok(bodies.length >= 2, "the refused batch was resent in parts");
  await context.close();
});

test("a snippet set up for another Mindbox endpoint: its events are rejected with a reason that names both", async () => {
  const context = await browser.newContext();
  const page = await open(context, "/index.html");
  const warnings = [];
  page.on("console", (m) => m.type() === "warning" && warnings.push(m.text()));
  const reason = await page.evaluate(
    () =>
      new Promise((resolve) => {
        mindbox("create", { endpointId: "someone-elses-shop" });
        mindbox("viewProduct", { productId: "wrong-endpoint" }, { onError: resolve, onSuccess: () => resolve("delivered") });
      }),
  );
  assert.match(reason, /"someone-elses-shop".*"demo-shop"/);
  assert.ok(warnings.some((w) => /rejected.*data-endpoint-id/.test(w)), warnings.join("\n"));
  await page.evaluate(() => {
    mindbox("create", { endpointId: "demo-shop" });
    mindbox("viewProduct", { productId: "right-endpoint" });
  });
  await waitFor("the event for the right endpoint", async () =>
    (await stack.emulator.requests()).some((q) => q.body?.viewProduct?.product?.ids?.website === "right-endpoint"),
  );
  const reqs = await stack.drain();
  assert.ok(!reqs.some((q) => q.body?.viewProduct?.product?.ids?.website === "wrong-endpoint"), "the wrong endpoint's event never reached Mindbox");
  await context.close();
});

test("the tracker served from the shop's own origin (any static host) with data-collector delivers", async () => {
  const context = await browser.newContext();
  const fetched = [];
  context.on("request", (r) => fetched.push(r.url()));
  await open(context, "/own-origin.html");
  const reqs = await delivered(1);
  assert.deepEqual(reqs.map((q) => q.body.viewProduct.product.ids.website), ["own-origin"]);
  assert.ok(fetched.includes(`${stack.shopUrl}/mbx/tracker.wasm`), "the wasm comes from beside the script");
  assert.ok(!fetched.some((u) => u.startsWith(stack.collectorUrl) && /tracker\.(js|wasm)/.test(u)), "nothing of the tracker from the collector");
  await context.close();
});

test("QA page: events appear live, replay sends them again, export and import round-trip", async () => {
  const context = await browser.newContext({ acceptDownloads: true });
  const qa = await open(context, "/qa.html");
  const shopPage = await open(context, "/product.html?id=123");
  await delivered(1);
  await qa.bringToFront();
  const row = qa.locator('tr[data-operation="Website.ViewProduct"][data-state="sent"]');
  await row.first().waitFor();
  const id = await row.first().getAttribute("data-id");
  await row.first().locator("button.replay").click();
  await qa.waitForFunction(() => document.getElementById("status").textContent.startsWith("Поставлено в очередь копий: 1 из 1 "));
  const reqs = await delivered(2);
  exactlyOnce(reqs);
  assert.notEqual(reqs[1].transactionId, id, "a replay is a new transaction");
  assert.deepEqual(reqs[1].body, reqs[0].body);
  // Filters.
  await qa.selectOption("#state", "rejected");
  assert.equal(await qa.locator("#events tr").count(), 0);
  await qa.selectOption("#state", "");
  // Export, then import on "another machine" (a fresh browser context).
  const download = qa.waitForEvent("download");
  await qa.click("#export");
  const file = await (await download).path();
  const exported = JSON.parse(await qa.inputValue("#json"));
  assert.ok(exported.some((e) => e.id === id));
  assert.equal(typeof exported.find((e) => e.id === id).data, "object", "data is JSON in the export, not a string");
  const other = await browser.newContext();
  const qa2 = await open(other, "/qa.html");
  await qa2.setInputFiles("#import-file", file);
  await qa2.waitForFunction((n) => document.getElementById("status").textContent.startsWith(`Импортировано: ${n} из ${n}.`), exported.length);
  await qa2.locator(`tr[data-id="${id}"]`).waitFor();
  await shopPage.close();
  await other.close();
  await context.close();
});

test("QA page as a tester uses it: tick rows and replay them, nothing selected, replay-all asks first, a bad import says why, tickets masked", async () => {
  const context = await browser.newContext();
  const qa = await open(context, "/qa.html");
  await qa.waitForSelector("#empty", { state: "visible" });
  const shop = await open(context, "/login.html");
  await shop.click("#login button");
  await shop.waitForFunction(() => document.getElementById("status").textContent.startsWith("authorize"));
  await shop.evaluate(() => {
    mindbox("viewProduct", { productId: "qa-1" });
    mindbox("viewProduct", { productId: "qa-2" });
  });
  await delivered(3);
  await stack.emulator.reset();
  await qa.bringToFront();
  const rows = qa.locator('#events tr[data-state="sent"]');
  await qa.waitForFunction(() => document.querySelectorAll('#events tr[data-state="sent"]').length === 3);
  assert.match(await qa.textContent("#counts"), /принято коллектором: 3/);
  // The ticket is masked on the page.
  const authRow = qa.locator('#events tr[data-operation="Website.AuthorizeCustomer"]');
  assert.doesNotMatch(await authRow.textContent(), /[0-9a-f]{64}/, "no ticket in clear");
  assert.match(await authRow.textContent(), /•••/);
  // Nothing selected.
  await qa.click("#replay-selected");
  assert.equal(await qa.textContent("#status"), "Ничего не выбрано: отметьте события галочкой.");
  // Tick two view rows and replay the selection.
  const views = qa.locator('#events tr[data-operation="Website.ViewProduct"] input.pick');
  await views.nth(0).check();
  await views.nth(1).check();
  assert.equal(await views.nth(0).isChecked(), true, "a row's checkbox can be ticked");
  await qa.click("#replay-selected");
  await qa.waitForFunction(() => document.getElementById("status").textContent.startsWith("Поставлено в очередь копий: 2 из 2 "));
  const replayed = await delivered(2);
  assert.deepEqual(replayed.map((q) => q.body.viewProduct.product.ids.website).sort(), ["qa-1", "qa-2"]);
  await stack.emulator.reset();
  // Replay all asks first; a "no" sends nothing.
  let asked = "";
  qa.once("dialog", (d) => {
    asked = d.message();
    d.dismiss();
  });
  await qa.click("#replay-all");
  assert.match(asked, /Отправить в Mindbox копии событий \(\d+\)/);
  assert.equal(await qa.textContent("#status"), "Отправка копий отменена.");
  // A file that is not an export says why nothing came in.
  await qa.setInputFiles("#import-file", { name: "notes.json", mimeType: "application/json", buffer: Buffer.from("{not json") });
  await qa.waitForFunction(() => document.getElementById("status").textContent.startsWith("Ничего не импортировано: это не JSON"));
  await qa.fill("#json", JSON.stringify({ events: [] }));
  await qa.click("#import-text");
  await qa.waitForFunction(() => document.getElementById("status").textContent.startsWith("Ничего не импортировано: ожидался список событий"));
  assert.deepEqual(await stack.drain(), [], "nothing was sent by the refused replay or the bad imports");
  // Clear history: the settled events go from this browser's list; nothing is sent.
  await qa.click("#clear-history");
  await qa.waitForSelector("#empty", { state: "visible" });
  assert.match(await qa.textContent("#counts"), /принято коллектором: 0/);
  await context.close();
});

test("the demo shop walked as a visitor: no page error, no failed request, live counters, empty states, a session shared by tabs", async () => {
  const context = await browser.newContext();
  const problems = [];
  const watch = (page) => {
    page.on("pageerror", (e) => problems.push(`page error on ${page.url()}: ${e.message}`));
    page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
    page.on("response", (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`));
    return page;
  };
  const page = watch(await open(context, "/"));
  assert.equal(await page.locator("#products .card").count(), 3);
  assert.match(await page.textContent("#products"), /4\s990 ₽/);
  await page.goto(`${stack.shopUrl}/cart.html`);
  await page.waitForSelector("#empty", { state: "visible" });
  await page.goto(`${stack.shopUrl}/wishlist.html`);
  await page.waitForSelector("#empty", { state: "visible" });
  await page.goto(`${stack.shopUrl}/profile.html`);
  await page.waitForSelector("#guest", { state: "visible" });
  await page.goto(`${stack.shopUrl}/category.html?id=42`);
  await page.click('a.card[href="/product.html?id=123"]');
  await page.waitForSelector("#add");
  await page.click("#add");
  await page.click("#add");
  await page.click("#wish");
  assert.equal(await page.textContent("#cart-count"), "2");
  assert.equal(await page.textContent("#wish-count"), "1");
  await page.goto(`${stack.shopUrl}/login.html`);
  await page.click("#login button");
  await page.waitForFunction(() => /Вы: u1/.test(document.getElementById("who").textContent));
  // Another tab of the shop is signed in too, and sees the same cart.
  const other = watch(await open(context, "/snippet.html"));
  await other.goto(`${stack.shopUrl}/index.html`);
  await other.waitForFunction(() => /Вы: u1/.test(document.getElementById("who").textContent));
  assert.equal(await other.textContent("#cart-count"), "2");
  await other.click("#logout");
  await other.waitForFunction(() => /Войти/.test(document.getElementById("who").textContent));
  await page.waitForFunction(() => /Войти/.test(document.getElementById("who").textContent), null, { timeout: 10000 });
  await page.goto(`${stack.shopUrl}/qa.html`);
  await page.waitForFunction(() => document.querySelectorAll("#events tr").length > 0);
  await delivered(1);
  assert.deepEqual(problems, []);
  await context.close();
});

test("QA page with the QA token: an event Mindbox refused shows as not taken, with Mindbox's reason", async () => {
  const context = await browser.newContext();
  // Another script named tracker.js on the page (a third party's) comes first: the page still asks the
  // collector its own tracker sends to, never that script's origin (which would get QA's token).
  const foreign = [];
  await context.addInitScript(() => {
    new MutationObserver((_, watch) => {
      if (!document.head) return;
      watch.disconnect();
      const s = document.createElement("script");
      s.src = "http://127.0.0.2:9999/third-party/tracker.js";
      s.async = true;
      document.head.prepend(s);
    }).observe(document, { childList: true, subtree: true });
  });
  await context.route("http://127.0.0.2:9999/**", (route) => {
    foreign.push(route.request().url());
    return route.fulfill({ status: 200, contentType: "text/javascript", body: "" });
  });
  const qa = await open(context, "/qa.html");
  await stack.emulator.fail({ count: 1, mode: "validation" });
  const shop = await open(context, "/index.html");
  const marker = `refused-${Date.now()}`;
  await shop.evaluate((m) => mindbox("viewProduct", { productId: m }), marker);
  await waitFor("the dead letter", async () => (await stack.admin("dead-letters")).deadLetters.some((l) => l.delivery?.event?.data?.viewProduct?.product?.ids?.website === marker));
  await qa.bringToFront();
  await qa.fill("#admin-token", stack.qaToken);
  await qa.dispatchEvent("#admin-token", "change");
  const row = qa.locator('#events tr[data-fate="dead-lettered"]');
  await row.first().waitFor({ timeout: 15000 });
  assert.match(await row.first().textContent(), /не доставлено.*Отклонено Mindbox/s);
  assert.match(await row.first().textContent(), /ValidationError/);
  assert.match(await qa.textContent("#counts"), /из принятых: не доставлено: 1/);
  // A wrong token says so.
  await qa.fill("#admin-token", "wrong");
  await qa.dispatchEvent("#admin-token", "change");
  await qa.waitForFunction(() => document.getElementById("collector").textContent === "Токен QA не подошёл.");
  // And what the right token showed is gone.
  await qa.waitForFunction(() => !document.querySelector('#events tr[data-fate="dead-lettered"]'));
  assert.ok(foreign.length >= 1, "the third party's script was on the page");
  assert.deepEqual(foreign.filter((u) => u.includes("/v1/")), [], "the third party's origin never got an admin call");
  await context.close();
});

test("QA page with the trace on: a retried event shows 'повторяется' then 'доставлено в Mindbox', an older cart 'заменено', and a dropped call its console message", async () => {
  const context = await browser.newContext();
  const qa = await open(context, "/qa.html");
  await qa.fill("#admin-token", stack.qaToken);
  await qa.dispatchEvent("#admin-token", "change");
  await qa.waitForFunction(() => !document.getElementById("trace").disabled);
  await qa.check("#trace");
  await qa.waitForFunction(() => /включена до/.test(document.getElementById("trace-when").textContent));
  const device = await qa.evaluate(() => mindbox.deviceUUID());
  assert.equal(await qa.textContent("#device"), device);
  assert.ok((await stack.admin(`trace?device=${device}`)).until > Date.now(), "the collector traces this device");

  const shop = await open(context, "/index.html");
  const warnings = [];
  shop.on("console", (m) => m.type() === "warning" && warnings.push(m.text()));
  // Mindbox fails the first call once, and asks to come back in 3 s.
  await stack.emulator.fail({ count: 1, status: 503, retryAfter: 3 });
  await shop.evaluate(() => mindbox("setCart", [{ productId: "older-cart", count: 1, price: 100 }]));
  await waitFor("the older cart's failed attempt", async () => (await stack.emulator.attempts()).some((a) => a.body?.productList?.[0]?.product?.ids?.website === "older-cart"));
  await qa.bringToFront();
  const row = (fate) => qa.locator(`#events tr[data-operation="Website.SetCart"][data-fate="${fate}"]`);
  await row("retrying").first().waitFor({ timeout: 15000 });
  assert.match(await row("retrying").first().textContent(), /повторяется.*Попытка 1 не удалась.*HTTP 503/s);
  await shop.evaluate(() => mindbox("setCart", [{ productId: "newer-cart", count: 2, price: 100 }]));
  await row("delivered").first().waitFor({ timeout: 15000 });
  await row("superseded").first().waitFor({ timeout: 30000 });
  assert.match(await row("superseded").first().textContent(), /заменено более новым.*более новую корзину/s);
  assert.match(await qa.textContent("#counts"), /доставлено в Mindbox: 1.*заменено более новым: 1/);

  // A call with bad arguments is dropped: the QA page shows what the console said.
  assert.equal(await qa.isVisible("#no-dropped"), true);
  await shop.evaluate(() => mindbox("setCart", [{ productId: "1", count: -1 }]));
  await waitFor("the console warning", () => warnings.some((w) => w.includes("count: expected a positive number")));
  await qa.waitForFunction(() => /setCart/.test(document.getElementById("dropped").textContent));
  assert.match(await qa.textContent("#dropped"), /count: expected a positive number/);
  assert.equal(await qa.isVisible("#no-dropped"), false);
  // "Clear history" forgets the dropped calls too.
  await qa.click("#clear-history");
  await qa.waitForFunction(() => document.querySelectorAll("#dropped tr").length === 0);
  await qa.uncheck("#trace");
  await qa.waitForFunction(() => /выключена/.test(document.getElementById("trace-when").textContent));
  assert.equal((await stack.admin(`trace?device=${device}`)).until, 0);
  await stack.drain();
  await context.close();
});
