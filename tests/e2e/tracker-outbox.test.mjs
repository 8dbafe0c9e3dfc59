// End to end in Chromium: the tracker's outbox delivers every event exactly once through a collector
// that is down, a browser offline, a tab closed at once, no IndexedDB, and a batch refused whole.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useShopInChromium, exactlyOnce } from "../support/browser.mjs";

const { stack, browser, open, delivered } = useShopInChromium();

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
