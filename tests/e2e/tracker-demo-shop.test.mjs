// End to end in Chromium: the demo shop's pages send their events in Mindbox's payload shapes, the
// loyalty pages show what Mindbox answered, and checkout creates the order through the shop's backend.
import { test } from "node:test";
import assert from "node:assert/strict";
import { waitFor, timedFetch } from "../support/stack.mjs";
import { useShopInChromium, exactlyOnce } from "../support/browser.mjs";

const { stack, browser, open, delivered } = useShopInChromium();

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
  // The points this cart earns, as the shopper sees them (a question asks only while its page is open).
  await page.waitForFunction(() => document.getElementById("points").textContent !== "…");
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
  const all = await delivered(13, { timeoutMs: 45000 }).catch(async (e) => {
    const got = (await stack.emulator.requests()).map((q) => q.operation).sort();
    throw new Error(`${e.message}; at the emulator: ${JSON.stringify(got)}`);
  });
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
  assert.equal(await page.locator("#products .card").count(), 4);
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
