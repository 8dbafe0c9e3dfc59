// End to end in Chromium: the QA page (www/qa.html): events live, replay, export and import, and with
// QA_TOKEN the collector's word on each event (Mindbox's refusal, retries and supersession in the trace).
import { test } from "node:test";
import assert from "node:assert/strict";
import { waitFor } from "../support/stack.mjs";
import { useShopInChromium, exactlyOnce } from "../support/browser.mjs";

const { stack, browser, open, delivered } = useShopInChromium();

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
  await qa.waitForFunction(() => document.getElementById("status").textContent.startsWith("Поставлено в очередь копий: 2 из 2 ")).catch(async (e) => {
    const now = await qa.evaluate(() => ({
      status: document.getElementById("status").textContent,
      ticked: [...document.querySelectorAll("input.pick:checked")].map((c) => c.value),
    }));
    throw new Error(`${e.message}; the page says ${JSON.stringify(now)}`);
  });
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
