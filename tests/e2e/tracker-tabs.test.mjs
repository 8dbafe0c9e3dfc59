// End to end in Chromium: several tabs of the shop: one tab sends for all (Web Locks or a localStorage
// lease), callbacks reach the tab that called, and consent withdrawn in one tab holds in every tab.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useShopInChromium, exactlyOnce } from "../support/browser.mjs";

const { stack, browser, open, delivered } = useShopInChromium();

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

test("consent withdrawn: nothing is collected and the outbox is cleared; granted again: collection resumes", async () => {
  const context = await browser.newContext();
  const page = await open(context, "/index.html");
  // The QA API's file is fetched on its first call: here while online, as the QA page does on opening.
  await page.evaluate(() => mindbox.qa.list());
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
  // The QA API's file is fetched on its first call: here while online, as the QA page does on opening.
  await sender.evaluate(() => mindbox.qa.list());
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
