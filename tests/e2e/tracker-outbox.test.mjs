// End to end in Chromium: the tracker's outbox delivers every event exactly once through a collector
// that is down, a browser offline, a tab closed at once, no IndexedDB, and a batch refused whole.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useShopInChromium, exactlyOnce } from "../support/browser.mjs";
import { waitFor } from "../support/stack.mjs";

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
  // The QA API's file is fetched on its first call: here while online, as the QA page does on opening.
  await page.evaluate(() => mindbox.qa.list());
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
  // The QA API's file is fetched on its first call: here while online, as the QA page does on opening.
  await page.evaluate(() => mindbox.qa.list());
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

/** The page's IndexedDB outbox as it is (every record, kept calls too). */
const outboxRows = (page) =>
  page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const r = indexedDB.open("mindbox-edge");
        r.onerror = () => reject(r.error);
        r.onsuccess = () => {
          const q = r.result.transaction("outbox").objectStore("outbox").getAll();
          q.onsuccess = () => {
            r.result.close();
            resolve(q.result);
          };
        };
      }),
  );

test("calls made before the wasm is in are durable at once: a page closed before it came loses nothing, and the next page sends them once with their own time", async () => {
  const context = await browser.newContext();
  // The wasm never arrives on this page (a slow network, a cut connection).
  await context.route("**/tracker.wasm", () => {});
  const page = await context.newPage();
  await page.goto(`${stack.shopUrl}/product.html?id=123`);
  // The tracker owns window.mindbox (its queue is no longer the snippet's array) before the wasm.
  await page.waitForFunction(() => window.mindbox && !Array.isArray(window.mindbox.queue));
  assert.equal(await page.evaluate(() => !!window.mindbox.qa), false, "the wasm is not in");
  const marker = `before-wasm-${Date.now()}`;
  const madeAt = await page.evaluate((m) => {
    const t = Date.now();
    mindbox("viewProduct", { productId: m });
    mindbox("viewProduct", {});
    mindbox("getBalance", { customer: { ids: { mindboxId: 1 } } });
    return t;
  }, marker);
  await waitFor("the call kept in IndexedDB", async () => (await outboxRows(page)).some((r) => r.state === "call" && r.data.includes(marker)));
  const kept = (await outboxRows(page)).filter((r) => r.state === "call");
  const ours = kept.filter((r) => r.createdAt >= madeAt);
  assert.deepEqual(ours.map((r) => r.operation), ["viewProduct", "viewProduct"], "the two calls that may be events, not the question");
  assert.ok(ours.every((r) => r.createdAt <= madeAt + 1000), "kept with the time of the call");
  assert.ok(kept.some((r) => r.data.includes('"123"')), "the product page's own view too");
  await page.close();
  await context.unroute("**/tracker.wasm");
  const next = await open(context, "/index.html");
  await waitFor("the kept call at Mindbox", async () =>
    (await stack.emulator.requests()).some((q) => q.body?.viewProduct?.product?.ids?.website === marker), { timeoutMs: 30000 });
  const reqs = (await stack.drain()).filter((q) => !q.body?.sentinel);
  exactlyOnce(reqs);
  const mine = reqs.filter((q) => q.body?.viewProduct?.product?.ids?.website === marker);
  assert.equal(mine.length, 1);
  // Mindbox's dateTimeOffset: the event happened when the call was made, not when it was sent.
  assert.ok(mine[0].dateTimeOffset >= mine[0].receivedAt - madeAt - 1000, `dateTimeOffset ${mine[0].dateTimeOffset} ms`);
  assert.equal(reqs.filter((q) => q.body?.viewProduct?.product?.ids?.website === "123").length, 1, "the closed page's own view, once");
  // The call that could make no event is dropped, with its reason kept for QA; nothing is left kept.
  await waitFor("no kept call left", async () => !(await outboxRows(next)).some((r) => r.state === "call"));
  const dropped = (await next.evaluate(() => mindbox.qa.list())).dropped;
  assert.ok(dropped.some((d) => d.method === "viewProduct" && /productId/.test(d.message)), JSON.stringify(dropped));
  await context.close();
});

test("calls made while the wasm is on its way get their callbacks, in call order, with their own time", async () => {
  const context = await browser.newContext();
  let release;
  const held = new Promise((r) => (release = r));
  await context.route("**/tracker.wasm", async (route) => {
    await held;
    await route.continue();
  });
  const page = await context.newPage();
  await page.goto(`${stack.shopUrl}/no-tracker-here`);
  const marker = `slow-wasm-${Date.now()}`;
  await page.evaluate(({ src, m }) => {
    window.results = [];
    const s = document.createElement("script");
    s.src = src;
    s.setAttribute("data-endpoint-id", "demo-shop");
    s.onload = () => {
      window.madeAt = Date.now();
      mindbox("viewProduct", { productId: m }, { onSuccess: () => results.push("sent"), onError: (e) => results.push("error: " + e) });
      mindbox("viewCategory", {}, { onError: (e) => results.push("refused: " + e) });
    };
    document.head.appendChild(s);
  }, { src: `${stack.collectorUrl}/tracker.js`, m: marker });
  await page.waitForFunction(() => window.madeAt);
  await waitFor("the call kept in IndexedDB", async () => (await outboxRows(page)).some((r) => r.state === "call" && r.data.includes(marker)));
  await new Promise((r) => setTimeout(r, 1500));
  release();
  await page.waitForFunction(() => window.results.length === 2, null, { timeout: 20000 });
  const results = await page.evaluate(() => window.results);
  assert.match(results[0], /^refused: .*viewCategory/);
  assert.equal(results[1], "sent");
  const [q] = (await stack.drain()).filter((x) => x.body?.viewProduct?.product?.ids?.website === marker);
  const madeAt = await page.evaluate(() => window.madeAt);
  assert.ok(q.dateTimeOffset >= q.receivedAt - madeAt - 200 && q.dateTimeOffset >= 1500, `dateTimeOffset ${q.dateTimeOffset} ms`);
  assert.ok(!(await outboxRows(page)).some((r) => r.state === "call"), "nothing is left kept");
  await context.close();
});

test("a page's first batch says it is fresh; the same events sent again after a lost request do not, nor does anything while QA traces the device", async () => {
  const context = await browser.newContext();
  const bodies = [];
  let lose = true;
  await context.route(`${stack.collectorUrl}/v1/events`, async (route) => {
    bodies.push(JSON.parse(route.request().postData()));
    if (lose) {
      lose = false;
      return route.abort();
    }
    return route.continue();
  });
  const page = await open(context, "/product.html?id=123");
  const lost = () => bodies[0].events.map((e) => e.id);
  const again = await waitFor("the lost events sent again", async () =>
    bodies.slice(1).find((b) => b.events.some((e) => e.id === lost()[0])), { timeoutMs: 30000 });
  assert.equal(bodies[0].fresh, true, "never sent before: the collector need not look for resends");
  assert.equal(again.fresh, undefined, "sent once already (the request may have arrived)");
  assert.deepEqual(again.events.map((e) => e.id).filter((id) => lost().includes(id)), lost());
  await delivered(1);
  // QA traces this device: every batch is looked up (and traced) on the way in.
  await page.evaluate(() => localStorage.setItem("mindboxEdgeTraced", "1"));
  const n = bodies.length;
  await page.evaluate(() => mindbox("viewCategory", { categoryId: "traced" }));
  await waitFor("the traced page's batch", async () => bodies.length > n);
  assert.equal(bodies[n].fresh, undefined);
  await context.close();
});
