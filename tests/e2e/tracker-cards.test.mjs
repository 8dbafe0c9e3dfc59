// End to end in Chromium through the demo shop: a loyalty card bound by an SMS code on "my cards",
// and back-in-stock on an out-of-stock product. Their code is a file of its own (tracker-extras.js),
// fetched on the first such call and never by pages that make none.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useShopInChromium } from "../support/browser.mjs";

const { stack, browser, open, delivered } = useShopInChromium();

/** Whether the page fetched the extras file. */
const fetchedExtras = (page) =>
  page.evaluate(() => performance.getEntriesByType("resource").some((e) => e.name.endsWith("/tracker-extras.js")));

test("a shopper binds an ownerless card with the code texted to their phone and sees it under my cards", async () => {
  const context = await browser.newContext();
  const home = await open(context, "/");
  assert.equal(await fetchedExtras(home), false, "a page without such calls does not fetch them");
  const page = await open(context, "/cards.html");
  assert.equal(await fetchedExtras(page), false);
  await page.fill("#phone-form [name=mobilePhone]", "8 (912) 345-67-91");
  await page.click("#phone-form button");
  await page.waitForFunction(() => /Код отправлен/.test(document.getElementById("card-status").textContent));
  assert.equal(await fetchedExtras(page), true);
  const sms = await (await fetch(`${stack.emulatorUrl}/__emulator/sms`, { signal: AbortSignal.timeout(10000) })).json();
  const { code } = sms.find((s) => s.mobilePhone === "79123456791");
  // A wrong code first: Mindbox refuses it, and the page says so.
  await page.fill("#bind-form [name=cardNumber]", "2000000000002");
  await page.fill("#bind-form [name=code]", code === "0000" ? "1111" : "0000");
  await page.click("#bind-form button");
  await page.waitForFunction(() => /Не удалось/.test(document.getElementById("card-status").textContent));
  await page.fill("#bind-form [name=code]", code);
  await page.click("#bind-form button");
  await page.waitForFunction(() => document.getElementById("card-status").textContent === "Карта привязана");
  await page.waitForFunction(() => /^2000000000002 — Карта лояльности/.test(document.querySelector("#cards li")?.textContent || ""));
  const owners = await (await fetch(`${stack.emulatorUrl}/__emulator/cards`, { signal: AbortSignal.timeout(10000) })).json();
  assert.equal(owners["2000000000002"], "79123456791");
  await context.close();
});

test("back-in-stock: an out-of-stock product takes an email, and Mindbox gets the product's waiting list", async () => {
  const context = await browser.newContext();
  const page = await open(context, "/product.html?id=201");
  assert.equal(await page.isDisabled("#add"), true);
  await delivered(1); // the product view
  await stack.emulator.reset();
  await page.fill("#notify [name=email]", " Anna@Shop.RU ");
  await page.click("#notify button");
  await page.waitForFunction(() => /Подписка оформлена/.test(document.getElementById("notify-status").textContent));
  const [q] = await delivered(1);
  assert.equal(q.operation, "Website.AddToWaitingList");
  assert.deepEqual(q.body, { customer: { email: "anna@shop.ru" }, addProductToList: { product: { ids: { website: "201" } }, count: 1 } });
  // The typed call checks what it can before anything is fetched or sent.
  const errors = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const out = [];
        const done = (e) => (out.push(String(e)), out.length === 2 && resolve(out));
        mindbox("subscribeToProduct", { productId: "201" }, { onError: done });
        mindbox("subscribeToProduct", { email: "not an email", productId: "201" }, { onError: done });
      })
  );
  assert.match(errors[0], /email or mobilePhone/);
  assert.match(errors[1], /email/);
  assert.equal((await stack.drain()).length, 1, "the refused calls sent nothing");
  await context.close();
});
